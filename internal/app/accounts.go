package app

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// purposeRefreshGrace names the key (derived from CCB_SECRET_KEY) that encrypts a rotated refresh
// token's successor for the grace window; every secret gets its own purpose.
const purposeRefreshGrace = "refresh-grace"

// NewKeyRing loads (creating or rotating when due) the access token signing keys.
func NewKeyRing(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*auth.KeyRing, error) {
	box, err := secret.NewBox(cfg.SecretKey, auth.SigningKeysPurpose)
	if err != nil {
		return nil, err
	}
	keys := auth.NewKeyRing(st, box, time.Now, cfg.JWTRotateEvery, cfg.AccessTokenTTL, log)
	if err := keys.Ensure(ctx); err != nil {
		return nil, err
	}
	return keys, nil
}

func newAccounts(ctx context.Context, cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) (*auth.KeyRing, *auth.Accounts, error) {
	keys, err := NewKeyRing(ctx, cfg, st, log)
	if err != nil {
		return nil, nil, err
	}
	passwords, err := auth.NewPasswords(cfg.BcryptCost)
	if err != nil {
		return nil, nil, err
	}
	childBox, err := secret.NewBox(cfg.SecretKey, purposeRefreshGrace)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now
	if cfg.MFA.Clock != nil {
		now = cfg.MFA.Clock
	}
	totpBox, err := secret.NewBox(cfg.SecretKey, auth.TOTPSecretsPurpose)
	if err != nil {
		return nil, nil, err
	}
	accounts := auth.NewAccounts(st, rdb, cfg.RedisPrefix, passwords, auth.NewAccessTokens(keys, cfg.AccessTokenTTL, time.Now), childBox, now,
		auth.Settings{
			AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTTL, RefreshGrace: cfg.RefreshGrace,
			LockoutThreshold: cfg.LockoutThreshold, LockoutDuration: cfg.LockoutDuration, APIKeyRotateGrace: cfg.APIKeyRotateGrace,
			MaxAPIKeysPerUser: cfg.MaxAPIKeysPerUser, DPoPProofWindow: cfg.DPoP.ProofWindow,
			APIKeyCacheTTL: cfg.APIKeyCache.TTL, APIKeyCacheSize: cfg.APIKeyCache.Size,
		}, log).WithMFA(auth.MFASettings{Box: totpBox, StepUpMaxAge: cfg.MFA.StepUpMaxAge})
	// Accounts from before migration 000007 get their email skeleton (SQL cannot compute it).
	if err := accounts.BackfillEmailSkeletons(ctx); err != nil {
		accounts.Close()
		return nil, nil, err
	}
	return keys, accounts, nil
}

func rateLimits(cfg config.Config, rdb redis.UniversalClient) httpapi.RateLimits {
	def := ratelimit.Policy{Name: "default", Limit: cfg.RateLimitDefault.Limit, Period: cfg.RateLimitDefault.Period}
	authPolicy := ratelimit.Policy{Name: "auth", Limit: cfg.RateLimitAuth.Limit, Period: cfg.RateLimitAuth.Period}
	return httpapi.RateLimits{
		Limiter:  ratelimit.New(rdb, cfg.RedisPrefix, ratelimit.WithLeases(cfg.RateLimitLease, def.Name, tokenPolicy)),
		Default:  def,
		ByName:   map[string]ratelimit.Policy{"auth": authPolicy},
		Timeout:  500 * time.Millisecond,
		FailOpen: map[string]bool{"default": true},
		AuthFailures: ratelimit.Policy{Name: "auth-failures", Limit: cfg.RateLimitAuthFailures.Limit,
			Period: cfg.RateLimitAuthFailures.Period},
	}
}

func ipNets(prefixes []netip.Prefix) []*net.IPNet {
	out := make([]*net.IPNet, len(prefixes))
	for i, p := range prefixes {
		out[i] = &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	}
	return out
}
