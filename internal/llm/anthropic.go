package llm

import (
	"context"
	"encoding/json"
	"net/http"
)

// defaultMaxTokens is sent when a request leaves MaxTokens unset, because the Messages API
// requires the field while OpenAI clients commonly omit it.
const defaultMaxTokens = 4096

// Anthropic is the Provider for the Anthropic Messages API, spoken directly over net/http
// (anthropic_http.go); the SDK's types remain the reference its tests compare with.
type Anthropic struct {
	client *http.Client
	url    string      // the Messages endpoint
	header http.Header // what every request carries, copied per request
	apiKey string      // kept to scrub it from error text
}

var _ Provider = (*Anthropic)(nil)

// NewAnthropic returns a provider for the Messages API at baseURL (the production API when
// empty). Nothing is read from ANTHROPIC_* variables: the config layer passes what it wants.
// Nothing is retried here (the Router does, and must see every failure), and httpClient
// (http.DefaultClient's settings when nil) should carry no overall timeout, since streams are
// long-lived; the request's context bounds each call instead.
func NewAnthropic(apiKey, baseURL string, httpClient *http.Client) *Anthropic {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Anthropic{client: httpClient, url: messagesURL(baseURL), header: anthropicHeader(apiKey), apiKey: apiKey}
}

// Name implements Provider.
func (a *Anthropic) Name() string { return "anthropic" }

// Describe implements Provider: the very body Stream sends.
func (a *Anthropic) Describe(req Request) (json.RawMessage, error) {
	return anthropicBody(req)
}

// Stream implements Provider. It returns once the upstream answered with its headers, so HTTP
// errors (429, 529, 5xx, 4xx) and connection failures come back here as *Error. With
// req.NoStream it asks for the whole message at once and returns once it has it (see reply).
func (a *Anthropic) Stream(ctx context.Context, req Request) (Stream, error) {
	body, err := anthropicBody(req)
	if err != nil {
		return nil, err
	}
	if req.NoStream {
		return a.reply(ctx, body)
	}
	// Our own cancel lets Close abort the upstream request even when the caller's ctx lives on.
	// The caller's ends it (with the caller's cause) only until the answer is complete: what is
	// left then is the end of the body, which Close may read after the caller's request has
	// ended, to keep the connection (see anthropicStream.Close).
	ctx, cancel, detach := followUntilDetached(ctx)
	// The body carries "stream": true; anthropicStream decodes the events (see anthropicEvent).
	resp, err := a.post(ctx, body) // classified before cancel, which would make it look like the caller's
	if err != nil {
		cancel()
		return nil, err
	}
	return &anthropicStream{p: a, ctx: ctx, cancel: cancel, detach: detach, events: newSSEDecoder(resp.Body), toolIndex: map[int64]int{},
		requestID: resp.Header.Get("Request-Id")}, nil
}

// followUntilDetached returns a context cancelled by cancel, and by parent's end (with its
// cause) until detach is called; it keeps parent's values.
func followUntilDetached(parent context.Context) (ctx context.Context, cancel context.CancelFunc, detach func()) {
	ctx, cancelCause := context.WithCancelCause(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() { cancelCause(context.Cause(parent)) })
	return ctx, func() { stop(); cancelCause(nil) }, func() { stop() }
}

// classify turns a transport error (no HTTP status) into an *Error without secrets: the end of
// ctx is the caller's doing, anything else a connection failure.
func (a *Anthropic) classify(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return contextError(a.Name(), context.Cause(ctx))
	}
	return connError(a.Name(), a.apiKey, "upstream connection failed", err)
}

// apiError is an error the API reported: an HTTP status, or an error event inside a 200 stream,
// which gets the status its type carries over HTTP.
func (a *Anthropic) apiError(status int, typ, msg string, cause error) *Error {
	if status < 400 {
		status = anthropicTypeStatus(typ)
	}
	e := statusError(a.Name(), a.apiKey, status, typ, msg, cause)
	if typ == "overloaded_error" || typ == "api_error" || typ == "rate_limit_error" {
		e.Retryable = true
	}
	return e
}

// anthropicTypeStatus maps Anthropic's documented error types to their HTTP statuses.
func anthropicTypeStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "overloaded_error":
		return StatusOverloaded
	default: // api_error and anything new
		return http.StatusInternalServerError
	}
}
