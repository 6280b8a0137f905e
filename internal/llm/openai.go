package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// OpenAICompatible is the Provider for any OpenAI Chat Completions upstream (vLLM, Ollama,
// OpenRouter, OpenAI itself), through the official openai-go SDK.
type OpenAICompatible struct {
	name   string
	apiKey string // kept only to scrub it from error text
	chat   openai.ChatCompletionService
}

var _ Provider = (*OpenAICompatible)(nil)

// NewOpenAI returns a provider called name for the upstream at baseURL, which must include the
// /v1 path (e.g. http://localhost:11434/v1). Only the service is built, not a full client,
// because openai.NewClient reads OPENAI_* variables and we take configuration from our caller
// alone. The SDK does not retry; the Router does.
func NewOpenAI(name, apiKey, baseURL string, httpClient *http.Client) *OpenAICompatible {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	opts := []option.RequestOption{
		option.WithBaseURL(baseURL),
		option.WithAPIKey(apiKey),
		option.WithHTTPClient(httpClient),
		option.WithMaxRetries(0),
	}
	return &OpenAICompatible{name: name, apiKey: apiKey, chat: openai.NewChatCompletionService(opts...)}
}

// Name implements Provider.
func (o *OpenAICompatible) Name() string { return o.name }

// Describe implements Provider.
func (o *OpenAICompatible) Describe(req Request) (json.RawMessage, error) {
	params, err := openaiParams(req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(params)
}

// Stream implements Provider; like Anthropic's, it returns once the upstream sent its headers.
func (o *OpenAICompatible) Stream(ctx context.Context, req Request) (Stream, error) {
	params, err := openaiParams(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sdk := o.chat.NewStreaming(ctx, params)
	if err := sdk.Err(); err != nil {
		e := o.classify(ctx, err)
		_ = sdk.Close()
		cancel()
		return nil, e
	}
	return &openaiStream{p: o, ctx: ctx, cancel: cancel, sdk: sdk, toolIndex: map[int64]int{}}, nil
}

// classify turns an SDK or transport error into an *Error without upstream bodies or secrets.
func (o *OpenAICompatible) classify(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return contextError(o.name, context.Cause(ctx))
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return statusError(o.name, o.apiKey, apiErr.StatusCode, apiErr.Type, apiErr.Message, err)
	}
	var streamErr *ssestream.StreamError
	if errors.As(err, &streamErr) {
		// An error object inside a 200 stream: the upstream gave up mid-answer. Only its
		// parsed type and message are kept; the SDK's own text embeds the raw event.
		var body struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(streamErr.Event.Data, &body)
		typ, msg := body.Error.Type, body.Error.Message
		e := connError(o.name, o.apiKey, "upstream stream error", nil)
		e.Message = strings.TrimSpace(e.Message + ": " + redact(typ+" "+msg, o.apiKey))
		e.Overloaded = strings.Contains(typ, "overloaded")
		e.Err = err
		return e
	}
	return connError(o.name, o.apiKey, "upstream connection failed", err)
}

// openaiParams translates a Request into Chat Completions params.
func openaiParams(req Request) (openai.ChatCompletionNewParams, error) {
	p := openai.ChatCompletionNewParams{
		Model:         shared.ChatModel(req.Model),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)},
	}
	if req.MaxTokens > 0 {
		// max_tokens rather than max_completion_tokens: the compatible servers all know it.
		p.MaxTokens = param.NewOpt(int64(req.MaxTokens))
	}
	if req.Temperature != nil {
		p.Temperature = param.NewOpt(*req.Temperature)
	}
	if req.TopP != nil {
		p.TopP = param.NewOpt(*req.TopP)
	}
	if len(req.Stop) > 0 {
		p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: req.Stop}
	}
	if req.User != "" {
		p.User = param.NewOpt(req.User)
	}
	if req.System != "" {
		p.Messages = append(p.Messages, openai.SystemMessage(req.System))
	}
	for i, m := range req.Messages {
		msgs, err := openaiMessages(m)
		if err != nil {
			return p, fmt.Errorf("message %d: %w", i, err)
		}
		p.Messages = append(p.Messages, msgs...)
	}
	for _, t := range req.Tools {
		fn := shared.FunctionDefinitionParam{Name: t.Name}
		if t.Description != "" {
			fn.Description = param.NewOpt(t.Description)
		}
		fn.Parameters = shared.FunctionParameters{"type": "object", "properties": map[string]any{}}
		if len(t.Parameters) > 0 {
			if err := json.Unmarshal(t.Parameters, &fn.Parameters); err != nil {
				return p, fmt.Errorf("tool %q: parameters must be a JSON object schema: %w", t.Name, err)
			}
		}
		p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(fn))
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case ToolChoiceNone:
			p.ToolChoice.OfAuto = param.NewOpt("none")
		case ToolChoiceRequired:
			p.ToolChoice.OfAuto = param.NewOpt("required")
		case ToolChoiceNamed:
			p.ToolChoice = openai.ToolChoiceOptionFunctionToolChoice(
				openai.ChatCompletionNamedToolChoiceFunctionParam{Name: tc.Name})
		default:
			p.ToolChoice.OfAuto = param.NewOpt("auto")
		}
		if tc.DisableParallel && len(req.Tools) > 0 {
			p.ParallelToolCalls = param.NewOpt(false)
		}
	}
	// The SDK adds "stream" when sending; having it here too makes Describe show the wire body.
	p.SetExtraFields(map[string]any{"stream": true})
	return p, nil
}

// openaiDocument passes a PDF as Chat Completions' file part (inline base64 data, as OpenAI
// documents it; a compatible server without PDF support refuses it upstream, which the client
// sees as a 400) and a text file as a text part headed by the file's name, which every server
// understands.
func openaiDocument(part Part) openai.ChatCompletionContentPartUnionParam {
	if part.MediaType == "application/pdf" {
		file := openai.ChatCompletionContentPartFileFileParam{FileData: param.NewOpt("data:application/pdf;base64," + part.Data)}
		if part.Title != "" {
			file.Filename = param.NewOpt(part.Title)
		}
		return openai.FileContentPart(file)
	}
	return openai.TextContentPart("File " + strconv.Quote(part.Title) + ":\n\n" + part.Data)
}

// openaiMessages translates one turn. A user turn carrying tool results becomes one "tool"
// message per result (first, since they must follow the assistant's tool_calls), then a user
// message with whatever else it holds.
func openaiMessages(m Message) ([]openai.ChatCompletionMessageParamUnion, error) {
	switch m.Role {
	case User:
		var out []openai.ChatCompletionMessageParamUnion
		var parts []openai.ChatCompletionContentPartUnionParam
		for _, part := range m.Parts {
			switch part.Kind {
			case ToolResult:
				content := part.Text
				if part.IsError {
					// Chat Completions has no error flag; say it in the content.
					content = "Error: " + content
				}
				out = append(out, openai.ToolMessage(content, part.ToolUseID))
			case Text:
				parts = append(parts, openai.TextContentPart(part.Text))
			case Image:
				parts = append(parts, openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{
					URL: "data:" + part.MediaType + ";base64," + part.Data,
				}))
			case Document:
				parts = append(parts, openaiDocument(part))
			default:
				return nil, fmt.Errorf("content kind %q not allowed in a user turn", part.Kind)
			}
		}
		switch {
		case len(parts) == 1 && parts[0].OfText != nil:
			// Plain string content is what the simplest servers understand.
			out = append(out, openai.UserMessage(parts[0].OfText.Text))
		case len(parts) > 0:
			out = append(out, openai.UserMessage(parts))
		}
		return out, nil
	case Assistant:
		var msg openai.ChatCompletionAssistantMessageParam
		var text strings.Builder
		for _, part := range m.Parts {
			switch part.Kind {
			case Text:
				text.WriteString(part.Text)
			case ToolUse:
				args := string(part.Input)
				if args == "" {
					args = "{}"
				}
				msg.ToolCalls = append(msg.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID:       part.ToolUseID,
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: part.ToolName, Arguments: args},
					},
				})
			default:
				return nil, fmt.Errorf("content kind %q not allowed in an assistant turn", part.Kind)
			}
		}
		if text.Len() > 0 {
			msg.Content.OfString = param.NewOpt(text.String())
		}
		return []openai.ChatCompletionMessageParamUnion{{OfAssistant: &msg}}, nil
	default:
		return nil, fmt.Errorf("unknown role %q", m.Role)
	}
}
