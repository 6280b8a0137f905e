package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

func newID() uuid.UUID { return uuid.New() }

// orEmptyObject is a tool call's arguments, "{}" when the model sent none.
func orEmptyObject(args string) string {
	if strings.TrimSpace(args) == "" {
		return "{}"
	}
	return args
}

// objectOrEmpty is the arguments as JSON to send on (upstream, in a ccb_tool chunk): "{}" when
// they are missing or not valid JSON, which the call then reports as an error.
func objectOrEmpty(args string) json.RawMessage {
	raw := json.RawMessage(orEmptyObject(args))
	if !json.Valid(raw) {
		return json.RawMessage(`{}`)
	}
	return raw
}

// errorResult is an is_error result carrying one text block.
func errorResult(text string) ToolResult {
	block, _ := json.Marshal(map[string]string{"type": "text", "text": text})
	return ToolResult{Content: []json.RawMessage{block}, IsError: true}
}

// toolStatus classifies a call's outcome (from the call's own error: a call that ignored a
// cancel and ended otherwise is reported as what it was); a call that did not complete becomes an is_error
// result whose text is safe to show the model (an application error's detail, or a generic one).
func toolStatus(res ToolResult, err error) (string, ToolResult) {
	var ae *apperr.Error
	switch {
	case err == nil:
		return ToolCompleted, res
	case errors.Is(err, context.Canceled): // the call itself says so: it was stopped, not just late
		return ToolCancelled, errorResult("the tool call was cancelled")
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ae) && ae.Kind == apperr.Timeout):
		return ToolTimeout, errorResult("the tool did not answer in time")
	case errors.As(err, &ae) && ae.Kind != apperr.Internal && ae.Detail != "":
		return ToolFailed, errorResult("the tool call failed: " + ae.Detail)
	default:
		return ToolFailed, errorResult("the tool call failed")
	}
}

// resultText is what the model reads of a result: text blocks as they are, other blocks
// (images, resources) as their JSON, one per line; the structured content when nothing else.
func resultText(r ToolResult) string {
	parts := make([]string, 0, len(r.Content))
	for _, block := range r.Content {
		var b struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(block, &b) == nil && b.Type == "text" {
			parts = append(parts, b.Text)
		} else {
			parts = append(parts, string(block))
		}
	}
	if len(parts) == 0 && len(r.Structured) > 0 {
		return string(r.Structured)
	}
	return strings.Join(parts, "\n")
}
