package chat

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/llm"
)

// Names offered for backend tools follow Anthropic's rule, never collide (with each other or a
// client tool) and map back to their own server's tool through the table.
func TestToolTableNames(t *testing.T) {
	anthropicName := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	a, b := uuid.New(), uuid.New()
	host := []HostTool{
		{ServerID: a, ServerName: "files", Name: "read"},
		{ServerID: b, ServerName: "files", Name: "read"},                           // same server name, same tool
		{ServerID: a, ServerName: "files", Name: "search.docs/v2 (beta)"},          // characters outside the rule
		{ServerID: b, ServerName: "ünïcode sërver", Name: strings.Repeat("x", 80)}, // too long
		{ServerID: a, ServerName: "client", Name: "clash"},
	}
	client := []llm.Tool{{Name: "client__clash"}}
	table, offered := newToolTable(client, host)
	if len(offered) != len(host) {
		t.Fatalf("%d offered for %d tools", len(offered), len(host))
	}
	seen := map[string]bool{"client__clash": true}
	for i, o := range offered {
		if !anthropicName.MatchString(o.Name) {
			t.Errorf("name %q breaks Anthropic's rule", o.Name)
		}
		if seen[o.Name] {
			t.Errorf("name %q offered twice (or a client tool's)", o.Name)
		}
		seen[o.Name] = true
		got, ok := table.lookup(o.Name)
		if !ok || got.ServerID != host[i].ServerID || got.Name != host[i].Name {
			t.Errorf("%q maps to %+v, want %+v", o.Name, got, host[i])
		}
	}
	if offered[0].Name != "files__read" || !strings.HasPrefix(offered[0].Description, "[files] ") {
		t.Errorf("first tool offered as %+v", offered[0])
	}
	if _, ok := table.lookup("client__clash"); ok {
		t.Error("a client tool's name maps to a backend tool")
	}
}
