package llm

import (
	"bufio"
	"bytes"
	"io"
)

// sseDecoder reads server-sent events from a response body, as the SDK's ssestream decoder
// does (FuzzSSEDecoderMatchesTheSDK compares the two), but without its garbage: that one
// allocates a buffer and a type string for every event, a few allocations per event of every
// stream the relay carries. Here the data buffer is reused, and the event types the Messages
// API sends are constants. The data of an event is valid until the next call to Next.
type sseDecoder struct {
	body io.ReadCloser
	scan *bufio.Scanner
	typ  string
	data []byte
	err  error
}

// maxSSELine is the longest line accepted, the SDK's bound: an event's data is one line.
const maxSSELine = bufio.MaxScanTokenSize << 9

// sseStartBuffer is the line buffer a stream starts with, doubled as longer lines come (up to
// maxSSELine): the Messages API's lines are mostly 100–600 bytes, and the buffer lives as long as
// the stream, so Scanner's default 4 KiB would cost every open stream 3 KiB more.
const sseStartBuffer = 1 << 10

func newSSEDecoder(body io.ReadCloser) *sseDecoder {
	scan := bufio.NewScanner(body)
	scan.Buffer(make([]byte, sseStartBuffer), maxSSELine)
	return &sseDecoder{body: body, scan: scan}
}

// Next reads the next event: its lines up to a blank one. Comments and fields other than event
// and data are skipped, data lines are joined each followed by a newline, and an event left
// unfinished at the end of the body is dropped.
func (d *sseDecoder) Next() bool {
	if d.err != nil {
		return false
	}
	d.typ, d.data = "", d.data[:0]
	for d.scan.Scan() {
		line := d.scan.Bytes()
		if len(line) == 0 {
			if d.typ == "" && len(d.data) == 0 {
				continue
			}
			return true
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(name) {
		case "event":
			d.typ = sseEventType(value)
		case "data":
			d.data = append(append(d.data, value...), '\n')
		}
	}
	d.err = d.scan.Err()
	return false
}

// sseEventType returns the event type, without allocating for those the Messages API sends.
func sseEventType(b []byte) string {
	switch string(b) {
	case "message_start":
		return "message_start"
	case "content_block_start":
		return "content_block_start"
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_stop":
		return "content_block_stop"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "ping":
		return "ping"
	case "error":
		return "error"
	}
	return string(b)
}

// Type is the current event's type, "" when it named none.
func (d *sseDecoder) Type() string { return d.typ }

// Data is the current event's data, valid until the next call to Next.
func (d *sseDecoder) Data() []byte { return d.data }

// Err is what ended the events early, nil at the end of the body.
func (d *sseDecoder) Err() error { return d.err }

// Close closes the body.
func (d *sseDecoder) Close() error { return d.body.Close() }
