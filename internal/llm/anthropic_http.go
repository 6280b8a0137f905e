package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// The Messages request is sent with net/http directly rather than through the SDK's client,
// whose per-request option processing, request cloning and error wrapping cost 67 allocations
// (BenchmarkAnthropicCall/reply: 178 -> 111 allocs/op) and nearly half of the provider's CPU time
// (its share of BenchmarkChatThroughput's profile: 7.4% -> 4.1%). What the SDK sent that matters
// is kept (TestAnthropicHeadersMatchTheSDK compares): the same credential header, API version,
// content type and accept; not its telemetry headers (X-Stainless-*).

// defaultAnthropicBaseURL is the production API, used when the config names no base URL.
const defaultAnthropicBaseURL = "https://api.anthropic.com"

// anthropicVersion is the API version the requests ask for: the one the SDK of go.mod sends,
// which the event and message decoding was written against.
const anthropicVersion = "2026-10-21"

// anthropicUserAgent names this service to the API instead of impersonating the SDK.
const anthropicUserAgent = "ccbackend"

// maxErrorBody bounds what is read of an error response, so that a misbehaving upstream cannot
// make us buffer without end. The API's error object is a few hundred bytes; a body beyond the
// bound is not decoded, and the error then names only its status.
const maxErrorBody = 1 << 20

// messagesURL is where baseURL (the production API when empty) serves the Messages API; a base
// URL with a path (a proxy's prefix) keeps it, as the SDK did.
func messagesURL(baseURL string) string {
	if baseURL == "" {
		baseURL = defaultAnthropicBaseURL
	}
	return strings.TrimRight(baseURL, "/") + "/v1/messages"
}

// anthropicHeader is the header every Messages request carries. Each request gets its own copy:
// a transport (an instrumented one a deployment wraps around ours) may add to the header of the
// request it is given, and one map shared by concurrent requests would then race.
func anthropicHeader(apiKey string) http.Header {
	return http.Header{
		"Authorization":     {"Bearer " + apiKey},
		"Anthropic-Version": {anthropicVersion},
		"Content-Type":      {"application/json"},
		"Accept":            {"application/json"},
		"User-Agent":        {anthropicUserAgent},
	}
}

// post sends body to the Messages API and returns the response of a successful request, its
// body for the caller to read and close. Everything else comes back as an *Error: an error
// status with the API's error type and message, a connection failure, or the end of ctx.
func (a *Anthropic) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil { // only a malformed base URL gets here
		return nil, connError(a.Name(), a.apiKey, "invalid upstream request", err)
	}
	req.Header = a.header.Clone()
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, a.classify(ctx, err)
	}
	if resp.StatusCode >= http.StatusBadRequest {
		defer func() { _ = resp.Body.Close() }()
		return nil, a.responseError(ctx, resp)
	}
	return resp, nil
}

// anthropicErrorBody is the API's error response: {"type":"error","error":{"type":..,"message":..}}.
type anthropicErrorBody struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// responseError is the *Error for an error status. Only the error type and message of the body
// are kept: a body that is not the API's JSON (a proxy's HTML page) leaves both empty, so the
// error names just the status, and raw upstream text never reaches a client or a log.
func (a *Anthropic) responseError(ctx context.Context, resp *http.Response) *Error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return a.classify(ctx, err)
	}
	var body anthropicErrorBody
	_ = json.Unmarshal(raw, &body) // whatever did not decode stays empty
	return a.apiError(resp.StatusCode, body.Error.Type, body.Error.Message, nil)
}
