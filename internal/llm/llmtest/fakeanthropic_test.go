package llmtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

func post(t *testing.T, url string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestFakeWireFormatAndRecording(t *testing.T) {
	f := llmtest.NewFakeAnthropic(t)
	f.Enqueue(llmtest.TextStream("msg_1", "claude-x", "Hi"))
	resp, body := post(t, f.URL, http.Header{"Authorization": {"Bearer k"}, "Anthropic-Version": {"2099-01-01"}}, `{"model":"claude-x","stream":true}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"event: message_start\ndata: {",
		"\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n",
		"event: content_block_delta\ndata: {\"delta\":{\"text\":\"Hi\",\"type\":\"text_delta\"},\"index\":0,\"type\":\"content_block_delta\"}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("stream lacks %q:\n%s", want, body)
		}
	}
	got := f.LastRequest()
	if got.Body["model"] != "claude-x" || got.Header.Get("Anthropic-Version") != "2099-01-01" || got.Path != "/v1/messages" {
		t.Errorf("recorded %+v", got)
	}
}

func TestFakeAuthAndJSON(t *testing.T) {
	f := llmtest.NewFakeAnthropic(t)
	f.Enqueue(llmtest.MessageJSON("msg_2", "claude-x", "hello"), llmtest.Overloaded529())

	resp, _ := post(t, f.URL, http.Header{}, `{}`)
	if resp.StatusCode != 401 {
		t.Errorf("no credentials: status %d", resp.StatusCode)
	}
	resp, body := post(t, f.URL, http.Header{"X-Api-Key": {"k"}}, `{}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"text":"hello"`) {
		t.Errorf("json: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, f.URL, http.Header{"X-Api-Key": {"k"}}, `{}`)
	if resp.StatusCode != 529 || !strings.Contains(body, `"overloaded_error"`) {
		t.Errorf("529: %d %s", resp.StatusCode, body)
	}
	if f.Pending() != 0 || len(f.Requests()) != 3 {
		t.Errorf("pending %d, requests %d", f.Pending(), len(f.Requests()))
	}
}
