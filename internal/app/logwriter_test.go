package app

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedOutput records what is written to it; with a gate, each write tells entered it began
// and waits for the gate to open.
type gatedOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	gate    chan struct{}
	entered chan struct{}
}

func (o *gatedOutput) Write(p []byte) (int, error) {
	if o.gate != nil {
		o.entered <- struct{}{}
		<-o.gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *gatedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Lines from many goroutines all reach the output whole, each goroutine's in its order, and
// Close writes what is still queued; a line after Close is written at once.
func TestLogWriterKeepsEveryLineInOrder(t *testing.T) {
	out := &gatedOutput{}
	w := NewLogWriter(out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(w, "{\"g\":%d,\"i\":%d}\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "after close\n")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500+1 || lines[len(lines)-1] != "after close" {
		t.Fatalf("%d lines, last %q; want %d, the last written after Close", len(lines), lines[len(lines)-1], 8*500+1)
	}
	next := make([]int, 8)
	for _, l := range lines[:len(lines)-1] {
		var g, i int
		if _, err := fmt.Sscanf(l, "{\"g\":%d,\"i\":%d}", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q out of order or broken (want i=%d): %v", l, next[g], err)
		}
		next[g]++
	}
}

// A line does not wait for the output: with the output stalled, lines are queued and Write
// returns; past the limit a line waits for the output, so a stalled output bounds the queue.
func TestLogWriterDoesNotWaitForTheOutputUntilTheLimit(t *testing.T) {
	out := &gatedOutput{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	w := newLogWriter(out, 64)
	first := []byte("the first line, whose write stalls\n")
	if _, err := w.Write(first); err != nil {
		t.Fatal(err)
	}
	<-out.entered // its batch is being written: it holds the first line alone
	for range 2 { // queued behind the stalled write, under the limit together
		if _, err := w.Write([]byte("queued line\n")); err != nil {
			t.Fatal(err)
		}
	}
	over := make(chan struct{})
	go func() {
		defer close(over)
		_, _ = w.Write([]byte("the line past the limit waits for the output\n"))
	}()
	select {
	case <-over:
		t.Fatal("a line past the limit did not wait for the stalled output")
	case <-time.After(200 * time.Millisecond):
	}
	close(out.gate) // the output moves again
	<-over
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := string(first) + "queued line\nqueued line\nthe line past the limit waits for the output\n"
	if got := out.String(); got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}
