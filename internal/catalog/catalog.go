// Package catalog is the list of models the service offers: who serves each one, what it can do,
// what it costs and where to fall back. The default is embedded; CCB_MODELS_FILE replaces it.
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

//go:embed models.json
var defaultModels []byte

// Pricing is US dollars per million tokens of each kind.
type Pricing struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheRead  float64 `json:"cache_read"`
	CacheWrite float64 `json:"cache_write"`
}

// Model is one catalog entry.
type Model struct {
	ID              string   `json:"id"`
	Provider        string   `json:"provider"`                 // anthropic | local | an OpenAI-compatible upstream's name
	UpstreamModel   string   `json:"upstream_model,omitempty"` // the provider's id, when it differs
	Created         int64    `json:"created"`
	ContextWindow   int64    `json:"context_window"`
	MaxOutputTokens int64    `json:"max_output_tokens"`
	Streaming       bool     `json:"streaming"`
	Tools           bool     `json:"tools"`
	Vision          bool     `json:"vision"`
	Pricing         Pricing  `json:"pricing"`
	Fallbacks       []string `json:"fallbacks,omitempty"` // catalog ids to try, in order, when this one's provider fails
	DevelopmentOnly bool     `json:"development_only,omitempty"`
}

// Upstream is the id to send to the provider.
func (m Model) Upstream() string {
	if m.UpstreamModel != "" {
		return m.UpstreamModel
	}
	return m.ID
}

// Cost prices a usage in US dollars.
func (p Pricing) Cost(input, output, cacheRead, cacheWrite int64) float64 {
	return (float64(input)*p.Input + float64(output)*p.Output + float64(cacheRead)*p.CacheRead + float64(cacheWrite)*p.CacheWrite) / 1e6
}

// Catalog is the loaded model list.
type Catalog struct {
	models []Model
	byID   map[string]Model
}

// Load reads path (the embedded default when empty). Development-only models (the offline local
// model) are left out in production.
func Load(path string, production bool) (*Catalog, error) {
	raw := defaultModels
	if path != "" {
		var err error
		if raw, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("catalog: CCB_MODELS_FILE: %w", err)
		}
	}
	var file struct {
		Models []Model `json:"models"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{byID: map[string]Model{}}
	for _, m := range file.Models {
		if m.ID == "" || m.Provider == "" {
			return nil, fmt.Errorf("catalog: every model needs an id and a provider")
		}
		if _, dup := c.byID[m.ID]; dup {
			return nil, fmt.Errorf("catalog: model %q listed twice", m.ID)
		}
		if m.DevelopmentOnly && production {
			continue
		}
		c.byID[m.ID] = m
		c.models = append(c.models, m)
	}
	for _, m := range c.models {
		for _, f := range m.Fallbacks {
			if _, ok := c.byID[f]; !ok {
				return nil, fmt.Errorf("catalog: %s falls back to unknown model %q", m.ID, f)
			}
		}
	}
	sort.Slice(c.models, func(i, j int) bool { return c.models[i].ID < c.models[j].ID })
	return c, nil
}

// ListModels lists the catalog, sorted by id.
func (c *Catalog) ListModels() []Model { return c.models }

// GetModel looks one model up.
func (c *Catalog) GetModel(id string) (Model, bool) {
	m, ok := c.byID[id]
	return m, ok
}
