package chat

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// persist appends the new user turn and the reply to the session: with the tool loop, every
// step in order (the assistant's message with its tool calls, then one tool message per
// executed backend call), each assistant message carrying its own step's usage and price.
func (g *Generation) persist(ctx context.Context, cost Cost, status string) error {
	if n := len(g.req.Messages); n > 0 {
		last := g.req.Messages[n-1]
		if storedTurn(last) {
			meta := map[string]any{}
			if last.ToolCallID != "" {
				meta["tool_call_id"] = last.ToolCallID
			}
			content := last.Content
			if len(content) == 0 || string(content) == "null" {
				content = json.RawMessage(`""`)
			}
			if err := g.storeMessage(ctx, workspace.NewMessage{Role: last.Role, Content: content, Metadata: meta}); err != nil {
				return err
			}
		}
	}
	for _, s := range g.done {
		if err := g.persistStep(ctx, s, price(g.model.Pricing, s.ans.usage), ToolCompleted, "tool_calls", false); err != nil {
			return err
		}
	}
	if g.tools == nil { // the reply as one message: its cost is the whole exchange's
		return g.persistAssistant(ctx, g.ans.message(), g.ans, cost, status, g.FinishReason(), true)
	}
	return g.persistStep(ctx, step{ans: g.ans, results: g.current}, price(g.model.Pricing, g.ans.usage), status, g.FinishReason(), true)
}

// persistStep stores one step: the assistant message (client calls, and the backend calls that
// ran; a call the limits left unexecuted is not stored, since no result answers it), then the
// backend calls' results as tool messages.
func (g *Generation) persistStep(ctx context.Context, s step, cost Cost, status, finish string, last bool) error {
	ran := make(map[string]bool, len(s.results))
	for _, r := range s.results {
		ran[r.exec.CallID] = true
	}
	var calls []ToolCall
	for _, tc := range s.ans.toolCalls {
		if _, backend := g.tools.lookup(tc.Function.Name); !backend || ran[tc.ID] {
			calls = append(calls, tc)
		}
	}
	msg := assistantMessage(s.ans.text.String(), calls, s.ans.stop == llm.StopRefusal)
	if err := g.persistAssistant(ctx, msg, s.ans, cost, status, finish, last); err != nil {
		return err
	}
	for _, r := range s.results {
		content, truncated := storableText(r.text, g.svc.limits.MaxMessageBytes)
		meta := map[string]any{"tool_call_id": r.exec.CallID, "mcp_server_id": r.exec.Tool.ServerID.String(),
			"mcp_tool": r.exec.Tool.Name, "is_error": r.exec.Result.IsError, "status": r.exec.Status,
			"duration_ms": float64(r.exec.Duration.Microseconds()) / 1000, "tool_call_record_id": r.exec.ID.String()}
		if truncated {
			meta["truncated"] = true
		}
		if err := g.storeMessage(ctx, workspace.NewMessage{Role: "tool", Content: content, Metadata: meta}); err != nil {
			return err
		}
	}
	return nil
}

// persistAssistant stores one assistant message with its usage; the timings go on the last.
func (g *Generation) persistAssistant(ctx context.Context, msg ChoiceMessage, a *answer, cost Cost, status, finish string, last bool) error {
	text := ""
	if msg.Content != nil {
		text = *msg.Content
	}
	content, _ := json.Marshal(text)
	meta := map[string]any{"model": g.model.ID, "status": status, "finish_reason": finish}
	if last {
		meta["latency_ms"] = float64(g.svc.now().Sub(g.started).Microseconds()) / 1000
		meta["ttft_ms"] = float64(g.ttft.Microseconds()) / 1000
	}
	if len(msg.ToolCalls) > 0 {
		meta["tool_calls"] = msg.ToolCalls
	}
	u := a.usage
	return g.storeMessage(ctx, workspace.NewMessage{Role: "assistant", Content: content, Metadata: meta,
		InputTokens: u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens, OutputTokens: u.OutputTokens, Cost: cost.Total})
}

// storeMessage appends m to the session and keeps the session's title as the store answered it,
// for the end event (raiseEnd).
func (g *Generation) storeMessage(ctx context.Context, m workspace.NewMessage) error {
	stored, err := g.svc.ws.CreateMessage(ctx, g.caller.UserID, *g.sessionID, m)
	if err == nil {
		g.sessionTitle = &stored.SessionTitle
	}
	return err
}

// storableText is a tool result as a session can hold it: NUL characters replaced (PostgreSQL
// text cannot hold them) and cut to the message limit; the model got it whole.
func storableText(text string, limit int64) (json.RawMessage, bool) {
	text = strings.ReplaceAll(text, "\x00", "\uFFFD")
	raw, _ := json.Marshal(text)
	truncated := false
	for limit > 0 && int64(len(raw)) > limit && text != "" {
		cut := len(text) * 3 / 4
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text, truncated = text[:cut], true
		raw, _ = json.Marshal(text)
	}
	return raw, truncated
}
