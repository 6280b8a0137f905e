package app

import (
	"io"
	"sync"
)

// LogWriter puts the log's lines on its output from a goroutine, so that a request does not wait
// for its log line's write: that write was the last thing a response waited for (a stream's end
// came about 0.1 ms after its [DONE]), and one per request. The goroutine is woken by each line
// and writes whatever has queued meanwhile in one write, oldest first; lines reach the output
// within a scheduling delay, and only those queued at the instant of a crash are lost. Past
// logWriterLimit bytes waiting, a line is written by its caller (with everything before it), as
// every line was before: a stalled output slows the logging, it does not grow the memory.
type LogWriter struct {
	out   io.Writer
	limit int

	writing sync.Mutex // held while a batch is written to out, so batches keep their order
	mu      sync.Mutex
	queued  []byte
	spare   []byte // the buffer of the batch last written, reused
	closed  bool

	wake chan struct{}
	done chan struct{}
}

const logWriterLimit = 1 << 20

// NewLogWriter starts the writer of out; Close flushes and stops it.
func NewLogWriter(out io.Writer) *LogWriter { return newLogWriter(out, logWriterLimit) }

func newLogWriter(out io.Writer, limit int) *LogWriter {
	w := &LogWriter{out: out, limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// Write queues p (slog writes one whole line per call). It never fails: an output error is the
// output's to report, as slog ignores it too.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.queued = append(w.queued, p...)
	if w.closed || len(w.queued) >= w.limit {
		w.mu.Unlock()
		w.flush()
		return len(p), nil
	}
	select {
	case w.wake <- struct{}{}:
	default: // already woken: the line goes with the next batch
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *LogWriter) run() {
	defer close(w.done)
	for range w.wake {
		w.flush()
	}
}

// flush writes what is queued, as one batch.
func (w *LogWriter) flush() {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	batch := w.queued
	w.queued, w.spare = w.spare[:0], nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	_, _ = w.out.Write(batch)
	w.mu.Lock()
	if w.spare == nil && cap(batch) <= w.limit*2 {
		w.spare = batch[:0]
	}
	w.mu.Unlock()
}

// Close writes what is queued and stops the goroutine; later lines are written by their callers.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.wake)
	w.mu.Unlock()
	<-w.done
	w.flush()
	return nil
}
