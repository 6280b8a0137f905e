package catalog

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultCatalog(t *testing.T) {
	dev, err := Load("", false)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Load("", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dev.GetModel("local-echo"); !ok {
		t.Error("development catalog lacks the local model")
	}
	if _, ok := prod.GetModel("local-echo"); ok {
		t.Error("production catalog offers the local model")
	}
	m, ok := prod.GetModel("claude-sonnet-4-5")
	if !ok || m.Provider != "anthropic" || m.Pricing.Output <= m.Pricing.Input {
		t.Fatalf("claude-sonnet-4-5 = %+v", m)
	}
	// 1M input + 1M output + 1M cache read + 1M cache write at the listed prices.
	if got := m.Pricing.Cost(1e6, 1e6, 1e6, 1e6); math.Abs(got-(3+15+0.3+3.75)) > 1e-9 {
		t.Errorf("cost = %v", got)
	}
}

func TestOverrideFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok.json", `{"models":[{"id":"qwen","provider":"vllm","upstream_model":"Qwen/Qwen3","created":1}]}`)
	c, err := Load(ok, true)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := c.GetModel("qwen"); m.Upstream() != "Qwen/Qwen3" || len(c.ListModels()) != 1 {
		t.Errorf("override = %+v", c.ListModels())
	}
	for name, body := range map[string]string{
		"dup.json":      `{"models":[{"id":"a","provider":"x"},{"id":"a","provider":"x"}]}`,
		"fallback.json": `{"models":[{"id":"a","provider":"x","fallbacks":["b"]}]}`,
		"noid.json":     `{"models":[{"provider":"x"}]}`,
		"bad.json":      `{`,
	} {
		if _, err := Load(write(name, body), false); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json"), false); err == nil {
		t.Error("a missing file loaded")
	}
}
