package httpapi

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// generatedProjectList is what the generated response writes for pg: the reference that
// projectPage must match byte for byte.
func generatedProjectList(t *testing.T, pg page.Page[workspace.Project]) *httptest.ResponseRecorder {
	t.Helper()
	body, err := listOf(infallible(projectBody))(pg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := api.ListProjects200JSONResponse(body).VisitListProjectsResponse(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func strp(s string) *string { return &s }

func TestProjectPageEncodesLikeTheGeneratedResponse(t *testing.T) {
	at := time.Date(2026, 12, 2, 21, 0, 0, 123456789, time.FixedZone("CET", 3600))
	plain := workspace.Project{ID: uuid.MustParse("0195f3c2-7a1b-7c3d-8e4f-a0b1c2d3e4f5"), Name: "project 1",
		Settings: map[string]any{}, Version: 1, CreatedAt: at, UpdatedAt: at}
	odd := []string{
		`quote " and backslash \`, "<script>&amp;</script>", "tab\tnew\nline\r\b\f\x00\x1f", "\x7f",
		"naïve 日本語 🚀", "\u2028\u2029", "bad utf-8 \xff\xfe", "",
	}
	var weird []workspace.Project
	for i, s := range odd {
		p := plain
		p.ID = uuid.New()
		p.Name, p.Description, p.Path = s, strp(s), strp("/src/"+s)
		p.Version = int64(i) << 40
		p.CreatedAt = at.Add(time.Duration(i) * 1999 * time.Microsecond)
		p.UpdatedAt = time.Unix(0, int64(i)).UTC()
		p.Settings = map[string]any{"z": s, "a": []any{1.0, 2.5, 1e21, -1e-7, 0.1, nil, true}, "m": map[string]any{"<k>": "v", "": odd}}
		weird = append(weird, p)
	}
	nilSettings := plain
	nilSettings.Settings = nil
	cases := []struct {
		name string
		page page.Page[workspace.Project]
	}{
		{"empty page", page.Page[workspace.Project]{Items: []workspace.Project{}}},
		{"nil items", page.Page[workspace.Project]{}},
		{"one plain project, last page", page.Page[workspace.Project]{Items: []workspace.Project{plain}}},
		{"more to come", page.Page[workspace.Project]{Items: []workspace.Project{plain, plain}, Next: "eyJ0IjoiMjAyNi0xMi0wMiJ9.c2ln-_"}},
		{"a cursor that needs escaping", page.Page[workspace.Project]{Items: []workspace.Project{plain}, Next: "a<b>&\"c"}},
		{"nil settings", page.Page[workspace.Project]{Items: []workspace.Project{nilSettings}}},
		{"strings and settings that need escaping", page.Page[workspace.Project]{Items: weird, Next: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := generatedProjectList(t, tc.page)
			got := httptest.NewRecorder()
			if err := projectPage(tc.page).VisitListProjectsResponse(got); err != nil {
				t.Fatal(err)
			}
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
				t.Errorf("status %d %q, want %d %q", got.Code, got.Header().Get("Content-Type"), want.Code, want.Header().Get("Content-Type"))
			}
			if got.Body.String() != want.Body.String() {
				t.Errorf("body differs from the generated response's\n got %s\nwant %s", got.Body, want.Body)
			}
			if n := got.Header().Get("Content-Length"); n != strconv.Itoa(got.Body.Len()) {
				t.Errorf("Content-Length %q for a body of %d bytes", n, got.Body.Len())
			}
		})
	}
}

// The settings go through encoding/json, so an unencodable value is an error, as it was.
func TestProjectPageRefusesWhatEncodingJSONRefuses(t *testing.T) {
	p := workspace.Project{Settings: map[string]any{"f": func() {}}}
	err := projectPage(page.Page[workspace.Project]{Items: []workspace.Project{p}}).VisitListProjectsResponse(httptest.NewRecorder())
	if err == nil || !strings.Contains(err.Error(), "unsupported type") {
		t.Fatalf("error = %v, want encoding/json's unsupported type", err)
	}
}
