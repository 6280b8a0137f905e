package testutil

import (
	"net/http"
	"testing"
)

// The harness must catch a handler that drifts from the contract.
func TestContractRejectsDrift(t *testing.T) {
	c := LoadContract(t)
	req, _ := http.NewRequest(http.MethodGet, "http://x/health", nil)
	h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}
	cases := []struct {
		name   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"conforming", 200, h, `{"status":"ok","version":"1","uptime_seconds":1.5,"started_at":"2026-01-02T03:04:05.000Z"}`, true},
		{"missing field", 200, h, `{"status":"ok","version":"1","started_at":"2026-01-02T03:04:05.000Z"}`, false},
		{"wrong enum", 200, h, `{"status":"fine","version":"1","uptime_seconds":1,"started_at":"2026-01-02T03:04:05.000Z"}`, false},
		{"error that is not a problem", 500, h, `{"message":"oops"}`, false},
		{"no request id", 200, http.Header{"Content-Type": {"application/json"}}, `{"status":"ok","version":"1","uptime_seconds":1,"started_at":"2026-01-02T03:04:05.000Z"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Validate(req, tc.status, tc.header, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%t", err, tc.ok)
			}
		})
	}
	unknown, _ := http.NewRequest(http.MethodGet, "http://x/nowhere", nil)
	if err := c.Validate(unknown, 200, h, []byte(`{}`)); err == nil {
		t.Error("a success for an undeclared path passed validation")
	}
}

// Only validated successes count as exercising an operation; a refusal does not.
func TestUnexercisedOperations(t *testing.T) {
	c := LoadContract(t)
	h := http.Header{"Content-Type": {"application/problem+json"}, "X-Request-Id": {"r1"}}
	login, _ := http.NewRequest(http.MethodPost, "http://x/v1/auth/login", nil)
	problem := `{"type":"about:blank","title":"Unauthorized","status":401,"code":"invalid_credentials","detail":"no","request_id":"r1","error":{"message":"no","type":"invalid_request_error","code":"invalid_credentials"}}`
	if err := c.Validate(login, 401, h, []byte(problem)); err != nil {
		t.Fatalf("a conforming 401: %v", err)
	}
	health, _ := http.NewRequest(http.MethodGet, "http://x/health", nil)
	ok := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}
	if err := c.Validate(health, 200, ok, []byte(`{"status":"ok","version":"1","uptime_seconds":1,"started_at":"2026-01-02T03:04:05.000Z"}`)); err != nil {
		t.Fatalf("a conforming 200: %v", err)
	}
	missing := map[string]bool{}
	for _, id := range UnexercisedOperations() {
		missing[id] = true
	}
	if missing["getHealth"] || !missing["login"] {
		t.Errorf("after a 200 from getHealth and a 401 from login, unexercised = %v; want login listed and getHealth not", UnexercisedOperations())
	}
}
