package llm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// sdkOnlyHeader reports a header the SDK sends that the provider deliberately does not: the
// SDK's own telemetry. The User-Agent differs on purpose (the service names itself).
func sdkOnlyHeader(name string) bool {
	return strings.HasPrefix(name, "X-Stainless-") || name == "User-Agent"
}

// TestAnthropicHeadersMatchTheSDK sends one request as the SDK's client did before the provider
// spoke HTTP itself, and one through the provider, to the same base URL with a path prefix (a
// proxy's): both reach the same path with the same method, and every header the SDK sends
// (credential, API version, content type, accept, length, encoding) is sent with the same
// value, except the telemetry named by sdkOnlyHeader. A new SDK version that changes the API
// version or adds a header fails here, so the provider can follow.
func TestAnthropicHeadersMatchTheSDK(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"headers only"}}`))
	}))
	defer srv.Close()
	const key = "sk-ant-headers-0123"
	base := srv.URL + "/proxy/"
	req := Request{Model: "m", Messages: []Message{{Role: User, Parts: []Part{{Kind: Text, Text: "x"}}}}}
	body, err := anthropicBody(req)
	if err != nil {
		t.Fatal(err)
	}

	sdk := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithAPIKey(key), option.WithBaseURL(base), option.WithMaxRetries(0))
	var resp *http.Response
	if err := sdk.Post(context.Background(), "v1/messages", body, &resp); err == nil {
		t.Fatal("the SDK's request did not get the scripted error")
	}
	s, err := NewAnthropic(key, base, nil).Stream(context.Background(), req)
	if err == nil {
		_ = s.Close()
		t.Fatal("the provider's request did not get the scripted error")
	}
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	want, ours := got[0], got[1]
	if ours.Method != want.Method || ours.URL.Path != want.URL.Path || ours.ContentLength != want.ContentLength {
		t.Errorf("provider sent %s %s (%d bytes), the SDK %s %s (%d bytes)", ours.Method, ours.URL.Path, ours.ContentLength, want.Method, want.URL.Path, want.ContentLength)
	}
	for name, vs := range want.Header {
		if sdkOnlyHeader(name) {
			continue
		}
		if g := ours.Header.Values(name); strings.Join(g, ",") != strings.Join(vs, ",") {
			t.Errorf("header %s = %q, the SDK sends %q", name, g, vs)
		}
	}
	for name := range ours.Header {
		if _, ok := want.Header[name]; !ok && !sdkOnlyHeader(name) {
			t.Errorf("header %s is not one the SDK sends", name)
		}
	}
}
