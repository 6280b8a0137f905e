package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
)

// defaultMaxTokens is sent when a request leaves MaxTokens unset, because the Messages API
// requires the field while OpenAI clients commonly omit it.
const defaultMaxTokens = 4096

// Anthropic is the Provider for the Anthropic Messages API, through the official SDK.
type Anthropic struct {
	client anthropic.Client
	apiKey string // kept only to scrub it from error text
}

var _ Provider = (*Anthropic)(nil)

// NewAnthropic returns a provider for the Messages API at baseURL (the production API when
// empty). Nothing is read from ANTHROPIC_* variables: the config layer passes what it wants.
// The SDK does not retry (the Router does, and must see every failure), and httpClient
// (http.DefaultClient's settings when nil) should carry no overall timeout, since streams are
// long-lived; the request's context bounds each call instead.
func NewAnthropic(apiKey, baseURL string, httpClient *http.Client) *Anthropic {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(apiKey),
		option.WithHTTPClient(httpClient),
		option.WithMaxRetries(0),
	}
	if baseURL != "" {
		opts = append(opts, option.WithBaseURL(baseURL))
	}
	return &Anthropic{client: anthropic.NewClient(opts...), apiKey: apiKey}
}

// Name implements Provider.
func (a *Anthropic) Name() string { return "anthropic" }

// Describe implements Provider: the body is the SDK's own encoding of the params Stream sends.
func (a *Anthropic) Describe(req Request) (json.RawMessage, error) {
	params, err := anthropicParams(req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(params)
}

// Stream implements Provider. It returns once the upstream answered with its headers, so HTTP
// errors (429, 529, 5xx, 4xx) and connection failures come back here as *Error.
func (a *Anthropic) Stream(ctx context.Context, req Request) (Stream, error) {
	params, err := anthropicParams(req)
	if err != nil {
		return nil, err
	}
	// Our own cancel lets Close abort the upstream request even when the caller's ctx lives on.
	ctx, cancel := context.WithCancel(ctx)
	// What Messages.NewStreaming sends (params already carry "stream": true), but the events
	// are decoded by anthropicStream (see anthropicEvent) rather than into the SDK's union type.
	var resp *http.Response
	err = a.client.Post(ctx, "v1/messages", params, &resp)
	if err != nil {
		e := a.classify(ctx, err) // before cancel, which would make it look like the caller's
		if resp != nil {
			_ = resp.Body.Close()
		}
		cancel()
		return nil, e
	}
	return &anthropicStream{p: a, ctx: ctx, cancel: cancel, events: ssestream.NewDecoder(resp), toolIndex: map[int64]int{},
		requestID: resp.Header.Get("Request-Id")}, nil
}

// classify turns an SDK or transport error into an *Error without upstream bodies or secrets.
func (a *Anthropic) classify(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return contextError(a.Name(), context.Cause(ctx))
	}
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		return a.apiError(apiErr.StatusCode, string(apiErr.Type()), apiErr.Message, err)
	}
	return connError(a.Name(), a.apiKey, "upstream connection failed", err)
}

// apiError is an error the API reported: an HTTP status, or an error event inside a 200 stream,
// which gets the status its type carries over HTTP.
func (a *Anthropic) apiError(status int, typ, msg string, cause error) *Error {
	if status < 400 {
		status = anthropicTypeStatus(typ)
	}
	e := statusError(a.Name(), a.apiKey, status, typ, msg, cause)
	if typ == "overloaded_error" || typ == "api_error" || typ == "rate_limit_error" {
		e.Retryable = true
	}
	return e
}

// anthropicTypeStatus maps Anthropic's documented error types to their HTTP statuses.
func anthropicTypeStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "overloaded_error":
		return StatusOverloaded
	default: // api_error and anything new
		return http.StatusInternalServerError
	}
}

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
	extra := map[string]any{"stream": true}
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
