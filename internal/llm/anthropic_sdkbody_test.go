package llm

import (
	"encoding/json"
	"fmt"

	"github.com/anthropics/anthropic-sdk-go/v2"
)

// The request body as the SDK's param types encode it: what the provider sent before it built
// the body itself (anthropic_body.go). Kept as the reference TestAnthropicBodyMatchesTheSDK
// compares with.

// anthropicParams translates a Request into the SDK's Messages params.
func anthropicParams(req Request) (anthropic.MessageNewParams, error) {
	p := anthropic.MessageNewParams{
		Model:         anthropic.Model(req.Model),
		MaxTokens:     int64(req.MaxTokens),
		StopSequences: req.Stop,
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = defaultMaxTokens
	}
	if req.System != "" {
		p.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	if req.User != "" {
		p.Metadata = anthropic.MetadataParam{UserID: anthropic.String(req.User)}
	}
	for i, m := range req.Messages {
		blocks, err := anthropicBlocks(m.Parts)
		if err != nil {
			return p, fmt.Errorf("message %d: %w", i, err)
		}
		switch m.Role {
		case User:
			p.Messages = append(p.Messages, anthropic.NewUserMessage(blocks...))
		case Assistant:
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(blocks...))
		default:
			return p, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
	}
	for _, t := range req.Tools {
		schema, err := anthropicSchema(t.Parameters)
		if err != nil {
			return p, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		tool := anthropic.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tool.Description = anthropic.String(t.Description)
		}
		p.Tools = append(p.Tools, anthropic.ToolUnionParam{OfTool: &tool})
	}
	if req.ToolChoice != nil {
		p.ToolChoice = anthropicToolChoice(*req.ToolChoice)
	}
	// This SDK version has no sampling fields (newer models reject them), yet the API accepts
	// them for the models that do; extra fields keep Describe and the wire body identical.
	// "stream" is included so that Describe shows the body Stream really sends.
	extra := map[string]any{"stream": !req.NoStream}
	if req.Temperature != nil {
		extra["temperature"] = *req.Temperature
	}
	if req.TopP != nil {
		extra["top_p"] = *req.TopP
	}
	p.SetExtraFields(extra)
	return p, nil
}

// anthropicBlocks translates content parts into SDK content blocks.
func anthropicBlocks(parts []Part) ([]anthropic.ContentBlockParamUnion, error) {
	blocks := make([]anthropic.ContentBlockParamUnion, 0, len(parts))
	for _, part := range parts {
		switch part.Kind {
		case Text:
			blocks = append(blocks, anthropic.NewTextBlock(part.Text))
		case Image:
			blocks = append(blocks, anthropic.NewImageBlockBase64(part.MediaType, part.Data))
		case Document:
			doc, err := anthropicDocument(part)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, doc)
		case ToolUse:
			input := part.Input
			if len(input) == 0 {
				input = json.RawMessage(`{}`)
			}
			if !json.Valid(input) {
				return nil, fmt.Errorf("tool_use %q: input is not valid JSON", part.ToolUseID)
			}
			blocks = append(blocks, anthropic.NewToolUseBlock(part.ToolUseID, input, part.ToolName))
		case ToolResult:
			blocks = append(blocks, anthropic.NewToolResultBlock(part.ToolUseID, part.Text, part.IsError))
		default:
			return nil, fmt.Errorf("unknown content kind %q", part.Kind)
		}
	}
	return blocks, nil
}

// anthropicDocument is a document block: a PDF as a base64 source, a text file as a plain-text
// source, titled with the file's name so the model can tell attachments apart.
func anthropicDocument(part Part) (anthropic.ContentBlockParamUnion, error) {
	var block anthropic.ContentBlockParamUnion
	switch part.MediaType {
	case "application/pdf":
		block = anthropic.NewDocumentBlock(anthropic.Base64PDFSourceParam{Data: part.Data})
	case "text/plain":
		block = anthropic.NewDocumentBlock(anthropic.PlainTextSourceParam{Data: part.Data})
	default:
		return block, fmt.Errorf("document of unsupported media type %q", part.MediaType)
	}
	if part.Title != "" {
		block.OfDocument.Title = anthropic.String(part.Title)
	}
	return block, nil
}

// anthropicSchema turns a JSON Schema into the SDK's input_schema, keeping every keyword
// (properties and required have typed fields; the rest, e.g. $defs, travel as extras).
func anthropicSchema(raw json.RawMessage) (anthropic.ToolInputSchemaParam, error) {
	// Properties is never left empty: a zero schema would be omitted altogether, and
	// input_schema is required.
	schema := anthropic.ToolInputSchemaParam{Properties: map[string]any{}}
	if len(raw) == 0 {
		return schema, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return schema, fmt.Errorf("parameters must be a JSON object schema: %w", err)
	}
	if props, ok := m["properties"]; ok && props != nil {
		schema.Properties = props
	}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				schema.Required = append(schema.Required, s)
			}
		}
	}
	delete(m, "properties")
	delete(m, "required")
	delete(m, "type") // always "object" for tools
	// A keyword named "" means nothing to JSON Schema (unknown keywords are ignored), and the SDK
	// cannot carry it as an extra field (sjson: "path cannot be empty"), which failed the whole
	// request as a 500 although the contract admits it (found by FuzzChatTranslation).
	delete(m, "")
	if len(m) > 0 {
		schema.ExtraFields = m
	}
	return schema, nil
}

// anthropicToolChoice translates the neutral tool choice; an empty mode means auto.
func anthropicToolChoice(tc ToolChoice) anthropic.ToolChoiceUnionParam {
	var disable anthropic.ToolChoiceAutoParam
	if tc.DisableParallel {
		disable.DisableParallelToolUse = anthropic.Bool(true)
	}
	switch tc.Mode {
	case ToolChoiceNone:
		none := anthropic.NewToolChoiceNoneParam()
		return anthropic.ToolChoiceUnionParam{OfNone: &none}
	case ToolChoiceRequired:
		return anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{
			DisableParallelToolUse: disable.DisableParallelToolUse,
		}}
	case ToolChoiceNamed:
		return anthropic.ToolChoiceUnionParam{OfTool: &anthropic.ToolChoiceToolParam{
			Name: tc.Name, DisableParallelToolUse: disable.DisableParallelToolUse,
		}}
	default:
		return anthropic.ToolChoiceUnionParam{OfAuto: &disable}
	}
}
