package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// newFiles opens the blob store of CCB_BLOB_URL and builds the files service.
func newFiles(ctx context.Context, cfg config.Config, st *store.Store, cursors *page.Cursors, log *slog.Logger) (*files.Service, error) {
	f := cfg.Files
	bucket, presign, err := files.OpenBucket(ctx, f.BlobURL, files.S3Credentials{
		AccessKeyID: f.AWSAccessKeyID, SecretAccessKey: f.AWSSecretAccessKey, SessionToken: f.AWSSessionToken})
	if err != nil {
		return nil, err
	}
	return files.New(st, bucket, presign, cursors, time.Now, secret.DeriveKey(cfg.SecretKey, "file-urls", 32),
		files.Settings{MaxFileBytes: f.MaxFileBytes, QuotaBytes: f.QuotaBytes, UploadStale: f.UploadStale}, log), nil
}
