package chat

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/ccbackend/ccbackend/internal/llm"
)

// maxToolName is Anthropic's limit for a tool name (^[a-zA-Z0-9_-]{1,64}$).
const maxToolName = 64

// toolTable maps the names the model sees for backend tools back to those tools. Names are
// chosen here, never parsed: a name is "<server>__<tool>" made safe, or a hashed form when that
// is too long or taken, so two servers' tools (or a client tool) cannot collide.
type toolTable struct {
	byName map[string]HostTool
}

// newToolTable names the host tools so that none collides with a client tool or another host
// tool, and returns the table with the tools to offer upstream.
func newToolTable(client []llm.Tool, host []HostTool) (*toolTable, []llm.Tool) {
	taken := make(map[string]bool, len(client)+len(host))
	for _, t := range client {
		taken[t.Name] = true
	}
	tt := &toolTable{byName: make(map[string]HostTool, len(host))}
	offered := make([]llm.Tool, 0, len(host))
	for _, h := range host {
		name := toolName(h, taken)
		taken[name] = true
		tt.byName[name] = h
		desc := h.Description
		if h.ServerName != "" {
			desc = "[" + h.ServerName + "] " + desc
		}
		offered = append(offered, llm.Tool{Name: name, Description: desc, Parameters: h.InputSchema})
	}
	return tt, offered
}

// lookup returns the backend tool the model's name stands for; false for a client tool.
func (t *toolTable) lookup(name string) (HostTool, bool) {
	if t == nil {
		return HostTool{}, false
	}
	h, ok := t.byName[name]
	return h, ok
}

func toolName(h HostTool, taken map[string]bool) string {
	server := safeName(h.ServerName)
	if len(server) > 24 {
		server = server[:24]
	}
	if server == "" {
		server = "mcp"
	}
	name := server + "__" + safeName(h.Name)
	if len(name) <= maxToolName && !taken[name] && safeName(h.Name) != "" {
		return name
	}
	sum := sha256.Sum256([]byte(h.ServerID.String() + "/" + h.Name))
	suffix := "_" + hex.EncodeToString(sum[:4])
	if len(name) > maxToolName-len(suffix) {
		name = name[:maxToolName-len(suffix)]
	}
	name += suffix
	for i := 2; taken[name]; i++ { // only a crafted clash gets here
		n := strconv.Itoa(i)
		name = name[:min(len(name), maxToolName-len(n)-1)] + "_" + n
	}
	return name
}

// safeName keeps the characters Anthropic allows in tool names and replaces the rest with "_".
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
