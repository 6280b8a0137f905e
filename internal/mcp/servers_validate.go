package mcp

import (
	"net/url"
	"slices"
	"strings"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// reservedHeaders are set by the transport itself; a stored value would break or spoof it.
var reservedHeaders = []string{"host", "content-length", "content-type", "transfer-encoding", "connection",
	"accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"}

// validate checks the merged fields of a server; the spec already bounds lengths and shapes.
// Details name fields, never header values.
func validate(f ServerFields) error {
	var errs []apperr.FieldError
	bad := func(pointer, detail string) {
		errs = append(errs, apperr.FieldError{Location: apperr.InBody, Pointer: pointer, Detail: detail})
	}
	switch f.Transport {
	case TransportStreamableHTTP, TransportSSE:
		if f.URL == nil {
			bad("/url", "required for transport "+f.Transport)
		} else if detail := checkURL(*f.URL); detail != "" {
			bad("/url", detail)
		}
		if f.Command != nil || len(f.Args) > 0 {
			bad("/command", "only for transport stdio")
		}
	case TransportStdio:
		if f.Command == nil || strings.TrimSpace(*f.Command) == "" {
			bad("/command", "required for transport stdio")
		}
		if f.URL != nil {
			bad("/url", "not used by transport stdio")
		}
		if len(f.Headers) > 0 {
			bad("/headers", "HTTP headers need an HTTP transport")
		}
	default:
		bad("/transport", "unknown transport")
	}
	seen := map[string]bool{}
	for name := range f.Headers {
		lower := strings.ToLower(name)
		if !isToken(name) || len(name) > 128 {
			bad("/headers/"+escapePointer(name), "not an HTTP header name")
		} else if strings.ContainsAny(f.Headers[name], "\r\n\x00") {
			bad("/headers/"+escapePointer(name), "a header value cannot hold line breaks or NUL")
		} else if slices.Contains(reservedHeaders, lower) {
			bad("/headers/"+escapePointer(name), "set by the transport; cannot be configured")
		} else if seen[lower] {
			bad("/headers/"+escapePointer(name), "the same header twice (names are case-insensitive)")
		}
		seen[lower] = true
	}
	if f.Scope == ScopeGlobal && f.ProjectID != nil {
		bad("/project_id", "a global server belongs to no project")
	}
	if len(errs) > 0 {
		return apperr.New(apperr.Invalid, "validation_failed", "the MCP server is not valid").WithFields(errs...)
	}
	return nil
}

// checkURL returns why u cannot be a server endpoint ("" when it can).
func checkURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.Host == "" || u.Hostname() == "":
		return "must name a host"
	case u.User != nil:
		return "must not hold credentials; put them in headers"
	}
	return ""
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), the syntax of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// authorize applies the admin and stdio rules to the fields a write would leave.
func (r *Registry) authorize(c Caller, f ServerFields) error {
	if (f.Scope == ScopeGlobal || f.Transport == TransportStdio) && !c.Admin {
		return errAdminOnly
	}
	if f.Transport == TransportStdio && !r.allowStdio {
		return errStdioDisabled
	}
	return nil
}
