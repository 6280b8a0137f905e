package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// projectPage is a page of the projects list, written straight to the response. The generated
// response (api.ListProjects200JSONResponse) converts every project to api.Project and runs the
// reflective encoder over it, which was the largest cost of the list after the database; this
// writes the same bytes (TestProjectPageEncodesLikeTheGeneratedResponse compares them) by
// appending each field, and leaves only what can need escaping to encoding/json.
type projectPage page.Page[workspace.Project]

// projectBytesHint is a typical encoded project (fields, two times, a short name), so that a
// page's buffer is allocated once.
const projectBytesHint = 256

// VisitListProjectsResponse implements api.ListProjectsResponseObject.
func (p projectPage) VisitListProjectsResponse(w http.ResponseWriter) error {
	b, err := p.appendJSON(make([]byte, 0, 64+len(p.Items)*projectBytesHint))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	// The length is known: a page is sent in one piece rather than chunked, one write fewer at
	// its end (gzip, which changes it, drops it: gzipResponse.WriteHeader).
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// appendJSON appends the api.ProjectList of p as json.Encoder.Encode writes it (newline included).
func (p projectPage) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"data":[`...)
	for i, pr := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendProject(b, pr); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"has_more":`...)
	b = strconv.AppendBool(b, p.Next != "")
	b = append(b, `,"next_cursor":`...)
	if p.Next == "" {
		b = append(b, "null"...)
	} else if b, err = appendJSONString(b, p.Next); err != nil {
		return nil, err
	}
	return append(b, "}\n"...), nil
}

// appendProject appends projectBody(pr) in api.Project's field order.
func appendProject(b []byte, pr workspace.Project) ([]byte, error) {
	var err error
	b = append(b, `{"created_at":`...)
	b = appendAPITime(b, pr.CreatedAt)
	b = append(b, `,"description":`...)
	if b, err = appendOptionalString(b, pr.Description); err != nil {
		return nil, err
	}
	b = append(b, `,"id":"`...)
	b = appendUUID(b, pr.ID)
	b = append(b, `","name":`...)
	if b, err = appendJSONString(b, pr.Name); err != nil {
		return nil, err
	}
	b = append(b, `,"path":`...)
	if b, err = appendOptionalString(b, pr.Path); err != nil {
		return nil, err
	}
	b = append(b, `,"settings":`...)
	if b, err = appendSettings(b, pr.Settings); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	b = appendAPITime(b, pr.UpdatedAt)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, pr.Version, 10)
	return append(b, '}'), nil
}

// appendUUID appends id in its canonical text form, as uuid.UUID.String writes it without the
// string String allocates (one per row).
func appendUUID(b []byte, id uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	hex.Encode(s[9:13], id[4:6])
	hex.Encode(s[14:18], id[6:8])
	hex.Encode(s[19:23], id[8:10])
	hex.Encode(s[24:36], id[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return append(b, s[:]...)
}

// appendAPITime appends t as apitime.Time marshals it.
func appendAPITime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = apitime.New(t).AppendTo(b)
	return append(b, '"')
}

func appendOptionalString(b []byte, s *string) ([]byte, error) {
	if s == nil {
		return append(b, "null"...), nil
	}
	return appendJSONString(b, *s)
}

// appendSettings appends a settings object; most are empty, the others go through encoding/json
// (sorted keys, its number and escaping rules).
func appendSettings(b []byte, m map[string]any) ([]byte, error) {
	switch {
	case m == nil:
		return append(b, "null"...), nil
	case len(m) == 0:
		return append(b, "{}"...), nil
	}
	enc, err := json.Marshal(m)
	return append(b, enc...), err
}

// appendJSONString appends s quoted. Printable ASCII other than the quote, the backslash and
// the characters encoding/json escapes for HTML (<, >, &) is written as it is; anything else
// (control characters, non-ASCII, invalid UTF-8) is left to encoding/json, so both agree.
func appendJSONString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, err := json.Marshal(s)
			return append(b, enc...), err
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}
