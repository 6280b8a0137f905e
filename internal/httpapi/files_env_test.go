package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// fileEnv is one server on one blob store: the local directory or versitygw's S3 bucket. The
// files suite runs every case on both.
type fileEnv struct {
	name string
	s    *testutil.Server
	s3   *testutil.S3Server // nil for the local store
}

// storeKinds are the stores the suite runs on.
var storeKinds = []string{"local", "s3"}

// newFileEnv starts a server on the named store, with cfg applied.
func newFileEnv(t *testing.T, kind string, cfg func(*testutil.Config)) *fileEnv {
	t.Helper()
	e := &fileEnv{name: kind}
	if kind == "s3" {
		e.s3 = testutil.StartS3(t)
	}
	e.s = testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		if e.s3 != nil {
			c.Files.BlobURL = e.s3.BlobURL()
			c.Files.AWSAccessKeyID, c.Files.AWSSecretAccessKey = e.s3.AccessKey, e.s3.Secret
		}
		if cfg != nil {
			cfg(c)
		}
	}))
	return e
}

// blobs counts the objects in the store, looking behind the service's back.
func (e *fileEnv) blobs(t *testing.T) int {
	t.Helper()
	if e.s3 != nil {
		out, err := e.s3.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(e.s3.Bucket)})
		if err != nil {
			t.Fatalf("list bucket: %v", err)
		}
		return len(out.Contents)
	}
	dir := strings.TrimPrefix(e.s.App.Config.Files.BlobURL, "file://")
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("walk blobs: %v", err)
	}
	return n
}

// upload sends a multipart upload with the given fields (and query) and returns the response.
func (e *fileEnv) upload(t *testing.T, u testutil.Session, query string, fields map[string]string, filename string, content []byte) (*http.Response, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	req := e.s.Request(t, http.MethodPost, "/v1/files"+query, buf.Bytes(), u.Bearer())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.s.Client.Do(t, req)
}

// uploadRaw sends the raw form with a declared content type.
func (e *fileEnv) uploadRaw(t *testing.T, u testutil.Session, query, contentType string, content []byte) (*http.Response, []byte) {
	t.Helper()
	req := e.s.Request(t, http.MethodPost, "/v1/files"+query, content, u.Bearer())
	req.Header.Set("Content-Type", contentType)
	return e.s.Client.Do(t, req)
}

// put uploads content at path (raw form) and returns the file.
func (e *fileEnv) put(t *testing.T, u testutil.Session, path string, content []byte, project string) api.File {
	t.Helper()
	q := "?path=" + url.QueryEscape(path)
	if project != "" {
		q += "&project_id=" + project
	}
	resp, body := e.uploadRaw(t, u, q, "application/octet-stream", content)
	return decodeInto[api.File](t, resp, body, http.StatusCreated)
}

// list walks every page of a listing with the given page size.
func (e *fileEnv) list(t *testing.T, u testutil.Session, query string, limit int) []api.FileEntry {
	t.Helper()
	var out []api.FileEntry
	cursor := ""
	for range 100 {
		q := fmt.Sprintf("/v1/files?limit=%d%s", limit, query)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		resp, body := e.s.Do(t, http.MethodGet, q, nil, u.Bearer())
		p := decodeInto[api.FileEntryList](t, resp, body, http.StatusOK)
		out = append(out, p.Data...)
		if !p.HasMore {
			return out
		}
		cursor = *p.NextCursor
	}
	t.Fatal("listing does not end")
	return nil
}

// get fetches a file's content with extra headers.
func (e *fileEnv) get(t *testing.T, u testutil.Session, id string, h map[string]string) (*http.Response, []byte) {
	t.Helper()
	hdr := u.Bearer()
	for k, v := range h {
		hdr[k] = v
	}
	return e.s.Do(t, http.MethodGet, "/v1/files/"+id+"/content", nil, hdr)
}

// readAll reads a response body (for requests outside the validating client).
func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
