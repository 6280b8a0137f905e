// Package llm is the provider-neutral model interface: a request in the shape the Anthropic
// Messages API understands (system prompt apart, alternating user/assistant turns, content
// blocks), and a stream of normalised events. Providers translate to and from their upstream.
package llm

import (
	"context"
	"encoding/json"
)

// Role of a turn.
type Role string

// Roles.
const (
	User      Role = "user"
	Assistant Role = "assistant"
)

// PartKind is the kind of a content block.
type PartKind string

// Content block kinds.
const (
	Text       PartKind = "text"
	Image      PartKind = "image"       // base64 data with a media type
	Document   PartKind = "document"    // a PDF (base64) or a text file (plain text), with a title
	ToolUse    PartKind = "tool_use"    // the assistant calls a tool
	ToolResult PartKind = "tool_result" // the user returns a tool's output
)

// Part is one content block.
type Part struct {
	Kind PartKind
	Text string // Text; ToolResult content

	MediaType string // Image: e.g. image/png; Document: application/pdf or text/plain
	Data      string // Image, PDF Document: base64; text Document: the text itself
	Title     string // Document: the file's name, shown to the model

	ToolUseID string          // ToolUse id; ToolResult: the call it answers
	ToolName  string          // ToolUse
	Input     json.RawMessage // ToolUse arguments (a JSON object)
	IsError   bool            // ToolResult
}

// Message is one turn.
type Message struct {
	Role  Role
	Parts []Part
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema of the arguments (an object schema)
}

// ToolChoiceMode says whether and which tool the model must call.
type ToolChoiceMode string

// Tool choice modes (OpenAI's none/auto/required/named map onto these).
const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "any"
	ToolChoiceNamed    ToolChoiceMode = "tool"
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string // ToolChoiceNamed
	// DisableParallel asks for at most one tool call per turn.
	DisableParallel bool
}

// Request is a provider-neutral completion request.
type Request struct {
	Model       string
	System      string
	Messages    []Message
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Stop        []string
	Tools       []Tool
	ToolChoice  *ToolChoice
	User        string // end-user id, passed upstream as metadata where supported
	// NoStream says the caller collects the whole answer before using any of it: a provider
	// may then fetch it in one response instead of a stream (Anthropic does; the Stream it
	// returns replays the answer as the same events). Without it, providers stream.
	NoStream bool
}

// StopReason is why generation ended, normalised.
type StopReason string

// Stop reasons. Unknown upstream reasons are reported as StopOther with the raw value kept.
const (
	StopEndTurn       StopReason = "end_turn"
	StopSequence      StopReason = "stop_sequence"
	StopMaxTokens     StopReason = "max_tokens"
	StopToolUse       StopReason = "tool_use"
	StopRefusal       StopReason = "refusal"
	StopPauseTurn     StopReason = "pause_turn"
	StopContextWindow StopReason = "model_context_window_exceeded"
	StopOther         StopReason = "other"
)

// Usage counts tokens by kind. Input excludes the cached kinds.
type Usage struct {
	InputTokens      int64
	OutputTokens     int64
	CacheReadTokens  int64
	CacheWriteTokens int64
}

// EventKind is the kind of a stream event.
type EventKind int

// Event kinds, in the order a stream produces them: Start once; then any number of TextDelta,
// ToolCallStart and ToolArgsDelta; Usage (possibly several, cumulative); Stop once at the end.
const (
	EventStart EventKind = iota
	EventTextDelta
	EventToolCallStart
	EventToolArgsDelta
	EventUsage
	EventStop
)

// Event is one normalised stream event.
type Event struct {
	Kind EventKind

	MessageID string // Start: the upstream message id
	Model     string // Start: the model that answers

	Text string // TextDelta

	ToolIndex int    // ToolCallStart, ToolArgsDelta: 0-based index among this response's tool calls
	ToolID    string // ToolCallStart
	ToolName  string // ToolCallStart
	ArgsDelta string // ToolArgsDelta: a fragment of the JSON arguments

	Usage Usage // Usage: cumulative totals so far

	StopReason    StopReason // Stop
	RawStopReason string     // Stop: the upstream's own word
	StopSequence  string     // Stop, when StopSequence
}

// Stream yields events until it ends. Next returns false at the end or on error (then Err tells);
// Close releases the upstream connection (cancelling it if still open).
type Stream interface {
	Next() bool
	Event() Event
	Err() error
	Close() error
}

// Provider is one upstream.
type Provider interface {
	// Name identifies the provider in logs, metrics and usage events.
	Name() string
	// Stream starts a completion; the upstream request is bound to ctx.
	Stream(ctx context.Context, req Request) (Stream, error)
	// Describe returns the exact upstream request body Stream would send, without sending it.
	Describe(req Request) (json.RawMessage, error)
}

// Error classifies an upstream failure so callers can retry, fall back or answer the client.
type Error struct {
	Provider   string
	Status     int  // upstream HTTP status, 0 for connection errors
	Retryable  bool // 429, 5xx, 529 and connection errors
	Overloaded bool // 529 / overloaded_error
	Message    string
	Err        error
}

func (e *Error) Error() string { return e.Provider + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }
