package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/push"
	"github.com/ccbackend/ccbackend/internal/store"
)

// notificationExpiry is how long APNs keeps a notification for a device that is switched off:
// a reply is still worth telling about the next day, not the next week.
const notificationExpiry = 24 * time.Hour

// newNotifier builds the APNs client and the notifier, and registers it on the bus: it observes
// the generation events raised on this instance and reads the bus's presence. nil when
// CCB_APNS_KEY_FILE is unset (push is off, devices still register).
func newNotifier(cfg config.Push, st *store.Store, bus *events.Bus, log *slog.Logger) (*push.Notifier, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	p8, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("push: CCB_APNS_KEY_FILE: %w", err)
	}
	key, err := push.ParseKey(p8)
	if err != nil {
		return nil, err
	}
	roots, err := readCertificates(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	client := push.NewClient(push.ClientConfig{Key: key, KeyID: cfg.KeyID, TeamID: cfg.TeamID, SandboxURL: cfg.SandboxURL,
		ProductionURL: cfg.ProductionURL, TokenRefresh: cfg.TokenRefresh, RootCAs: roots, Now: time.Now})
	n := push.NewNotifier(client, st, bus, push.Settings{Topic: cfg.Topic, Workers: cfg.Workers, QueueSize: cfg.QueueSize,
		Retries: cfg.Retries, RetryBase: cfg.RetryBase, Expiry: notificationExpiry}, time.Now, log)
	bus.AddObserver(n)
	return n, nil
}

// pushDrain bounds how long shutdown waits for queued notifications.
const pushDrain = 10 * time.Second

// closePush sends what is queued (within pushDrain) and stops the notifier.
func closePush(n *push.Notifier) {
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pushDrain)
	defer cancel()
	n.Close(ctx)
}

// readCertificates reads the PEM certificates of file ("" reads none).
func readCertificates(file string) ([]*x509.Certificate, error) {
	if file == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("push: CCB_APNS_CA_FILE: %w", err)
	}
	var out []*x509.Certificate
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("push: CCB_APNS_CA_FILE: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("push: CCB_APNS_CA_FILE holds no PEM certificate")
	}
	return out, nil
}
