package chat

import (
	"math"
	"reflect"
	"testing"

	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/llm"
)

func TestFinishReason(t *testing.T) {
	t.Parallel()
	cases := []struct {
		stop  llm.StopReason
		want  string
		noted bool
	}{
		{llm.StopEndTurn, "stop", false},
		{llm.StopSequence, "stop", false},
		{llm.StopMaxTokens, "length", false},
		{llm.StopToolUse, "tool_calls", false},
		{llm.StopRefusal, "content_filter", false},
		// No OpenAI word for these: the nearest one, flagged for the log.
		{llm.StopPauseTurn, "stop", true},
		{llm.StopContextWindow, "length", true},
		{llm.StopOther, "stop", true},
		{llm.StopReason("a_reason_from_the_future"), "stop", true},
		{llm.StopReason(""), "stop", true},
	}
	for _, tc := range cases {
		t.Run(string(tc.stop), func(t *testing.T) {
			t.Parallel()
			got, noted := finishReason(tc.stop)
			if got != tc.want || noted != tc.noted {
				t.Errorf("finishReason(%q) = %q, %v; want %q, %v", tc.stop, got, noted, tc.want, tc.noted)
			}
		})
	}
}

func TestOpenAIUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   llm.Usage
		want Usage
	}{
		{"nothing", llm.Usage{}, Usage{PromptTokensDetails: &PromptDetail{}}},
		{"no cache", llm.Usage{InputTokens: 12, OutputTokens: 7},
			Usage{PromptTokens: 12, CompletionTokens: 7, TotalTokens: 19, PromptTokensDetails: &PromptDetail{}}},
		// The prompt counts every input token, cached or not; only reads are "cached".
		{"cache read and write", llm.Usage{InputTokens: 100, OutputTokens: 50, CacheReadTokens: 1000, CacheWriteTokens: 200},
			Usage{PromptTokens: 1300, CompletionTokens: 50, TotalTokens: 1350, PromptTokensDetails: &PromptDetail{CachedTokens: 1000}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := openAIUsage(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("openAIUsage(%+v) = %+v (cached %+v), want %+v", tc.in, got, got.PromptTokensDetails, tc.want)
			}
		})
	}
}

// TestPrice prices usages with the shipped catalog's rates (dollars per million tokens).
func TestPrice(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Load("", true)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		model string
		usage llm.Usage
		want  Cost
	}{
		// sonnet 4.5: input 3, output 15, cache read 0.30, cache write 3.75.
		{"claude-sonnet-4-5", llm.Usage{InputTokens: 1_000_000, OutputTokens: 200_000, CacheReadTokens: 2_000_000, CacheWriteTokens: 400_000},
			Cost{Input: 3, Output: 3, CacheRead: 0.6, CacheWrite: 1.5, Total: 8.1}},
		// opus 4.5: input 5, output 25, cache read 0.50, cache write 6.25.
		{"claude-opus-4-5", llm.Usage{InputTokens: 1234, OutputTokens: 567, CacheReadTokens: 10_000, CacheWriteTokens: 800},
			Cost{Input: 0.00617, Output: 0.014175, CacheRead: 0.005, CacheWrite: 0.005, Total: 0.030345}},
		// haiku 4.5: input 1, output 5, cache read 0.10, cache write 1.25.
		{"claude-haiku-4-5", llm.Usage{InputTokens: 12, OutputTokens: 1},
			Cost{Input: 0.000012, Output: 0.000005, Total: 0.000017}},
		{"claude-haiku-4-5", llm.Usage{}, Cost{}},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			t.Parallel()
			m, ok := cat.GetModel(tc.model)
			if !ok {
				t.Fatalf("%s is not in the catalog", tc.model)
			}
			got := price(m.Pricing, tc.usage)
			// Exact to a billionth of a cent: only float rounding may differ.
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-11 }
			if !near(got.Input, tc.want.Input) || !near(got.Output, tc.want.Output) || !near(got.CacheRead, tc.want.CacheRead) ||
				!near(got.CacheWrite, tc.want.CacheWrite) || !near(got.Total, tc.want.Total) {
				t.Errorf("price(%+v) = %+v, want %+v", tc.usage, got, tc.want)
			}
			u := tc.usage
			if c := m.Pricing.Cost(u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens); !near(c, got.Total) {
				t.Errorf("total %v disagrees with the catalog's own Cost %v", got.Total, c)
			}
		})
	}
}

func wantCall(id, name, args string) ToolCall {
	c := ToolCall{ID: id, Type: "function"}
	c.Function.Name, c.Function.Arguments = name, args
	return c
}

func strPtr(s string) *string { return &s }

func TestAnswer(t *testing.T) {
	t.Parallel()
	start := llm.Event{Kind: llm.EventStart, MessageID: "msg_1", Model: "claude-sonnet-4-5"}
	textDelta := func(s string) llm.Event { return llm.Event{Kind: llm.EventTextDelta, Text: s} }
	toolStart := func(i int, id, name string) llm.Event {
		return llm.Event{Kind: llm.EventToolCallStart, ToolIndex: i, ToolID: id, ToolName: name}
	}
	args := func(i int, s string) llm.Event {
		return llm.Event{Kind: llm.EventToolArgsDelta, ToolIndex: i, ArgsDelta: s}
	}
	stop := func(r llm.StopReason) llm.Event {
		return llm.Event{Kind: llm.EventStop, StopReason: r, RawStopReason: string(r)}
	}
	cases := []struct {
		name   string
		events []llm.Event
		want   ChoiceMessage
	}{
		{
			name:   "text deltas join",
			events: []llm.Event{start, textDelta("Hel"), textDelta("lo"), textDelta(", world"), stop(llm.StopEndTurn)},
			want:   ChoiceMessage{Role: "assistant", Content: strPtr("Hello, world")},
		},
		{
			name: "text then tool calls with fragmented arguments; empty arguments become {}",
			events: []llm.Event{start, textDelta("Let me check."),
				toolStart(0, "toolu_1", "get_weather"), args(0, ""), args(0, `{"city":`), args(0, ` "Paris"}`),
				toolStart(1, "toolu_2", "now"), args(1, ""),
				stop(llm.StopToolUse)},
			want: ChoiceMessage{Role: "assistant", Content: strPtr("Let me check."),
				ToolCalls: []ToolCall{wantCall("toolu_1", "get_weather", `{"city": "Paris"}`), wantCall("toolu_2", "now", "{}")}},
		},
		{
			name:   "only a tool call: no content",
			events: []llm.Event{start, toolStart(0, "toolu_1", "now"), stop(llm.StopToolUse)},
			want:   ChoiceMessage{Role: "assistant", ToolCalls: []ToolCall{wantCall("toolu_1", "now", "{}")}},
		},
		{
			name:   "arguments for a call never started are dropped",
			events: []llm.Event{start, args(3, `{"x":1}`), textDelta("ok"), stop(llm.StopEndTurn)},
			want:   ChoiceMessage{Role: "assistant", Content: strPtr("ok")},
		},
		{
			name:   "nothing produced: empty content",
			events: []llm.Event{start, stop(llm.StopEndTurn)},
			want:   ChoiceMessage{Role: "assistant", Content: strPtr("")},
		},
		{
			name:   "a refusal with text repeats it as the refusal",
			events: []llm.Event{start, textDelta("I can't help with that."), stop(llm.StopRefusal)},
			want:   ChoiceMessage{Role: "assistant", Content: strPtr("I can't help with that."), Refusal: strPtr("I can't help with that.")},
		},
		{
			name:   "a silent refusal gets a stock explanation",
			events: []llm.Event{start, stop(llm.StopRefusal)},
			want:   ChoiceMessage{Role: "assistant", Content: strPtr(""), Refusal: strPtr("the model declined to answer")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var a answer
			for _, e := range tc.events {
				a.add(e)
			}
			got := a.message()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("message =\n%s\nwant\n%s", describeMessage(got), describeMessage(tc.want))
			}
			if again := a.message(); !reflect.DeepEqual(again, got) {
				t.Errorf("a second message() differs: %s", describeMessage(again))
			}
			if a.messageID != "msg_1" || a.model != "claude-sonnet-4-5" || !a.stopped {
				t.Errorf("id %q, model %q, stopped %v", a.messageID, a.model, a.stopped)
			}
		})
	}
}

// TestAnswerKeepsLastUsageAndStop: usage events are cumulative, so the last one counts.
func TestAnswerKeepsLastUsageAndStop(t *testing.T) {
	t.Parallel()
	var a answer
	for _, e := range []llm.Event{
		{Kind: llm.EventStart, MessageID: "msg_2"},
		{Kind: llm.EventUsage, Usage: llm.Usage{InputTokens: 12, OutputTokens: 1, CacheReadTokens: 5}},
		{Kind: llm.EventTextDelta, Text: "x"},
		{Kind: llm.EventUsage, Usage: llm.Usage{InputTokens: 12, OutputTokens: 9, CacheReadTokens: 5}},
		{Kind: llm.EventStop, StopReason: llm.StopOther, RawStopReason: "brand_new_reason"},
	} {
		a.add(e)
	}
	if a.usage != (llm.Usage{InputTokens: 12, OutputTokens: 9, CacheReadTokens: 5}) {
		t.Errorf("usage = %+v", a.usage)
	}
	if a.stop != llm.StopOther || a.rawStop != "brand_new_reason" || !a.stopped {
		t.Errorf("stop = %q (%q), stopped %v", a.stop, a.rawStop, a.stopped)
	}
	var unfinished answer
	unfinished.add(llm.Event{Kind: llm.EventTextDelta, Text: "cut"})
	if unfinished.stopped {
		t.Error("an answer without a stop event reports stopped")
	}
}

func describeMessage(m ChoiceMessage) string {
	s := "role=" + m.Role
	if m.Content != nil {
		s += " content=" + *m.Content
	} else {
		s += " content=<nil>"
	}
	if m.Refusal != nil {
		s += " refusal=" + *m.Refusal
	}
	for _, tc := range m.ToolCalls {
		s += " wantCall(" + tc.ID + " " + tc.Type + " " + tc.Function.Name + " " + tc.Function.Arguments + ")"
	}
	return s
}
