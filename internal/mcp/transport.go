package mcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Connection timeouts. There is deliberately no http.Client.Timeout: it would cut the SSE streams
// that carry server messages; a call is bounded by its own deadline instead.
const (
	dialTimeout = 10 * time.Second
	tlsTimeout  = 10 * time.Second
	maxRedirect = 5
)

// newHTTPTransport is the one guarded transport all servers' clients share (connections are pooled
// per host). No environment proxy: a proxy would dial on our behalf and skip the guard.
func newHTTPTransport(g *guard, headerTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: g.control}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   tlsTimeout,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
	}
}

// headerTransport adds the server's configured headers to every request to the server's own
// origin. A redirect to another origin does not get them, so a server cannot bounce our secrets
// elsewhere.
type headerTransport struct {
	base    http.RoundTripper
	origin  string // scheme://host[:port]
	headers map[string]string
}

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(h.headers) == 0 || r.URL.Scheme+"://"+r.URL.Host != h.origin {
		return h.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return h.base.RoundTrip(r)
}

// httpClient builds the client of one server: shared guarded transport, the server's headers,
// a bounded number of redirects (each hop dials through the guard again).
func (p *Pool) httpClient(u *url.URL, headers map[string]string) *http.Client {
	var base http.RoundTripper = p.httpTransport
	if p.wrapTransport != nil {
		base = p.wrapTransport(base)
	}
	return &http.Client{
		Transport: &headerTransport{base: base, origin: u.Scheme + "://" + u.Host, headers: headers},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirect {
				return errors.New("mcp: too many redirects")
			}
			return nil
		},
	}
}

// sdkTransport builds the SDK transport for s, or refuses it.
func (p *Pool) sdkTransport(s Server) (sdk.Transport, error) {
	switch s.Transport {
	case TransportStreamableHTTP, TransportSSE:
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, apperr.New(apperr.Unprocessable, CodeAddressNotAllowed, "the server URL must be an http or https URL")
		}
		client := p.httpClient(u, s.Headers)
		if s.Transport == TransportSSE {
			return &sdk.SSEClientTransport{Endpoint: s.URL, HTTPClient: client}, nil
		}
		return &sdk.StreamableClientTransport{Endpoint: s.URL, HTTPClient: client, MaxRetries: 2}, nil
	case TransportStdio:
		if !p.opts.AllowStdio {
			return nil, apperr.New(apperr.Forbidden, CodeStdioNotAllowed, "stdio servers are turned off on this backend")
		}
		if s.Command == "" {
			return nil, apperr.New(apperr.Unprocessable, CodeProtocolError, "the stdio server has no command")
		}
		// exec.Command, not CommandContext: the process belongs to the pooled session, not to
		// the request that happened to start it. The child gets a fixed environment: the
		// backend's own (database URL, keys) is none of its business.
		cmd := exec.Command(s.Command, s.Args...)
		cmd.Env = p.opts.StdioEnv
		if p.onSpawn != nil {
			p.onSpawn(cmd)
		}
		return &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil
	default:
		return nil, apperr.New(apperr.Unprocessable, CodeProtocolError, fmt.Sprintf("unknown transport %q", s.Transport))
	}
}

// connect opens and initializes one client session. ctx bounds the handshake only.
func (p *Pool) connect(ctx context.Context, s Server) (*sdk.ClientSession, error) {
	t, err := p.sdkTransport(s)
	if err != nil {
		return nil, err
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "ccbackend", Version: "1"}, &sdk.ClientOptions{
		Capabilities: &sdk.ClientCapabilities{},
	})
	cs, err := client.Connect(ctx, t, nil)
	if err != nil {
		return nil, mapError(ctx, err)
	}
	return cs, nil
}
