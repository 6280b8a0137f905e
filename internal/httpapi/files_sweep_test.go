package httpapi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
)

// TestFileSweepEndsDeadUploads: a server that died mid-upload leaves its upload row, its
// reservation and a (partial) blob; the sweep releases the reservation and removes the blob,
// and leaves a live upload alone.
func TestFileSweepEndsDeadUploads(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newFileEnv(t, kind, nil)
			u := e.s.Register(t, "crash-"+kind+"@example.com")
			ctx := context.Background()
			pool := e.s.App.Store.Pool
			before := e.blobs(t)
			// What the dead server left: an old upload row with a reservation, and its blob.
			dead, live := "f/"+uuid.NewString(), "f/"+uuid.NewString()
			for _, k := range []struct {
				key string
				age time.Duration
			}{{dead, 2 * time.Hour}, {live, 0}} {
				if _, err := pool.Exec(ctx, `INSERT INTO file_usage (user_id, reserved_bytes) VALUES ($1, 100)
					ON CONFLICT (user_id) DO UPDATE SET reserved_bytes = file_usage.reserved_bytes + 100`, u.UserID); err != nil {
					t.Fatal(err)
				}
				if _, err := pool.Exec(ctx, `INSERT INTO file_uploads (user_id, blob_key, reserved_bytes, touched_at)
					VALUES ($1, $2, 100, now() - $3::interval)`, u.UserID, k.key, k.age.String()); err != nil {
					t.Fatal(err)
				}
				e.writeBlob(t, k.key, strings.Repeat("p", 100))
			}
			if n := e.blobs(t); n != before+2 {
				t.Fatalf("%d blobs before the sweep, want %d", n, before+2)
			}
			if err := e.s.App.Files.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if n := e.blobs(t); n != before+1 {
				t.Errorf("%d blobs after the sweep, want %d (the live upload's)", n, before+1)
			}
			if _, reserved, _ := e.usageRow(t, u.UserID); reserved != 100 {
				t.Errorf("reserved %d after the sweep, want 100 (the live upload's)", reserved)
			}
		})
	}
}

// writeBlob puts an object into the store behind the service's back (a crash's leftovers).
func (e *fileEnv) writeBlob(t *testing.T, key, content string) {
	t.Helper()
	if e.s3 != nil {
		_, err := e.s3.Client().PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(e.s3.Bucket), Key: aws.String(key), Body: strings.NewReader(content)})
		if err != nil {
			t.Fatalf("put object: %v", err)
		}
		return
	}
	p := filepath.Join(strings.TrimPrefix(e.s.App.Config.Files.BlobURL, "file://"), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
