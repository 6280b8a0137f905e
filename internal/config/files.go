package config

import (
	"net/url"
	"time"
)

// Files are the settings of file storage (internal/files).
type Files struct {
	// BlobURL (CCB_BLOB_URL) names the blob store: file://DIR (created if missing) or
	// s3://BUCKET?endpoint=URL&use_path_style=true&region=R.
	BlobURL string
	// MaxFileBytes (CCB_MAX_FILE_BYTES) is the largest file; more is a 413 while streaming.
	MaxFileBytes int64
	// QuotaBytes (CCB_FILE_QUOTA_BYTES) is what one user's files and uploads in flight may hold.
	QuotaBytes int64
	// SweepEvery (CCB_FILE_SWEEP_INTERVAL) is how often queued blob deletions and dead uploads are swept.
	SweepEvery time.Duration
	// UploadStale (CCB_FILE_UPLOAD_STALE): an upload untouched this long is taken for one whose
	// server died; the sweep ends it.
	UploadStale time.Duration
	// The S3 store's credentials, from the standard AWS variables (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), read here and handed to the client explicitly.
	AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string
}

// files reads the file storage settings.
func (r *reader) files() Files {
	f := Files{
		BlobURL:      r.str("CCB_BLOB_URL", "file://./.data/blobs"),
		MaxFileBytes: r.positiveInt("CCB_MAX_FILE_BYTES", 100<<20),
		QuotaBytes:   r.positiveInt("CCB_FILE_QUOTA_BYTES", 1<<30),
		SweepEvery:   r.duration("CCB_FILE_SWEEP_INTERVAL", time.Minute),
		UploadStale:  r.duration("CCB_FILE_UPLOAD_STALE", time.Hour),

		AWSAccessKeyID:     r.str("AWS_ACCESS_KEY_ID", ""),
		AWSSecretAccessKey: r.str("AWS_SECRET_ACCESS_KEY", ""),
		AWSSessionToken:    r.str("AWS_SESSION_TOKEN", ""),
	}
	u, err := url.Parse(f.BlobURL)
	switch {
	case err != nil:
		r.fail("CCB_BLOB_URL", "not a URL")
	case u.Scheme == "file" && u.Host+u.Path == "":
		r.fail("CCB_BLOB_URL", "file:// URL names no directory (e.g. file://./.data/blobs)")
	case u.Scheme == "s3" && u.Host == "":
		r.fail("CCB_BLOB_URL", "s3:// URL names no bucket (e.g. s3://bucket?region=us-east-1)")
	case u.Scheme != "file" && u.Scheme != "s3":
		r.fail("CCB_BLOB_URL", "scheme %q is not file or s3", u.Scheme)
	}
	if (f.AWSAccessKeyID == "") != (f.AWSSecretAccessKey == "") {
		r.fail("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together")
	}
	return f
}
