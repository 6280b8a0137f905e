package httpapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// fullProjectPage is a page of 50 projects as the stack benchmarks list them.
func fullProjectPage() page.Page[workspace.Project] {
	at := time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)
	pg := page.Page[workspace.Project]{Next: "eyJ0IjoiMjAyNi0xMi0wMlQyMTowMDowMFoiLCJpIjoiIn0.c2lnbmF0dXJl"}
	for i := range 50 {
		pg.Items = append(pg.Items, workspace.Project{ID: uuid.New(), Name: fmt.Sprintf("project %d", i),
			Settings: map[string]any{}, Version: 1, CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at})
	}
	return pg
}

// BenchmarkProjectPageEncode compares the generated response's encoding of a full page with
// projectPage's.
func BenchmarkProjectPageEncode(b *testing.B) {
	pg := fullProjectPage()
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body, _ := listOf(infallible(projectBody))(pg, nil)
			if err := api.ListProjects200JSONResponse(body).VisitListProjectsResponse(httptest.NewRecorder()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appended", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := projectPage(pg).VisitListProjectsResponse(httptest.NewRecorder()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProjectPageGzip measures what compressing a full page of 50 projects costs at the
// default level against BestSpeed, the level gzipMiddleware (gzip.go) uses, with the standard
// library's compressor and klauspost/compress's (the one gzip.go uses): under BenchmarkStackLoad
// (whose client asks for gzip) compression was the page's largest cost. compressed-B is the
// size of the compressed page.
func BenchmarkProjectPageGzip(b *testing.B) {
	body, err := projectPage(fullProjectPage()).appendJSON(nil)
	if err != nil {
		b.Fatal(err)
	}
	type compressor interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	for _, c := range []struct {
		name  string
		level int
		make  func(level int) compressor
	}{
		{"stdlib", gzip.DefaultCompression, func(l int) compressor { zw, _ := gzip.NewWriterLevel(nil, l); return zw }},
		{"stdlib", gzip.BestSpeed, func(l int) compressor { zw, _ := gzip.NewWriterLevel(nil, l); return zw }},
		{"klauspost", kgzip.DefaultCompression, func(l int) compressor { zw, _ := kgzip.NewWriterLevel(nil, l); return zw }},
		{"klauspost", kgzip.BestSpeed, func(l int) compressor { zw, _ := kgzip.NewWriterLevel(nil, l); return zw }},
	} {
		b.Run(fmt.Sprintf("%s/level=%d", c.name, c.level), func(b *testing.B) {
			zw := c.make(c.level)
			var out bytes.Buffer
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				zw.Reset(&out)
				if _, err := zw.Write(body); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(out.Len()), "compressed-B")
		})
	}
}
