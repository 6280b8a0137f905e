package chat

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/llm"
)

// Usage is OpenAI's usage block; prompt tokens include cache reads and writes.
type Usage struct {
	PromptTokens        int64         `json:"prompt_tokens"`
	CompletionTokens    int64         `json:"completion_tokens"`
	TotalTokens         int64         `json:"total_tokens"`
	PromptTokensDetails *PromptDetail `json:"prompt_tokens_details,omitempty"`
}

// PromptDetail tells how much of the prompt came from the cache.
type PromptDetail struct {
	CachedTokens int64 `json:"cached_tokens"`
}

// Cost is the price of a usage in US dollars, by kind (an extension of the OpenAI shape).
type Cost struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheRead  float64 `json:"cache_read"`
	CacheWrite float64 `json:"cache_write"`
	Total      float64 `json:"total"`
}

func openAIUsage(u llm.Usage) Usage {
	prompt := u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens
	return Usage{PromptTokens: prompt, CompletionTokens: u.OutputTokens, TotalTokens: prompt + u.OutputTokens,
		PromptTokensDetails: &PromptDetail{CachedTokens: u.CacheReadTokens}}
}

func price(p catalog.Pricing, u llm.Usage) Cost {
	per := func(n int64, rate float64) float64 { return float64(n) * rate / 1e6 }
	c := Cost{Input: per(u.InputTokens, p.Input), Output: per(u.OutputTokens, p.Output),
		CacheRead: per(u.CacheReadTokens, p.CacheRead), CacheWrite: per(u.CacheWriteTokens, p.CacheWrite)}
	c.Total = c.Input + c.Output + c.CacheRead + c.CacheWrite
	return c
}

// finishReason maps every normalised stop reason to OpenAI's finish_reason; reasons OpenAI has
// no word for are reported as the nearest one and flagged (noted) for the log.
func finishReason(r llm.StopReason) (reason string, noted bool) {
	switch r {
	case llm.StopEndTurn, llm.StopSequence:
		return "stop", false
	case llm.StopMaxTokens:
		return "length", false
	case llm.StopToolUse:
		return "tool_calls", false
	case llm.StopRefusal:
		return "content_filter", false
	case llm.StopContextWindow:
		return "length", true // the context filled up: the answer is cut short, as with max_tokens
	case llm.StopPauseTurn:
		return "stop", true // a long server-side turn paused; the client may continue it
	default:
		return "stop", true
	}
}

// Completion is a non-streamed chat.completion.
type Completion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint *string  `json:"system_fingerprint"`
	Choices           []Choice `json:"choices"`
	Usage             Usage    `json:"usage"`
	Cost              *Cost    `json:"cost,omitempty"`
	SessionID         *string  `json:"session_id,omitempty"`
	// SessionError says the exchange could not be stored in its session (the answer stands).
	SessionError *SessionError `json:"session_error,omitempty"`
}

// SessionError reports an exchange that was answered but could not be stored in its session.
type SessionError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SessionErrorOf is the client's account of a failure to store the exchange (what Finish or
// FinishStored returned): the detail of an application error, written for clients, or a generic
// sentence; nil for nil.
func SessionErrorOf(err error) *SessionError {
	if err == nil {
		return nil
	}
	msg := "the exchange could not be stored in the session"
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Kind != apperr.Internal && ae.Detail != "" {
		msg += ": " + ae.Detail
	}
	return &SessionError{Code: "exchange_not_stored", Message: msg}
}

// Choice is the one choice of a completion.
type Choice struct {
	Index        int             `json:"index"`
	Message      ChoiceMessage   `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// ChoiceMessage is the assistant's reply.
type ChoiceMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Chunk is one chat.completion.chunk of a stream.
type Chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
	Cost              *Cost         `json:"cost,omitempty"`
	SessionError      *SessionError `json:"session_error,omitempty"`
	// Tool reports a backend tool call of the turn (with empty Choices).
	Tool *ToolEvent `json:"ccb_tool,omitempty"`
	// GenerationID announces the generation in a stream's first chunk (to resume it).
	GenerationID string `json:"generation_id,omitempty"`
}

// ChunkChoice carries a delta.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// Delta is the increment of one chunk.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is a fragment of a tool call.
type ToolCallDelta struct {
	Index    int    `json:"index"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// answer accumulates a stream into the final assistant message.
type answer struct {
	text      strings.Builder
	toolCalls []ToolCall
	usage     llm.Usage
	stop      llm.StopReason
	rawStop   string
	stopped   bool
	messageID string
	model     string
}

// add folds one event in.
func (a *answer) add(e llm.Event) {
	switch e.Kind {
	case llm.EventStart:
		a.messageID, a.model = e.MessageID, e.Model
	case llm.EventTextDelta:
		a.text.WriteString(e.Text)
	case llm.EventToolCallStart:
		for len(a.toolCalls) <= e.ToolIndex {
			a.toolCalls = append(a.toolCalls, ToolCall{Type: "function"})
		}
		a.toolCalls[e.ToolIndex].ID = e.ToolID
		a.toolCalls[e.ToolIndex].Function.Name = e.ToolName
	case llm.EventToolArgsDelta:
		if e.ToolIndex < len(a.toolCalls) {
			a.toolCalls[e.ToolIndex].Function.Arguments += e.ArgsDelta
		}
	case llm.EventUsage:
		a.usage = e.Usage
	case llm.EventStop:
		a.stop, a.rawStop, a.stopped = e.StopReason, e.RawStopReason, true
	}
}

// message is the assistant message so far.
func (a *answer) message() ChoiceMessage {
	return assistantMessage(a.text.String(), a.toolCalls, a.stop == llm.StopRefusal)
}

// assistantMessage is a reply of text and tool calls (those with empty arguments get `{}`).
func assistantMessage(text string, calls []ToolCall, refused bool) ChoiceMessage {
	m := ChoiceMessage{Role: "assistant"}
	if text != "" || len(calls) == 0 {
		m.Content = &text
	}
	for _, tc := range calls {
		if tc.Function.Arguments == "" {
			tc.Function.Arguments = "{}"
		}
		m.ToolCalls = append(m.ToolCalls, tc)
	}
	if refused {
		r := m.contentOr("the model declined to answer")
		m.Refusal = &r
	}
	return m
}

func (m ChoiceMessage) contentOr(def string) string {
	if m.Content != nil && *m.Content != "" {
		return *m.Content
	}
	return def
}
