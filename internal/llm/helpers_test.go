package llm_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm"
)

// collect drains a stream, closing it, and returns its events and final error.
func collect(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	defer s.Close()
	var evs []llm.Event
	for s.Next() {
		evs = append(evs, s.Event())
		if len(evs) > 10000 {
			t.Fatal("stream does not end")
		}
	}
	return evs, s.Err()
}

// kinds lists event kinds, for compact order assertions.
func kinds(evs []llm.Event) []llm.EventKind {
	out := make([]llm.EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

// text concatenates the text deltas.
func text(evs []llm.Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Kind == llm.EventTextDelta {
			b.WriteString(e.Text)
		}
	}
	return b.String()
}

// last returns the last event of a kind; it fails the test when there is none.
func last(t *testing.T, evs []llm.Event, k llm.EventKind) llm.Event {
	t.Helper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == k {
			return evs[i]
		}
	}
	t.Fatalf("no event of kind %d in %v", k, kinds(evs))
	return llm.Event{}
}

// llmErr asserts err is an *llm.Error and returns it.
func llmErr(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gn, _ := json.Marshal(g)
	wn, _ := json.Marshal(w)
	if string(gn) != string(wn) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gn, wn)
	}
}

func userText(s string) llm.Message {
	return llm.Message{Role: llm.User, Parts: []llm.Part{{Kind: llm.Text, Text: s}}}
}

func ptr[T any](v T) *T { return &v }
