package llm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// attachmentRequest carries an image, a PDF and a text file, as chat attachments become.
func attachmentRequest() llm.Request {
	return llm.Request{Model: "m", MaxTokens: 16, Messages: []llm.Message{{Role: llm.User, Parts: []llm.Part{
		{Kind: llm.Text, Text: "Compare these."},
		{Kind: llm.Image, MediaType: "image/png", Data: "iVBORw0KGgo="},
		{Kind: llm.Document, MediaType: "application/pdf", Data: "JVBERi0xLjQK", Title: "hello.pdf"},
		{Kind: llm.Document, MediaType: "text/plain", Data: "# Notes\n", Title: "notes.md"},
	}}}}
}

func TestAnthropicDocumentBlocks(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.TextStream("m", "c", "ok"))
	s, err := p.Stream(context.Background(), attachmentRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(fake.LastRequest().Raw, &body); err != nil || len(body.Messages) != 1 {
		t.Fatalf("upstream body %s (%v)", fake.LastRequest().Raw, err)
	}
	jsonEqual(t, body.Messages[0].Content, []byte(`[
	  {"type": "text", "text": "Compare these."},
	  {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
	  {"type": "document", "title": "hello.pdf", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}},
	  {"type": "document", "title": "notes.md", "source": {"type": "text", "media_type": "text/plain", "data": "# Notes\n"}}
	]`))
	bad := attachmentRequest()
	bad.Messages[0].Parts[2].MediaType = "application/zip"
	if _, err := p.Describe(bad); err == nil {
		t.Error("a document of an unsupported media type was translated")
	}
}

// A compatible upstream gets the PDF as OpenAI's inline file part and the text file as text
// headed by its name.
func TestOpenAIDocumentParts(t *testing.T) {
	p := llm.NewOpenAI("x", "", "http://127.0.0.1:1/v1", nil)
	body, err := p.Describe(attachmentRequest())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Messages) != 1 {
		t.Fatalf("body %s (%v)", body, err)
	}
	jsonEqual(t, got.Messages[0].Content, []byte(`[
	  {"type": "text", "text": "Compare these."},
	  {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
	  {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0xLjQK", "filename": "hello.pdf"}},
	  {"type": "text", "text": "File \"notes.md\":\n\n# Notes\n"}
	]`))
}
