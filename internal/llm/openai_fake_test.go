package llm_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeOpenAI is a minimal Chat Completions server: each request gets the next script, either
// an HTTP error (status, JSON body) or SSE data lines ending with [DONE].
type fakeOpenAI struct {
	gone    chan struct{} // closed when a held stream's client went away
	mu      sync.Mutex
	scripts []openaiScript
	bodies  [][]byte
	headers []http.Header
	url     string
}

type openaiScript struct {
	status int
	body   string   // error body when status != 200
	chunks []string // JSON chunks, each sent as one "data:" event
	noDone bool     // omit the final [DONE]
	hold   bool     // after the chunks, wait for the client to go away
}

func newFakeOpenAI(t *testing.T, scripts ...openaiScript) *fakeOpenAI {
	f := &fakeOpenAI{scripts: scripts, gone: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.headers = append(f.headers, r.Header.Clone())
		if r.URL.Path != "/v1/chat/completions" || len(f.scripts) == 0 {
			f.mu.Unlock()
			t.Errorf("unexpected request %s", r.URL.Path)
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		sc := f.scripts[0]
		f.scripts = f.scripts[1:]
		f.mu.Unlock()
		if sc.status != 0 && sc.status != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(sc.status)
			io.WriteString(w, sc.body)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range sc.chunks {
			fmt.Fprintf(w, "data: %s\n\n", c)
		}
		if sc.hold {
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			close(f.gone)
			return
		}
		if !sc.noDone {
			io.WriteString(w, "data: [DONE]\n\n")
		}
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/v1"
	return f
}

func chunk(delta string, finish string) string {
	fr := "null"
	if finish != "" {
		fr = `"` + finish + `"`
	}
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + fr + `}]}`
}

const usageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":7,"total_tokens":37,"prompt_tokens_details":{"cached_tokens":20}}}`
