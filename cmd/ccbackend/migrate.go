package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/store"
)

func migrate(args []string, getenv func(string) string, stdout io.Writer) (err error) {
	if len(args) == 0 {
		return fmt.Errorf("%w: migrate needs up, down or version", errUsage)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	m, err := store.NewMigrator(cfg.Pooler.Direct(cfg.DatabaseURL)) // past PgBouncer: migrate holds a session lock
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	switch args[0] {
	case "up":
		if err := m.Up(); err != nil {
			return err
		}
	case "down":
		steps := 1
		if len(args) > 1 {
			if steps, err = strconv.Atoi(args[1]); err != nil || steps < 1 {
				return fmt.Errorf("%w: migrate down takes a positive number of steps", errUsage)
			}
		}
		if err := m.Down(steps); err != nil {
			return err
		}
	case "version":
	default:
		return fmt.Errorf("%w: unknown migrate command %q", errUsage, args[0])
	}
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "version %d dirty=%t\n", v, dirty)
	return err
}
