package llm

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
)

// FuzzSSEDecoderMatchesTheSDK reads the same bytes with sseDecoder and with the SDK's decoder,
// which the provider used before: both give the same events (type and data) in the same order,
// and both end the same way (an error or the end of the body).
func FuzzSSEDecoderMatchesTheSDK(f *testing.F) {
	for _, seed := range []string{
		"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: ping\ndata: {}\n\n",
		"event: content_block_delta\r\ndata: {\"a\":1}\r\n\r\n", // CRLF lines
		"data: one\ndata: two\n\n",                                                    // data lines joined
		"event:message_stop\ndata:{}\n\n",                                             // no space after the colon
		"event:  two spaces\ndata:  x\n\n",                                            // only one space is dropped
		": a comment\n\nid: 7\nretry: 10\nevent: x\n\n",                               // comments and other fields
		"data\nevent\n\n",                                                             // fields without a colon
		"event: error\ndata: {\"type\":\"error\"}",                                    // unfinished at the end
		"\n\n\nevent: brand_new\ndata: {}\n\n\n",                                      // blank lines and a new type
		"event: message_delta\rdata: {}\n\n",                                          // a lone CR is not a line end
		"event: a\ndata: " + strings.Repeat("x", 70000) + "\n\nevent: b\ndata: y\n\n", // a line longer than the first buffer
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ours := newSSEDecoder(io.NopCloser(bytes.NewReader(body)))
		sdk := ssestream.NewDecoder(&http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}},
			Body: io.NopCloser(bytes.NewReader(body))})
		for n := 0; ; n++ {
			more, sdkMore := ours.Next(), sdk.Next()
			if more != sdkMore {
				t.Fatalf("event %d: Next = %v, the SDK's %v", n, more, sdkMore)
			}
			if !more {
				break
			}
			if e := sdk.Event(); ours.Type() != e.Type || !bytes.Equal(ours.Data(), e.Data) {
				t.Fatalf("event %d: %q %q, the SDK's %q %q", n, ours.Type(), ours.Data(), e.Type, e.Data)
			}
		}
		if (ours.Err() == nil) != (sdk.Err() == nil) {
			t.Fatalf("Err = %v, the SDK's %v", ours.Err(), sdk.Err())
		}
	})
}
