package mcp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// TestTransports runs the whole client side against a real server-everything over each transport:
// test, list, call echo and get-sum, and arguments the input schema refuses.
func TestTransports(t *testing.T) {
	eachTransport(t, nil, func(t *testing.T, p *Pool, tg *target) {
		ctx, user := ctxT(t), uuid.New()

		info, err := p.Test(ctx, user, tg.srv)
		if err != nil {
			t.Fatalf("Test: %v", err)
		}
		if info.ProtocolVersion == "" || !strings.Contains(info.ServerName, "everything") || info.ToolCount < 3 {
			t.Errorf("Test = %+v; want a protocol version, server-everything's name, its tools", info)
		}

		tools, err := p.Tools(ctx, user, tg.srv, true)
		if err != nil {
			t.Fatalf("Tools: %v", err)
		}
		names := make([]string, 0, len(tools))
		for _, tool := range tools {
			names = append(names, tool.Name)
			if !json.Valid(tool.InputSchema) {
				t.Errorf("tool %s: input schema %q is not JSON", tool.Name, tool.InputSchema)
			}
		}
		for _, want := range []string{"echo", "get-sum", "trigger-long-running-operation"} {
			if !slices.Contains(names, want) {
				t.Errorf("tools %v lack %s", names, want)
			}
		}
		if len(names) != info.ToolCount {
			t.Errorf("Test counted %d tools, Tools listed %d", info.ToolCount, len(names))
		}

		res, err := p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"hello pool"}`))
		if err != nil || res.IsError || !strings.Contains(text(t, res), "hello pool") {
			t.Fatalf("echo = %+v, %v", res, err)
		}
		res, err = p.Call(ctx, user, tg.srv, "get-sum", json.RawMessage(`{"a":2,"b":40}`))
		if err != nil || res.IsError || !strings.Contains(text(t, res), "42") {
			t.Fatalf("get-sum = %+v, %v", res, err)
		}
		if p.Sessions() != 1 {
			t.Errorf("Sessions() = %d after calls of one user to one server; want 1", p.Sessions())
		}

		for args, ptr := range map[string]string{
			`{"a":"two","b":40}`: "/arguments/a",
			`{"a":2}`:            "/arguments/b",
			`[1,2]`:              "/arguments",
		} {
			_, err := p.Call(ctx, user, tg.srv, "get-sum", json.RawMessage(args))
			ae := wantCode(t, err, apperr.Invalid, "validation_failed")
			if len(ae.Fields) != 1 || ae.Fields[0].Pointer != ptr || ae.Fields[0].Location != apperr.InBody {
				t.Errorf("get-sum %s: fields %+v; want pointer %s", args, ae.Fields, ptr)
			}
		}
		_, err = p.Call(ctx, user, tg.srv, "no-such-tool", nil)
		wantCode(t, err, apperr.NotFound, CodeToolNotFound)

		allow := tg.srv
		allow.ToolAllowlist = []string{"echo"}
		if tools, err := p.Tools(ctx, user, allow, false); err != nil || len(tools) != 1 || tools[0].Name != "echo" {
			t.Errorf("Tools with allowlist [echo] = %v, %v", tools, err)
		}
		_, err = p.Call(ctx, user, allow, "get-sum", json.RawMessage(`{"a":1,"b":2}`))
		wantCode(t, err, apperr.NotFound, CodeToolNotFound)
	})
}
