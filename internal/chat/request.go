// Package chat serves OpenAI-compatible chat completions from the llm providers: it translates
// the OpenAI request into the provider-neutral shape, turns the event stream back into OpenAI
// responses or chunks, prices the usage, stores the exchange in a session and records a usage
// event per request.
package chat

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/llm"
)

// Request is the OpenAI chat completion request, as far as this service reads it.
type Request struct {
	Model               string            `json:"model"`
	Messages            []Message         `json:"messages"`
	Stream              bool              `json:"stream"`
	StreamOptions       *StreamOptions    `json:"stream_options"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	N                   *int              `json:"n"` // the spec allows only 1
	Temperature         *float64          `json:"temperature"`
	TopP                *float64          `json:"top_p"`
	Stop                json.RawMessage   `json:"stop"`
	Tools               []Tool            `json:"tools"`
	ToolChoice          json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls"`
	User                string            `json:"user"`
	Metadata            map[string]string `json:"metadata"`
	SessionID           *string           `json:"session_id"`
	ProjectID           *string           `json:"project_id"`
	UseSessionHistory   bool              `json:"use_session_history"`
	// MCPServers names registered MCP servers whose tools the backend offers and runs.
	MCPServers []string `json:"mcp_servers"`
	// Resumable keeps a stream's generation running when its client disconnects (ccb_resumable).
	Resumable bool `json:"ccb_resumable"`
}

// StreamOptions are OpenAI's stream options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one OpenAI chat message.
type Message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []ToolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// messagesBytes is the length of msgs' JSON as a client sends it compactly: each content as
// received, the other strings quoted and escaped. It measures without encoding, because
// json.Marshal of a long conversation costs hundreds of microseconds (BenchmarkMessagesSize),
// and the attachments' budget and the token estimate need only its size. Apart from the keys of
// tool-call fields a client left out, it is no more than the request body spent on the messages
// (estimatedCost relies on that).
func messagesBytes(msgs []Message) int {
	n := len(`[]`) + max(len(msgs)-1, 0)
	for _, m := range msgs {
		n += len(`{"role":}`) + quotedLen(m.Role)
		if len(m.Content) > 0 {
			n += len(`,"content":`) + len(m.Content)
		}
		if m.Name != "" {
			n += len(`,"name":`) + quotedLen(m.Name)
		}
		if m.ToolCallID != "" {
			n += len(`,"tool_call_id":`) + quotedLen(m.ToolCallID)
		}
		if len(m.ToolCalls) > 0 {
			n += len(`,"tool_calls":[]`) + len(m.ToolCalls) - 1
			for _, c := range m.ToolCalls {
				n += len(`{"id":,"type":,"function":{"name":,"arguments":}}`) +
					quotedLen(c.ID) + quotedLen(c.Type) + quotedLen(c.Function.Name) + quotedLen(c.Function.Arguments)
			}
		}
	}
	return n
}

// quotedLen is the length of s as a JSON string: quoted, with its quotes, backslashes and the
// usual whitespace escapes escaped (other control characters, rarer still, are counted as one).
func quotedLen(s string) int {
	n := len(s) + 2
	for i := range len(s) {
		switch s[i] {
		case '"', '\\', '\n', '\r', '\t':
			n++
		}
	}
	return n
}

// ToolCall is an assistant's function call.
type ToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// Tool is a function the model may call.
type Tool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"` // accepted, not passed on
	} `json:"function"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
	File *struct {
		FileID string `json:"file_id"`
	} `json:"file"` // OpenAI's file part; only stored files (file_id) are taken
}

func invalid(pointer, detail string) error {
	return apperr.New(apperr.Invalid, "validation_failed", detail).
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: pointer, Detail: detail})
}

// toLLM translates the OpenAI request into the provider-neutral one (model, max tokens and the
// upstream id are filled by the caller). System and developer messages become the system
// prompt; tool results become user turns; consecutive turns of one role are merged, as the
// Messages API requires alternation. att reads the caller's attached files (nil: none may be
// attached).
func toLLM(r Request, att *attacher) (llm.Request, error) {
	out := llm.Request{Temperature: r.Temperature, TopP: r.TopP, User: r.User, NoStream: !r.Stream}
	var system []string
	for i, m := range r.Messages {
		at := fmt.Sprintf("/messages/%d", i)
		switch m.Role {
		case "system", "developer":
			text, err := plainText(m.Content, at+"/content")
			if err != nil {
				return out, err
			}
			system = append(system, text)
		case "user":
			parts, err := userParts(m.Content, at+"/content", att)
			if err != nil {
				return out, err
			}
			out.Messages = appendTurn(out.Messages, llm.User, parts)
		case "assistant":
			parts, err := assistantParts(m, at)
			if err != nil {
				return out, err
			}
			out.Messages = appendTurn(out.Messages, llm.Assistant, parts)
		case "tool":
			if m.ToolCallID == "" {
				return out, invalid(at+"/tool_call_id", "a tool message needs tool_call_id")
			}
			text, err := plainText(m.Content, at+"/content")
			if err != nil {
				return out, err
			}
			out.Messages = appendTurn(out.Messages, llm.User, []llm.Part{{Kind: llm.ToolResult, ToolUseID: m.ToolCallID, Text: text}})
		default:
			return out, invalid(at+"/role", "unknown role "+m.Role)
		}
	}
	out.System = strings.Join(system, "\n\n")
	if len(out.Messages) == 0 {
		return out, invalid("/messages", "at least one user message is needed")
	}
	var err error
	if out.Stop, err = stops(r.Stop); err != nil {
		return out, err
	}
	for _, t := range r.Tools {
		params := t.Function.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, llm.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: params})
	}
	out.ToolChoice, err = toolChoice(r.ToolChoice, r.ParallelToolCalls)
	if len(out.Tools) == 0 { // a tool choice without tools is meaningless, and upstreams refuse it
		out.ToolChoice = nil
	}
	return out, err
}

func appendTurn(turns []llm.Message, role llm.Role, parts []llm.Part) []llm.Message {
	if n := len(turns); n > 0 && turns[n-1].Role == role {
		turns[n-1].Parts = append(turns[n-1].Parts, parts...)
		return turns
	}
	return append(turns, llm.Message{Role: role, Parts: parts})
}

// plainText reads content that must be text: a string or text parts.
func plainText(content json.RawMessage, pointer string) (string, error) {
	if len(content) == 0 || string(content) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(content, &parts); err != nil {
		return "", invalid(pointer, "content must be a string or a list of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", invalid(pointer, "only text parts are allowed here")
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func userParts(content json.RawMessage, pointer string, att *attacher) ([]llm.Part, error) {
	var s string
	if json.Unmarshal(content, &s) == nil && string(content) != "null" {
		if s == "" {
			return nil, invalid(pointer, "a user message needs non-empty content")
		}
		return []llm.Part{{Kind: llm.Text, Text: s}}, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(content, &parts); err != nil || len(parts) == 0 {
		return nil, invalid(pointer, "content must be a string or a non-empty list of content parts")
	}
	out := make([]llm.Part, 0, len(parts))
	for i, p := range parts {
		at := fmt.Sprintf("%s/%d", pointer, i)
		var part llm.Part
		var err error
		switch p.Type {
		case "text":
			if p.Text == "" {
				return nil, invalid(at+"/text", "text parts must not be empty")
			}
			part = llm.Part{Kind: llm.Text, Text: p.Text}
		case "image_url":
			part, err = imagePart(p, at, att)
		case "file":
			part, err = filePart(p, at, att)
		default:
			return nil, invalid(at+"/type", "unsupported content part type "+p.Type)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, part)
	}
	return out, nil
}

// imagePart reads an image part at pointer: a stored file's ccb-file:// URL or a data URL.
func imagePart(p contentPart, pointer string, att *attacher) (llm.Part, error) {
	if p.ImageURL != nil {
		id, isFile, err := parseFileURL(p.ImageURL.URL)
		if err != nil {
			return llm.Part{}, invalid(pointer+"/image_url/url", err.Error())
		}
		if isFile {
			return att.attach(pointer, pointer+"/image_url/url", id, true)
		}
	}
	return dataURLImage(p, pointer+"/image_url/url")
}

// filePart reads OpenAI's file part at pointer, which must name a stored file by file_id.
func filePart(p contentPart, pointer string, att *attacher) (llm.Part, error) {
	ref := pointer + "/file/file_id"
	if p.File == nil || p.File.FileID == "" {
		return llm.Part{}, invalid(ref, "a file part needs file.file_id, the id of a stored file (POST /v1/files)")
	}
	id, err := uuid.Parse(p.File.FileID)
	if err != nil {
		return llm.Part{}, invalid(ref, "not a UUID")
	}
	return att.attach(pointer, ref, id, false)
}

// dataURLImage accepts images as base64 data URLs; the service fetches nothing on a client's behalf.
func dataURLImage(p contentPart, pointer string) (llm.Part, error) {
	if p.ImageURL == nil {
		return llm.Part{}, invalid(pointer, "image_url.url is required")
	}
	rest, ok := strings.CutPrefix(p.ImageURL.URL, "data:")
	meta, data, ok2 := strings.Cut(rest, ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	switch mediaType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
	default:
		ok = false
	}
	if !ok || !ok2 || !isBase64 {
		return llm.Part{}, invalid(pointer, "images must be base64 data URLs (data:image/png;base64,…) of png, jpeg, gif or webp")
	}
	if _, err := base64.StdEncoding.DecodeString(data); err != nil {
		return llm.Part{}, invalid(pointer, "the image data is not valid base64")
	}
	return llm.Part{Kind: llm.Image, MediaType: mediaType, Data: data}, nil
}

func assistantParts(m Message, at string) ([]llm.Part, error) {
	text, err := plainText(m.Content, at+"/content")
	if err != nil {
		return nil, err
	}
	var parts []llm.Part
	if text != "" {
		parts = append(parts, llm.Part{Kind: llm.Text, Text: text})
	}
	for i, tc := range m.ToolCalls {
		args := json.RawMessage(tc.Function.Arguments)
		if len(args) == 0 {
			args = json.RawMessage(`{}`)
		}
		var obj map[string]any
		if err := json.Unmarshal(args, &obj); err != nil {
			return nil, invalid(fmt.Sprintf("%s/tool_calls/%d/function/arguments", at, i), "arguments must be a JSON object")
		}
		parts = append(parts, llm.Part{Kind: llm.ToolUse, ToolUseID: tc.ID, ToolName: tc.Function.Name, Input: args})
	}
	if len(parts) == 0 {
		return nil, invalid(at+"/content", "an assistant message needs content or tool_calls")
	}
	return parts, nil
}

func stops(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, invalid("/stop", "stop must be a string or a list of strings")
	}
	return many, nil
}

func toolChoice(raw json.RawMessage, parallel *bool) (*llm.ToolChoice, error) {
	disable := parallel != nil && !*parallel
	if len(raw) == 0 || string(raw) == "null" {
		if disable {
			return &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: true}, nil
		}
		return nil, nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		m := map[string]llm.ToolChoiceMode{"none": llm.ToolChoiceNone, "auto": llm.ToolChoiceAuto, "required": llm.ToolChoiceRequired}[mode]
		if m == "" {
			return nil, invalid("/tool_choice", "tool_choice must be none, auto, required or a named function")
		}
		return &llm.ToolChoice{Mode: m, DisableParallel: disable}, nil
	}
	var named struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Function.Name == "" {
		return nil, invalid("/tool_choice", "a named tool_choice needs function.name")
	}
	return &llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: named.Function.Name, DisableParallel: disable}, nil
}
