package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// keysCommand runs `ccbackend keys rotate`: an operator's forced rotation of the access-token
// signing key (e.g. after a suspected leak). Running servers pick the new key up within a minute;
// tokens signed by the old one keep verifying until they expire.
func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "rotate" {
		return fmt.Errorf("%w: keys takes one subcommand: rotate", errUsage)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	box, err := secret.NewBox(cfg.SecretKey, auth.SigningKeysPurpose)
	if err != nil {
		return err
	}
	// The new kid on stdout is the whole result; the audit log keeps the record.
	ring := auth.NewKeyRing(st, box, time.Now, cfg.JWTRotateEvery, cfg.AccessTokenTTL, slog.New(slog.DiscardHandler))
	kid, err := ring.Rotate(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, kid)
	return err
}
