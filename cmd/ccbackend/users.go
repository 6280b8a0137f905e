package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/config"
)

// usersCommand runs `users create-admin --email E --password-stdin`. The password comes from
// stdin so it never appears in the process list or shell history.
func usersCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create-admin" {
		return fmt.Errorf("%w: users needs create-admin", errUsage)
	}
	fs := flag.NewFlagSet("users create-admin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the administrator's email")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args[1:]); err != nil || *email == "" || !*fromStdin {
		return fmt.Errorf("%w: users create-admin --email E --password-stdin", errUsage)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading the password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	cfg.MigrateOnStart = true // an admin can be created on a fresh database
	a, err := app.New(ctx, cfg, app.NewLogger(io.Discard, "error"), version)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts.CreateAdmin(ctx, *email, password)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "created admin %s (%s)\n", u.Email, u.ID)
	return err
}
