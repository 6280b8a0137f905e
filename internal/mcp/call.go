package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Tools lists the server's tools after its allowlist: from the shared cache unless refresh, live
// otherwise (and the cache is rewritten).
func (p *Pool) Tools(ctx context.Context, user uuid.UUID, s Server, refresh bool) ([]Tool, error) {
	if !refresh {
		if tools, ok := p.cache.get(ctx, s); ok {
			return allowedTools(s, tools), nil
		}
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
	defer cancel()
	var tools []Tool
	err := p.do(cctx, user, s, func(cs *sdk.ClientSession) (err error) {
		tools, err = listTools(cctx, cs)
		return err
	})
	if err != nil {
		return nil, mapError(cctx, err)
	}
	p.cache.set(ctx, s, tools)
	return allowedTools(s, tools), nil
}

// Call runs one tool after checking args against its input schema. The call is bounded by
// CCB_MCP_CALL_TIMEOUT; cancelling ctx cancels it at the server too (the SDK sends
// notifications/cancelled) and returns an error wrapping ErrCancelled.
func (p *Pool) Call(ctx context.Context, user uuid.UUID, s Server, tool string, args json.RawMessage) (Result, error) {
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	tools, err := p.Tools(ctx, user, s, false)
	if err != nil {
		return Result{}, err
	}
	var def *Tool
	for i := range tools {
		if tools[i].Name == tool {
			def = &tools[i]
		}
	}
	if def == nil {
		return Result{}, apperr.New(apperr.NotFound, CodeToolNotFound, fmt.Sprintf("the server has no tool %q that may be used", tool))
	}
	if err := p.schemas.validate(def.InputSchema, args); err != nil {
		return Result{}, err
	}
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
	defer cancel()
	var res *sdk.CallToolResult
	err = p.do(cctx, user, s, func(cs *sdk.ClientSession) (err error) {
		res, err = cs.CallTool(cctx, &sdk.CallToolParams{Name: tool, Arguments: args})
		return err
	})
	if err != nil {
		return Result{}, mapError(cctx, err)
	}
	out, err := toResult(res)
	if err != nil {
		return Result{}, mapError(cctx, err)
	}
	out.Duration = time.Since(start)
	return out, nil
}

// Test connects and initializes afresh — not through the pool, so it reports the server as it is
// now (and its latency includes the handshake) — then counts the allowed tools. The fresh list
// also refreshes the shared cache.
func (p *Pool) Test(ctx context.Context, user uuid.UUID, s Server) (Info, error) {
	cctx, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
	defer cancel()
	start := time.Now()
	cs, err := p.connect(cctx, s)
	if err != nil {
		return Info{}, mapError(cctx, err)
	}
	defer func() { go cs.Close() }()
	latency := time.Since(start)
	tools, err := listTools(cctx, cs)
	if err != nil {
		return Info{}, mapError(cctx, err)
	}
	p.cache.set(ctx, s, tools)
	info := Info{Latency: latency, ToolCount: len(allowedTools(s, tools))}
	if ir := cs.InitializeResult(); ir != nil {
		info.ProtocolVersion = ir.ProtocolVersion
		if ir.ServerInfo != nil {
			info.ServerName, info.ServerVersion = ir.ServerInfo.Name, ir.ServerInfo.Version
		}
	}
	return info, nil
}

// do runs f on the pooled session of (user, s). When the session turns out to be gone (closed, or
// forgotten by a restarted server) it is dropped and f runs once more on a new one; a second
// failure surfaces.
func (p *Pool) do(ctx context.Context, user uuid.UUID, s Server, f func(*sdk.ClientSession) error) error {
	for attempt := 0; ; attempt++ {
		e, err := p.acquire(ctx, user, s)
		if err != nil {
			return err
		}
		err = f(e.cs)
		p.release(e)
		if err != nil && sessionGone(err, e.cs) {
			p.discard(e)
			if attempt == 0 && ctx.Err() == nil {
				p.log.InfoContext(ctx, "mcp: session gone, reconnecting", "server_id", s.ID, "err", err)
				continue
			}
		}
		return err
	}
}

func listTools(ctx context.Context, cs *sdk.ClientSession) ([]Tool, error) {
	var tools []Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		schema, err := json.Marshal(t.InputSchema)
		if err != nil {
			return nil, err
		}
		tools = append(tools, Tool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	return tools, nil
}

func toResult(res *sdk.CallToolResult) (Result, error) {
	out := Result{IsError: res.IsError, Content: make([]json.RawMessage, 0, len(res.Content))}
	for _, c := range res.Content {
		raw, err := json.Marshal(c)
		if err != nil {
			return Result{}, err
		}
		out.Content = append(out.Content, raw)
	}
	if res.StructuredContent != nil {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return Result{}, err
		}
		out.StructuredContent = raw
	}
	return out, nil
}
