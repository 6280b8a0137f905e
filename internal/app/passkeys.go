package app

import (
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/page"
)

// newPasskeys builds the WebAuthn relying party and the handlers of passkeys and of the app
// association files, and makes passkeys count as MFA for accounts.
func newPasskeys(cfg config.Config, accounts *auth.Accounts, rdb redis.UniversalClient, cursors *page.Cursors) (*auth.Passkeys, *httpapi.PasskeyHandlers, error) {
	w := cfg.WebAuthn
	passkeys, err := auth.NewPasskeys(accounts, rdb, cfg.RedisPrefix, auth.PasskeySettings{RPID: w.RPID, RPName: w.RPName, Origins: w.Origins})
	if err != nil {
		return nil, nil, err
	}
	accounts.WithPasskeys(passkeys)
	apps := httpapi.AppAssociations{AppleAppIDs: w.AppleAppIDs}
	for _, a := range w.AndroidApps {
		apps.AndroidApps = append(apps.AndroidApps, httpapi.AndroidApp{Package: a.Package, Fingerprints: a.Fingerprints})
	}
	return passkeys, httpapi.NewPasskeyHandlers(passkeys, cursors, apps), nil
}
