package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestFileLimitsOnBothStores: the quota under concurrent uploads, a 413 detected mid-stream and
// a client that goes away mid-upload, each leaving no row and no blob behind.
func TestFileLimitsOnBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newFileEnv(t, kind, func(c *testutil.Config) {
				c.Files.QuotaBytes = 1 << 20     // 1 MiB per user
				c.Files.MaxFileBytes = 512 << 10 // 512 KiB per file
			})
			t.Run("quota under 8 concurrent uploads", e.testQuotaRace)
			t.Run("413 mid-stream", e.testTooLargeMidStream)
			t.Run("client disconnects mid-upload", e.testDisconnect)
		})
	}
}

// usageRow reads the accounting row directly: used plus reserved is what the quota bounds.
func (e *fileEnv) usageRow(t *testing.T, user string) (used, reserved, count int64) {
	t.Helper()
	err := e.s.App.Store.Pool.QueryRow(context.Background(),
		`SELECT used_bytes, reserved_bytes, file_count FROM file_usage WHERE user_id = $1`, user).Scan(&used, &reserved, &count)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("usage row: %v", err)
	}
	return used, reserved, count
}

func (e *fileEnv) testQuotaRace(t *testing.T) {
	u := e.s.Register(t, "quota-"+e.name+"@example.com")
	before := e.blobs(t)
	const size = 300 << 10 // 8 × 300 KiB against 1 MiB: at most 3 fit
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Streamed without a length, so each upload reserves as its bytes arrive.
			req := e.s.Request(t, http.MethodPost, "/v1/files?filename=q.bin", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{byte(i)}, size))), u.Bearer())
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, body := e.s.Client.Do(t, req)
			statuses[i] = resp.StatusCode
			if resp.StatusCode == http.StatusRequestEntityTooLarge {
				if p := decodeProblem(t, resp, body, http.StatusRequestEntityTooLarge); p.Code != "quota_exceeded" {
					t.Errorf("code %s", p.Code)
				}
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			ok++
		case http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("status %d", s)
		}
	}
	used, reserved, count := e.usageRow(t, u.UserID)
	if used > 1<<20 || used != int64(ok)*size || count != int64(ok) || reserved != 0 || ok == 0 || ok > 3 {
		t.Fatalf("%d stored; used %d reserved %d count %d (quota %d)", ok, used, reserved, count, 1<<20)
	}
	if n := e.blobs(t); n != before+ok {
		t.Errorf("%d blobs for %d files", n-before, ok)
	}
	resp, body := e.s.Do(t, http.MethodGet, "/v1/files/usage", nil, u.Bearer())
	if us := decodeInto[api.FileUsage](t, resp, body, http.StatusOK); us.UsedBytes != used || us.QuotaBytes != 1<<20 {
		t.Errorf("usage = %+v", us)
	}
}

func (e *fileEnv) testTooLargeMidStream(t *testing.T) {
	u := e.s.Register(t, "big-"+e.name+"@example.com")
	before := e.blobs(t)
	// No Content-Length: the limit can only be found while streaming.
	req := e.s.Request(t, http.MethodPost, "/v1/files?filename=big.bin", io.MultiReader(bytes.NewReader(make([]byte, 600<<10))), u.Bearer())
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, body := e.s.Client.Do(t, req)
	if p := decodeProblem(t, resp, body, http.StatusRequestEntityTooLarge); p.Code != "file_too_large" {
		t.Errorf("code %s", p.Code)
	}
	e.waitSettled(t, u.UserID)
	if n := e.blobs(t); n != before {
		t.Errorf("%d blobs left", n-before)
	}
}

// waitSettled waits until no upload of user is in flight (the server finishes a failed one
// after the client's answer), then checks that nothing was recorded.
func (e *fileEnv) waitSettled(t *testing.T, user string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := e.s.App.Store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM file_uploads WHERE user_id = $1`, user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads still in flight", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	used, reserved, count := e.usageRow(t, user)
	if used != 0 || reserved != 0 || count != 0 {
		t.Errorf("after a failed upload: used %d reserved %d count %d", used, reserved, count)
	}
}

// brokenBody sends some bytes, then fails: the client aborts the request mid-body.
type brokenBody struct {
	sent int
	gate chan struct{}
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.sent >= 200<<10 {
		<-b.gate // hold until the server has started storing, then go away
		return 0, errors.New("client gave up")
	}
	n := min(len(p), 200<<10-b.sent)
	for i := range p[:n] {
		p[i] = 'x'
	}
	b.sent += n
	return n, nil
}

func (e *fileEnv) testDisconnect(t *testing.T) {
	u := e.s.Register(t, "gone-"+e.name+"@example.com")
	before := e.blobs(t)
	body := &brokenBody{gate: make(chan struct{})}
	streaming := make(chan bool, 1)
	go func() {
		// The upload row and its first reservation exist once streaming has begun.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var reserved int64
			_ = e.s.App.Store.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(reserved_bytes), 0) FROM file_uploads WHERE user_id = $1`, u.UserID).Scan(&reserved)
			if reserved > 0 {
				streaming <- true
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(body.gate)
		streaming <- false
	}()
	req := e.s.Request(t, http.MethodPost, "/v1/files?filename=partial.bin", io.Reader(body), u.Bearer())
	req.Header.Set("Content-Type", "application/octet-stream")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("the aborted upload got an answer: %d", resp.StatusCode)
	}
	// Bytes were stored (and paid for) while the client was still sending: nothing buffered
	// the body before the handler.
	if !<-streaming {
		t.Error("the server reserved nothing before the body ended: the upload was not streamed")
	}
	e.waitSettled(t, u.UserID)
	if n := e.blobs(t); n != before {
		t.Errorf("%d blobs left by the aborted upload", n-before)
	}
	resp, raw := e.s.Do(t, http.MethodGet, "/v1/files", nil, u.Bearer())
	if l := decodeInto[api.FileEntryList](t, resp, raw, http.StatusOK); len(l.Data) != 0 {
		t.Errorf("rows after the aborted upload: %+v", l.Data)
	}
}
