package mcp

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// countingListener accepts TCP connections on addr and counts them: a refused dial must leave
// the count at zero.
type countingListener struct {
	port    int
	accepts atomic.Int64
}

func listenCounting(t *testing.T, host string, port int) *countingListener {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	c := &countingListener{port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.accepts.Add(1)
			_ = conn.Close()
		}
	}()
	return c
}

// TestGuardRefusesPrivateAddresses: URLs that are or resolve to loopback, link-local (the cloud
// metadata address), RFC 1918 or IPv4-mapped loopback are refused at dial time, on every transport
// that dials, before a single connection reaches a listener there.
func TestGuardRefusesPrivateAddresses(t *testing.T) {
	v4 := listenCounting(t, "127.0.0.1", 0)
	v6 := listenCounting(t, "::1", v4.port) // same port, so "localhost" hits one of the two
	p := newTestPool(t, func(o *PoolOptions) { o.AllowedNetworks = nil; o.CallTimeout = 5 * time.Second })
	ctx, user := ctxT(t), uuid.New()
	urls := []string{
		fmt.Sprintf("http://127.0.0.1:%d/mcp", v4.port),
		fmt.Sprintf("http://[::1]:%d/mcp", v4.port),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/mcp", v4.port),
		fmt.Sprintf("http://localhost:%d/mcp", v4.port),
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/mcp",
		"http://192.168.1.1:8080/mcp",
		"http://100.64.0.1/mcp",
		"http://[fd00::1]/mcp",
		"http://0.0.0.0/mcp",
	}
	for _, tr := range []string{TransportStreamableHTTP, TransportSSE} {
		for _, u := range urls {
			s := Server{ID: uuid.New(), Version: time.Now(), Transport: tr, URL: u}
			_, err := p.Test(ctx, user, s)
			wantCode(t, err, apperr.Unprocessable, CodeAddressNotAllowed)
			_, err = p.Tools(ctx, user, s, true)
			wantCode(t, err, apperr.Unprocessable, CodeAddressNotAllowed)
		}
	}
	if n := v4.accepts.Load() + v6.accepts.Load(); n != 0 {
		t.Fatalf("%d connections reached the loopback listeners; want none", n)
	}
	if p.Sessions() != 0 {
		t.Errorf("Sessions() = %d after refused connects", p.Sessions())
	}
}

// TestGuardAllowedNetworks: a range listed in CCB_MCP_ALLOWED_NETWORKS is dialled (any port), and
// only that range.
func TestGuardAllowedNetworks(t *testing.T) {
	v4 := listenCounting(t, "127.0.0.1", 0)
	p := newTestPool(t, func(o *PoolOptions) {
		o.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		o.CallTimeout = 5 * time.Second
	})
	ctx, user := ctxT(t), uuid.New()
	for _, u := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/mcp", v4.port),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/mcp", v4.port), // the same host, spelled mapped
	} {
		_, err := p.Test(ctx, user, Server{ID: uuid.New(), Transport: TransportStreamableHTTP, URL: u})
		if ae, _ := apperr.As(err); ae == nil || ae.Code == CodeAddressNotAllowed {
			t.Errorf("%s: error %v; want it dialled (and failing as a non-MCP peer)", u, err)
		}
	}
	if v4.accepts.Load() == 0 {
		t.Fatal("the allowed listener saw no connection")
	}
	_, err := p.Test(ctx, user, Server{ID: uuid.New(), Transport: TransportStreamableHTTP, URL: fmt.Sprintf("http://127.0.0.2:%d/mcp", v4.port)})
	wantCode(t, err, apperr.Unprocessable, CodeAddressNotAllowed)
}

// TestGuardRefusesRedirects: an allowed server that redirects to a forbidden address does not get
// us there; nothing reaches the redirect's target.
func TestGuardRefusesRedirects(t *testing.T) {
	forbidden := listenCounting(t, "127.0.0.2", 0)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://127.0.0.2:%d/mcp", forbidden.port), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	p := newTestPool(t, func(o *PoolOptions) {
		o.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		o.CallTimeout = 5 * time.Second
	})
	ctx, user := ctxT(t), uuid.New()
	for _, tr := range []string{TransportStreamableHTTP, TransportSSE} {
		_, err := p.Test(ctx, user, Server{ID: uuid.New(), Transport: tr, URL: redirector.URL + "/mcp"})
		wantCode(t, err, apperr.Unprocessable, CodeAddressNotAllowed)
	}
	if n := forbidden.accepts.Load(); n != 0 {
		t.Fatalf("%d connections followed the redirect to 127.0.0.2; want none", n)
	}
}
