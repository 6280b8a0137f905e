package testutil

import (
	"bytes"
	"strings"
	"sync"
)

// LogRecorder keeps the ERROR lines the service logs, so a test can assert that a request the
// service refused as the client's fault left no error in the log.
type LogRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *LogRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

// Errors returns the lines (JSON) logged so far: the ERROR lines of Server.Logs.
func (r *LogRecorder) Errors() []string { return r.Lines() }

// Lines returns the lines (JSON) logged so far.
func (r *LogRecorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.FieldsFunc(r.buf.String(), func(c rune) bool { return c == '\n' })
}
