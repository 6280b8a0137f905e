package mcp

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

func ptr(s string) *string { return &s }

// Every rule of validate names the field it refuses, and never a header's value (which may be a
// credential); fields that are fine pass.
func TestValidateServerFields(t *testing.T) {
	t.Parallel()
	project := uuid.New()
	for name, c := range map[string]struct {
		f    ServerFields
		want []string // pointers refused, in any order; none: valid
	}{
		"http ok":           {ServerFields{Transport: TransportStreamableHTTP, URL: ptr("https://mcp.example.com/mcp"), Headers: map[string]string{"Authorization": "Bearer s3cret"}}, nil},
		"sse ok":            {ServerFields{Transport: TransportSSE, URL: ptr("http://127.0.0.1:9/sse")}, nil},
		"stdio ok":          {ServerFields{Transport: TransportStdio, Command: ptr("mcp-server"), Args: []string{"--x"}}, nil},
		"http without url":  {ServerFields{Transport: TransportStreamableHTTP}, []string{"/url"}},
		"http with command": {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Command: ptr("x")}, []string{"/command"}},
		"http with args":    {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Args: []string{"a"}}, []string{"/command"}},
		"bad url":           {ServerFields{Transport: TransportStreamableHTTP, URL: ptr("http://[::1")}, []string{"/url"}},
		"ftp url":           {ServerFields{Transport: TransportStreamableHTTP, URL: ptr("ftp://h/")}, []string{"/url"}},
		"no host":           {ServerFields{Transport: TransportStreamableHTTP, URL: ptr("https:///path")}, []string{"/url"}},
		"port only host":    {ServerFields{Transport: TransportStreamableHTTP, URL: ptr("https://:443/")}, []string{"/url"}},
		"credentials":       {ServerFields{Transport: TransportStreamableHTTP, URL: ptr("https://u:p@h/")}, []string{"/url"}},
		"stdio no command":  {ServerFields{Transport: TransportStdio}, []string{"/command"}},
		"stdio blank":       {ServerFields{Transport: TransportStdio, Command: ptr("  ")}, []string{"/command"}},
		"stdio with url":    {ServerFields{Transport: TransportStdio, Command: ptr("x"), URL: ptr("https://h/")}, []string{"/url"}},
		"stdio headers":     {ServerFields{Transport: TransportStdio, Command: ptr("x"), Headers: map[string]string{"X-A": "b"}}, []string{"/headers"}},
		"unknown transport": {ServerFields{Transport: "websocket"}, []string{"/transport"}},
		"bad header name":   {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{"a b/c~": "v"}}, []string{"/headers/a b~1c~0"}},
		"empty header name": {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{"": "v"}}, []string{"/headers/"}},
		"long header name":  {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{strings.Repeat("x", 129): "v"}}, []string{"/headers/" + strings.Repeat("x", 129)}},
		"header injection":  {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{"X-Token": "s3cret\r\nHost: evil"}}, []string{"/headers/X-Token"}},
		"header nul":        {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{"X-Token": "s3cret\x00"}}, []string{"/headers/X-Token"}},
		"reserved header":   {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{"Mcp-Session-Id": "s3cret"}}, []string{"/headers/Mcp-Session-Id"}},
		"global in project": {ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Scope: ScopeGlobal, ProjectID: &project}, []string{"/project_id"}},
		"several at once":   {ServerFields{Transport: TransportStdio, URL: ptr("https://h/"), Headers: map[string]string{"Host": "s3cret"}}, []string{"/command", "/url", "/headers", "/headers/Host"}},
	} {
		err := validate(c.f)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v, want valid", name, err)
			}
			continue
		}
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != apperr.Invalid {
			t.Errorf("%s: %v, want a 400", name, err)
			continue
		}
		got := map[string]bool{}
		for _, fe := range ae.Fields {
			got[fe.Pointer] = true
			if fe.Location != apperr.InBody || strings.Contains(fe.Detail, "s3cret") {
				t.Errorf("%s: field error %+v", name, fe)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: refused %v, want %v", name, ae.Fields, c.want)
		}
		for _, p := range c.want {
			if !got[p] {
				t.Errorf("%s: %q not refused (got %v)", name, p, ae.Fields)
			}
		}
	}
}

// The same header under two spellings is refused: HTTP names are case-insensitive, so one
// would silently replace the other.
func TestValidateServerFieldsRefusesAHeaderTwice(t *testing.T) {
	t.Parallel()
	err := validate(ServerFields{Transport: TransportSSE, URL: ptr("https://h/"), Headers: map[string]string{"X-Key": "a", "x-key": "b"}})
	ae, ok := apperr.As(err)
	if !ok || len(ae.Fields) != 1 || !strings.Contains(ae.Fields[0].Detail, "twice") {
		t.Fatalf("validate = %v, want one field refused as the same header twice", err)
	}
}
