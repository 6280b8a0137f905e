package files

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
)

// S3Credentials are the static credentials of an S3-compatible store. They come from
// internal/config (which reads the standard AWS_* variables) and are handed to the client
// explicitly, so the AWS SDK never reads the environment or shared config files itself.
type S3Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// OpenBucket opens the blob store named by rawURL:
//   - file://DIR (file://./rel or file:///abs): a local directory, created if missing;
//   - s3://BUCKET?endpoint=URL&use_path_style=true&region=R: an S3-compatible store. Request
//     checksums are sent only when an operation requires them (many S3-compatible stores reject
//     the SDK's default CRC32 trailers); `request_checksum_calculation=when_supported` restores
//     the SDK's default.
//
// presign reports whether the store signs download URLs itself.
func OpenBucket(ctx context.Context, rawURL string, creds S3Credentials) (b *blob.Bucket, presign bool, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, false, fmt.Errorf("files: blob URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		dir := u.Host + u.Path // file://./x → "./x"; file:///x → "/x"
		if dir == "" {
			return nil, false, fmt.Errorf("files: blob URL %q names no directory", rawURL)
		}
		dir = filepath.Clean(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("files: blob directory: %w", err)
		}
		// Temporary files go next to the blobs (the same mount, so the final rename works) and no
		// attribute sidecars are written: metadata lives in PostgreSQL.
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
		return b, false, err
	case "s3":
		b, err := openS3(ctx, u, creds)
		return b, true, err
	}
	return nil, false, fmt.Errorf("files: blob URL scheme %q is not file or s3", u.Scheme)
}

func openS3(ctx context.Context, u *url.URL, creds S3Credentials) (*blob.Bucket, error) {
	q := u.Query()
	region := q.Get("region")
	if region == "" {
		region = "us-east-1"
	}
	cfg := aws.Config{
		Region:                     region,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if strings.EqualFold(q.Get("request_checksum_calculation"), "when_supported") {
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
	if creds.AccessKeyID != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	} else {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep := q.Get("endpoint"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
		o.UsePathStyle = q.Get("use_path_style") == "true"
	})
	return s3blob.OpenBucket(ctx, client, u.Host, nil)
}
