package llm

import (
	"encoding/json"
	"fmt"
)

// The Messages request body, built with encoding/json on these structs rather than through the
// SDK's param types: those marshal through reflection over unions and "omitzero" options, which
// cost about 9% of the relay's CPU at saturation. TestAnthropicBodyMatchesTheSDK proves the two
// encodings equal for a table of requests.

type messagesBody struct {
	Model         string          `json:"model"`
	MaxTokens     int64           `json:"max_tokens"`
	Messages      []bodyMessage   `json:"messages,omitempty"` // omitted when empty, as the SDK does
	System        []bodyBlock     `json:"system,omitempty"`
	Metadata      *bodyMetadata   `json:"metadata,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Tools         []bodyTool      `json:"tools,omitempty"`
	ToolChoice    *bodyToolChoice `json:"tool_choice,omitempty"`
	Stream        bool            `json:"stream"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
}

type bodyMessage struct {
	Role    Role        `json:"role"`
	Content []bodyBlock `json:"content"`
}

// bodyBlock is any content block; each kind sets only its own fields.
type bodyBlock struct {
	Type   string      `json:"type"`
	Text   *string     `json:"text,omitempty"`   // text
	Source *bodySource `json:"source,omitempty"` // image, document
	Title  string      `json:"title,omitempty"`  // document

	ID    string          `json:"id,omitempty"`    // tool_use
	Name  string          `json:"name,omitempty"`  // tool_use
	Input json.RawMessage `json:"input,omitempty"` // tool_use

	ToolUseID string      `json:"tool_use_id,omitempty"` // tool_result
	Content   []bodyBlock `json:"content,omitempty"`     // tool_result
	IsError   *bool       `json:"is_error,omitempty"`    // tool_result
}

type bodySource struct {
	Type      string `json:"type"` // base64 or text
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type bodyMetadata struct {
	UserID string `json:"user_id"`
}

type bodyTool struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	InputSchema map[string]json.RawMessage `json:"input_schema"`
}

type bodyToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// anthropicBody is the Messages request body for req: streamed unless req.NoStream.
func anthropicBody(req Request) ([]byte, error) {
	b := messagesBody{Model: req.Model, MaxTokens: int64(req.MaxTokens), StopSequences: req.Stop, Stream: !req.NoStream,
		Temperature: req.Temperature, TopP: req.TopP, Messages: make([]bodyMessage, 0, len(req.Messages))}
	if b.MaxTokens <= 0 {
		b.MaxTokens = defaultMaxTokens
	}
	if req.System != "" {
		b.System = []bodyBlock{textBlock(req.System)}
	}
	if req.User != "" {
		b.Metadata = &bodyMetadata{UserID: req.User}
	}
	for i, m := range req.Messages {
		if m.Role != User && m.Role != Assistant {
			return nil, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
		blocks, err := bodyBlocks(m.Parts)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		b.Messages = append(b.Messages, bodyMessage{Role: m.Role, Content: blocks})
	}
	for _, t := range req.Tools {
		schema, err := bodySchema(t.Parameters)
		if err != nil {
			return nil, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		b.Tools = append(b.Tools, bodyTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	if tc := req.ToolChoice; tc != nil {
		b.ToolChoice = bodyChoice(*tc)
	}
	return json.Marshal(b)
}

func textBlock(text string) bodyBlock { return bodyBlock{Type: "text", Text: &text} }

// bodyBlocks translates content parts into content blocks.
func bodyBlocks(parts []Part) ([]bodyBlock, error) {
	blocks := make([]bodyBlock, 0, len(parts))
	for _, part := range parts {
		switch part.Kind {
		case Text:
			blocks = append(blocks, textBlock(part.Text))
		case Image:
			blocks = append(blocks, bodyBlock{Type: "image", Source: &bodySource{Type: "base64", MediaType: part.MediaType, Data: part.Data}})
		case Document:
			// A PDF as a base64 source, a text file as a plain-text source, titled with the
			// file's name so the model can tell attachments apart.
			src := &bodySource{Type: "base64", MediaType: part.MediaType, Data: part.Data}
			switch part.MediaType {
			case "application/pdf":
			case "text/plain":
				src.Type = "text"
			default:
				return nil, fmt.Errorf("document of unsupported media type %q", part.MediaType)
			}
			blocks = append(blocks, bodyBlock{Type: "document", Source: src, Title: part.Title})
		case ToolUse:
			input := part.Input
			if len(input) == 0 {
				input = json.RawMessage(`{}`)
			}
			if !json.Valid(input) {
				return nil, fmt.Errorf("tool_use %q: input is not valid JSON", part.ToolUseID)
			}
			blocks = append(blocks, bodyBlock{Type: "tool_use", ID: part.ToolUseID, Name: part.ToolName, Input: input})
		case ToolResult:
			isError := part.IsError
			blocks = append(blocks, bodyBlock{Type: "tool_result", ToolUseID: part.ToolUseID,
				Content: []bodyBlock{textBlock(part.Text)}, IsError: &isError})
		default:
			return nil, fmt.Errorf("unknown content kind %q", part.Kind)
		}
	}
	return blocks, nil
}

// bodySchema turns a tool's JSON Schema into input_schema, keeping every keyword verbatim:
// "type" is always "object" for tools, "properties" is never absent (input_schema needs it),
// "required" keeps its strings, and a keyword named "" (meaningless to JSON Schema) is dropped.
func bodySchema(raw json.RawMessage) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("parameters must be a JSON object schema: %w", err)
		}
		if m == nil { // "null": no parameters
			m = map[string]json.RawMessage{}
		}
	}
	if p, ok := m["properties"]; !ok || string(p) == "null" {
		m["properties"] = json.RawMessage(`{}`)
	}
	if r, ok := m["required"]; ok {
		delete(m, "required")
		var list []any
		var names []string
		if json.Unmarshal(r, &list) == nil {
			for _, v := range list {
				if s, ok := v.(string); ok {
					names = append(names, s)
				}
			}
		}
		if len(names) > 0 {
			m["required"], _ = json.Marshal(names)
		}
	}
	delete(m, "")
	m["type"] = json.RawMessage(`"object"`)
	return m, nil
}

// bodyChoice translates the neutral tool choice; an empty mode means auto.
func bodyChoice(tc ToolChoice) *bodyToolChoice {
	c := &bodyToolChoice{Type: "auto", DisableParallelToolUse: tc.DisableParallel}
	switch tc.Mode {
	case ToolChoiceNone:
		return &bodyToolChoice{Type: "none"}
	case ToolChoiceRequired:
		c.Type = "any"
	case ToolChoiceNamed:
		c.Type, c.Name = "tool", tc.Name
	}
	return c
}
