package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestModelsCatalog(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "models@example.com")
	resp, body := s.Do(t, http.MethodGet, "/v1/models", nil, u.Bearer())
	list := decodeInto[struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}](t, resp, body, http.StatusOK)
	owners := map[string]string{}
	for _, m := range list.Data {
		owners[m.ID] = m.OwnedBy
	}
	if list.Object != "list" || owners["claude-sonnet-4-5"] != "anthropic" || owners["local-echo"] != "local" {
		t.Errorf("models = %s", body)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/models/claude-haiku-4-5", nil, u.Bearer())
	if m := decodeInto[map[string]any](t, resp, body, http.StatusOK); m["id"] != "claude-haiku-4-5" || m["object"] != "model" {
		t.Errorf("model = %s", body)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/models/gpt-9", nil, u.Bearer())
	decodeProblem(t, resp, body, http.StatusNotFound)
	resp, body = s.Do(t, http.MethodGet, "/v1/models/capabilities", nil, u.Bearer())
	caps := decodeInto[struct {
		Data []struct {
			ID      string             `json:"id"`
			Pricing map[string]float64 `json:"pricing"`
			Tools   bool               `json:"tools"`
		} `json:"data"`
	}](t, resp, body, http.StatusOK)
	for _, c := range caps.Data {
		if c.ID == "claude-opus-4-5" && (c.Pricing["output"] != 25 || !c.Tools) {
			t.Errorf("capabilities %+v", c)
		}
	}
	// Production leaves the offline model out.
	prod := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.Env = "production" }))
	p := prod.Register(t, "prod@example.com")
	resp, _ = prod.Do(t, http.MethodGet, "/v1/models/local-echo", nil, p.Bearer())
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("production offers local-echo: %d", resp.StatusCode)
	}
}
