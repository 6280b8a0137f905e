package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/config"
)

func serve(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logs := app.NewLogWriter(stdout) // requests do not wait for their log line's write
	defer logs.Close()               // after a.Close: the last lines are written
	log := app.NewLogger(logs, cfg.LogLevel)
	log.Info("starting", slog.String("version", version), slog.String("env", cfg.Env), slog.Bool("migrate_on_start", cfg.MigrateOnStart))
	a, err := app.New(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	defer a.Close()
	ls, err := a.Listen()
	if err != nil {
		return err
	}
	if err := a.Serve(ctx, ls); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
