// Command ccbackend is the service's one binary: `serve`, `migrate`, `users`, `keys`, `version`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: ccbackend <command>

commands:
  serve                    run the HTTP API (configuration from the environment; see README)
  migrate up|down [N]|version
                           apply, revert (N steps, default 1) or show database migrations
  users create-admin --email E --password-stdin
                           create an administrator (password read from stdin)
  keys rotate              start signing access tokens with a new key now
  version                  print the version
`

// errUsage marks a command line that cannot be run; main exits 2 for it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			fmt.Fprintln(os.Stderr, "ccbackend:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "ccbackend:", err)
		os.Exit(1)
	}
}

// run executes one command; everything it needs from the process comes in as arguments.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stdout)
	case "migrate":
		return migrate(args[1:], getenv, stdout)
	case "users":
		return usersCommand(ctx, args[1:], getenv, stdin, stdout)
	case "keys":
		return keysCommand(ctx, args[1:], getenv, stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, version)
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
