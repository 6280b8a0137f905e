package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ccbackend/ccbackend/internal/httpapi"
)

// Listeners are the sockets the service answers on; Metrics is nil when metrics are off.
type Listeners struct {
	Public  net.Listener
	Metrics net.Listener
}

// Listen opens the configured addresses, so a taken port fails before anything is served.
func (a *App) Listen() (Listeners, error) {
	pub, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return Listeners{}, fmt.Errorf("listen CCB_ADDR %s: %w", a.Config.Addr, err)
	}
	ls := Listeners{Public: pub}
	if a.Config.MetricsAddr != "" {
		if ls.Metrics, err = net.Listen("tcp", a.Config.MetricsAddr); err != nil {
			_ = pub.Close()
			return Listeners{}, fmt.Errorf("listen CCB_METRICS_ADDR %s: %w", a.Config.MetricsAddr, err)
		}
	}
	return ls, nil
}

// Serve answers on ls until ctx is cancelled, then stops accepting, lets in-flight requests
// finish (up to the shutdown timeout) and returns nil on a clean stop.
func (a *App) Serve(ctx context.Context, ls Listeners) error {
	servers := []*http.Server{a.httpServer(a.Handler)}
	listeners := []net.Listener{limitPerIP(ls.Public, a.Config.MaxConnsPerIP, a.Config.TrustedProxies, nil)}
	if ls.Metrics != nil {
		servers = append(servers, a.httpServer(promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{Registry: a.Registry})))
		listeners = append(listeners, ls.Metrics)
	}
	// Every instance reloads the signing keys and rotates them when due.
	keysCtx, stopKeys := context.WithCancel(ctx) // background jobs end with the server
	defer stopKeys()
	go a.Keys.Run(keysCtx)
	go a.Workspace.RunPurge(keysCtx, time.Hour, a.Log)
	go a.Idempotency.RunPurge(keysCtx, time.Hour, time.Now)
	go a.Files.RunSweep(keysCtx, a.Config.Files.SweepEvery, a.Log)

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		a.Log.Info("listening", slog.String("addr", listeners[i].Addr().String()), slog.Bool("metrics", i == 1))
		go func() {
			if err := srv.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		a.Log.Info("shutting down", slog.Duration("timeout", a.Config.ShutdownTimeout))
	case serveErr = <-errc:
		a.Log.Error("server failed", slog.String("error", serveErr.Error()))
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	return errors.Join(append(errs, serveErr)...)
}

// httpServer bounds every phase of a connection: the headers (ReadHeaderTimeout), the body and
// each response write (per-request deadlines, see httpapi.Deadlines; http.Server's ReadTimeout
// and WriteTimeout would cut long SSE streams), and the wait between requests (IdleTimeout).
func (a *App) httpServer(h http.Handler) *http.Server {
	c := a.Config
	return &http.Server{
		Handler:           httpapi.Deadlines{Body: c.BodyTimeout, Write: c.WriteTimeout}.Wrap(h),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		IdleTimeout:       c.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}
