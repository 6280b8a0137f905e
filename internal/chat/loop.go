package chat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/ccbackend/ccbackend/internal/llm"
)

// Event is one thing a Generation yields: an upstream event (text, a client tool call, the
// stop), or, with Tool set, a backend tool being called or answering.
type Event struct {
	llm.Event
	Tool *ToolEvent
}

// The tool loop. A turn is a sequence of steps, each one upstream request. When a step stops
// for tool_use and calls backend tools, those are executed one after the other (each announced
// by a tool_use event, then its tool_result event) and another step starts with the results,
// until the model answers, calls a client tool, or the limits end the turn:
//   - Step limit (ToolLoop.MaxSteps upstream requests) or the turn deadline (TurnTimeout)
//     reached while the model still asks for backend tools: the turn ends with what exists,
//     finish_reason "length"; the unexecuted calls are neither run nor returned.
//   - Mixed step (backend and client tools in one step): the backend calls are executed and
//     recorded, then the turn ends with the client's calls as tool_calls (finish_reason
//     "tool_calls"). The session stores the step with every call and the backend results, so a
//     follow-up with use_session_history sends the model both kinds of result.
// Backend tool calls never reach the client as tool_calls; client tool calls are renumbered
// among themselves.

// toolCallPlan is a backend call waiting to run.
type toolCallPlan struct {
	call      ToolCall
	tool      HostTool
	announced bool // its tool_use event went out
}

// toolOutcome is an executed backend call: the record, and the text the model gets.
type toolOutcome struct {
	exec ToolExecution
	text string
}

// step is a finished step of the loop.
type step struct {
	ans     *answer
	results []toolOutcome
}

// filter decides what of an upstream event the client sees; false hides it (backend tool calls,
// and the stop of a step the loop continues).
func (g *Generation) filter(e llm.Event) (Event, bool) {
	if g.tools == nil {
		return Event{Event: e}, true
	}
	switch e.Kind {
	case llm.EventToolCallStart:
		if _, ok := g.tools.lookup(e.ToolName); ok {
			g.hidden[e.ToolIndex] = true
			return Event{}, false
		}
		n := len(g.clientIndex)
		g.clientIndex[e.ToolIndex] = n
		e.ToolIndex = n
	case llm.EventToolArgsDelta:
		if g.hidden[e.ToolIndex] {
			return Event{}, false
		}
		e.ToolIndex = g.clientIndex[e.ToolIndex]
	case llm.EventStop:
		if len(g.hidden) == 0 || e.StopReason != llm.StopToolUse {
			break
		}
		if g.steps >= g.loop.maxSteps() {
			g.limited = true
			break
		}
		for i, tc := range g.ans.toolCalls {
			if g.hidden[i] {
				tool, _ := g.tools.lookup(tc.Function.Name)
				g.todo = append(g.todo, toolCallPlan{call: tc, tool: tool})
			}
		}
		if len(g.clientIndex) > 0 {
			held := Event{Event: e}
			g.held = &held
		} else {
			g.another = true
		}
		return Event{}, false
	}
	return Event{Event: e}, true
}

// advance announces or runs the first planned call and returns its event.
func (g *Generation) advance() Event {
	p := &g.todo[0]
	if !p.announced {
		p.announced = true
		return Event{Tool: &ToolEvent{Type: "tool_use", ID: p.call.ID, Server: p.tool.ServerID.String(), Name: p.tool.Name,
			Input: objectOrEmpty(p.call.Function.Arguments)}}
	}
	out := g.execute(*p)
	g.todo = g.todo[1:]
	g.current = append(g.current, out)
	isError, ms := out.exec.Result.IsError, float64(out.exec.Duration.Microseconds())/1000
	content := out.exec.Result.Content
	if content == nil {
		content = []json.RawMessage{}
	}
	return Event{Tool: &ToolEvent{Type: "tool_result", ID: p.call.ID, Server: p.tool.ServerID.String(), Name: p.tool.Name,
		Content: content, IsError: &isError, DurationMs: &ms}}
}

// nextStep folds the finished step and sends the next upstream request with the tool results.
// It returns a synthetic stop (true) when the turn deadline passed meanwhile, and false when the
// turn must end (cancelled, or the upstream refused).
func (g *Generation) nextStep() (Event, bool) {
	if err := g.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && g.parent.Err() == nil {
			g.limited, g.over = true, true
			return Event{Event: llm.Event{Kind: llm.EventStop, StopReason: g.ans.stop, RawStopReason: g.ans.rawStop}}, true
		}
		g.err = err
		return Event{}, false
	}
	assistant := []llm.Part{}
	if t := g.ans.text.String(); t != "" {
		assistant = append(assistant, llm.Part{Kind: llm.Text, Text: t})
	}
	for _, tc := range g.ans.toolCalls {
		assistant = append(assistant, llm.Part{Kind: llm.ToolUse, ToolUseID: tc.ID, ToolName: tc.Function.Name, Input: objectOrEmpty(tc.Function.Arguments)})
	}
	results := make([]llm.Part, 0, len(g.current))
	for _, r := range g.current {
		results = append(results, llm.Part{Kind: llm.ToolResult, ToolUseID: r.exec.CallID, Text: r.text, IsError: r.exec.Result.IsError})
	}
	g.lr.Messages = append(g.lr.Messages, llm.Message{Role: llm.Assistant, Parts: assistant}, llm.Message{Role: llm.User, Parts: results})
	// A forced tool (required or named) applies to the first step; forcing it again would loop
	// until the step limit.
	if tc := g.lr.ToolChoice; tc != nil && (tc.Mode == llm.ToolChoiceRequired || tc.Mode == llm.ToolChoiceNamed) {
		g.lr.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: tc.DisableParallel}
	}
	g.fold()
	_ = g.stream.Close()
	stream, err := g.svc.upstream.Stream(g.ctx, g.lr)
	if err != nil {
		g.err, g.over = err, true
		return Event{}, false
	}
	g.stream = stream
	g.steps++
	return Event{}, true
}

// fold moves the current step into the finished ones and starts an empty one.
func (g *Generation) fold() {
	g.done = append(g.done, step{ans: g.ans, results: g.current})
	g.total = addUsage(g.total, g.ans.usage)
	g.cost = addCost(g.cost, price(g.model.Pricing, g.ans.usage))
	g.ans, g.current = &answer{}, nil
	g.hidden, g.clientIndex = map[int]bool{}, map[int]int{}
}

// execute runs one backend call and records it; whatever happens becomes a result for the model.
func (g *Generation) execute(p toolCallPlan) toolOutcome {
	host := g.svc.loop.Host
	exec := ToolExecution{ID: newID(), CallID: p.call.ID, UserID: g.caller.UserID, SessionID: g.sessionID, Tool: p.tool,
		Arguments: objectOrEmpty(p.call.Function.Arguments), At: g.svc.now()}
	var obj map[string]any
	if err := json.Unmarshal([]byte(orEmptyObject(p.call.Function.Arguments)), &obj); err != nil {
		raw, _ := json.Marshal(map[string]string{"unparsed": p.call.Function.Arguments}) // the list stores objects
		exec.Arguments = raw
		exec.Status, exec.Result = ToolFailed, errorResult("the arguments are not a JSON object")
	} else {
		start := g.svc.now()
		res, err := host.Call(g.ctx, g.caller.UserID, p.tool, exec.Arguments)
		exec.Duration = g.svc.now().Sub(start)
		exec.Status, exec.Result = toolStatus(res, err)
	}
	// Recorded off the loop's path (a commit costs milliseconds). An exchange stored in a
	// session waits for it before it is stored, so the list is complete when the answer ends;
	// otherwise only shutdown waits (Service.Wait).
	g.recording.Add(1)
	g.svc.pending.Add(1)
	go func(ctx context.Context) {
		defer g.svc.pending.Done()
		defer g.recording.Done()
		if err := host.Record(ctx, exec); err != nil {
			g.svc.log.Error("recording a tool call failed", slog.String("tool", p.tool.Name), slog.String("error", err.Error()))
		}
	}(context.WithoutCancel(g.ctx))
	return toolOutcome{exec: exec, text: resultText(exec.Result)}
}

// message is the turn's reply: the text of every step in order, and the client's tool calls.
func (g *Generation) message() ChoiceMessage {
	if g.tools == nil {
		return g.ans.message()
	}
	var text []byte
	for _, s := range g.done {
		text = append(text, s.ans.text.String()...)
	}
	text = append(text, g.ans.text.String()...)
	var calls []ToolCall
	for i, tc := range g.ans.toolCalls {
		if !g.hidden[i] {
			calls = append(calls, tc)
		}
	}
	return assistantMessage(string(text), calls, g.ans.stop == llm.StopRefusal)
}

// summed is the usage and price of every step so far (the price summed step by step).
func (g *Generation) summed() (llm.Usage, Cost) {
	return addUsage(g.total, g.ans.usage), addCost(g.cost, price(g.model.Pricing, g.ans.usage))
}

func addUsage(a, b llm.Usage) llm.Usage {
	return llm.Usage{InputTokens: a.InputTokens + b.InputTokens, OutputTokens: a.OutputTokens + b.OutputTokens,
		CacheReadTokens: a.CacheReadTokens + b.CacheReadTokens, CacheWriteTokens: a.CacheWriteTokens + b.CacheWriteTokens}
}

func addCost(a, b Cost) Cost {
	return Cost{Input: a.Input + b.Input, Output: a.Output + b.Output, CacheRead: a.CacheRead + b.CacheRead,
		CacheWrite: a.CacheWrite + b.CacheWrite, Total: a.Total + b.Total}
}
