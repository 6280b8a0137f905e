package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client sends notifications to APNs over HTTP/2 with token-based authentication, as Apple's
// "Sending notification requests to APNs" documents: POST /3/device/<token>, the provider token
// as a bearer, the topic, push type and priority as headers, and a JSON reason on failure.
//
// A small client on net/http rather than a library: the protocol is one request shape and a
// table of reasons, jwx (already a dependency) signs the ES256 token, and the maintained
// net/http HTTP/2 transport multiplexes every push over one connection per endpoint.
type Client struct {
	http      *http.Client
	endpoints map[string]string // environment → base URL
	tokens    *providerTokens
}

// ClientConfig configures a Client.
type ClientConfig struct {
	Key           *ecdsa.PrivateKey
	KeyID, TeamID string
	SandboxURL    string
	ProductionURL string
	TokenRefresh  time.Duration
	// RootCAs, when set, are trusted in addition to the system's (a TLS-inspecting egress proxy, tests).
	RootCAs []*x509.Certificate
	Now     func() time.Time
}

// NewClient returns an APNs client.
func NewClient(c ClientConfig) *Client {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for _, ca := range c.RootCAs {
		roots.AddCert(ca)
	}
	transport := &http.Transport{
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     10 * time.Minute, // APNs asks providers to keep connections open
		Proxy:               http.ProxyFromEnvironment,
	}
	return &Client{
		http:      &http.Client{Transport: transport, Timeout: 30 * time.Second},
		endpoints: map[string]string{"sandbox": strings.TrimRight(c.SandboxURL, "/"), "production": strings.TrimRight(c.ProductionURL, "/")},
		tokens:    newProviderTokens(c.Key, c.KeyID, c.TeamID, c.TokenRefresh, c.Now),
	}
}

// Notification is one push to one device.
type Notification struct {
	Environment string // sandbox | production: which endpoint
	DeviceToken string
	Topic       string
	// CollapseID makes the device show one notification for repeated sends of the same event.
	CollapseID string
	Expiration time.Time
	Payload    []byte
}

// Response is what APNs answered.
type Response struct {
	Status int
	Reason string // Apple's reason on failure, e.g. "Unregistered", "BadDeviceToken"
	// InvalidSince is when the token stopped being valid (410 only).
	InvalidSince time.Time
	APNsID       string
}

// providerTokenRejected tells the reasons a fresh provider token may cure.
func providerTokenRejected(r Response) bool {
	return r.Status == http.StatusForbidden && (r.Reason == "ExpiredProviderToken" || r.Reason == "InvalidProviderToken")
}

// Send delivers n once. A 403 for the provider token (expired, or refused after a key change)
// is answered by minting a new token and sending once more; any other answer is returned for the
// caller's policy. An error means no answer (transport failure).
func (c *Client) Send(ctx context.Context, n Notification) (Response, error) {
	r, token, err := c.send(ctx, n)
	if err == nil && providerTokenRejected(r) {
		c.tokens.invalidate(token)
		r, _, err = c.send(ctx, n)
	}
	return r, err
}

func (c *Client) send(ctx context.Context, n Notification) (Response, string, error) {
	base, ok := c.endpoints[n.Environment]
	if !ok {
		return Response{}, "", fmt.Errorf("push: unknown APNs environment %q", n.Environment)
	}
	token, err := c.tokens.token()
	if err != nil {
		return Response{}, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/3/device/"+n.DeviceToken, bytes.NewReader(n.Payload))
	if err != nil {
		return Response{}, token, err
	}
	req.Header.Set("authorization", "bearer "+token)
	req.Header.Set("apns-topic", n.Topic)
	req.Header.Set("apns-push-type", "alert")
	req.Header.Set("apns-priority", "10")
	req.Header.Set("content-type", "application/json")
	if !n.Expiration.IsZero() {
		req.Header.Set("apns-expiration", strconv.FormatInt(n.Expiration.Unix(), 10))
	}
	if n.CollapseID != "" {
		req.Header.Set("apns-collapse-id", n.CollapseID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, token, err
	}
	defer resp.Body.Close()
	out := Response{Status: resp.StatusCode, APNsID: resp.Header.Get("apns-id")}
	if resp.StatusCode != http.StatusOK {
		var body struct {
			Reason    string `json:"reason"`
			Timestamp int64  `json:"timestamp"`
		}
		// A reason is at most a few dozen bytes; an unreadable body leaves it empty.
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
		out.Reason = body.Reason
		if body.Timestamp > 0 {
			out.InvalidSince = time.UnixMilli(body.Timestamp)
		}
	}
	return out, token, nil
}

// TokensMinted reports how many provider tokens this client minted.
func (c *Client) TokensMinted() int { return c.tokens.minted() }
