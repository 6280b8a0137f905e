package files

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"gocloud.dev/blob"

	"github.com/ccbackend/ccbackend/gen/db"
)

// SignedURL is a download link that works without credentials until Expires.
type SignedURL struct {
	URL     string
	Expires time.Time
}

// CreateFileUrl returns a short-lived download URL of user's file: the store's own presigned URL
// (S3, asking it to answer with the sniffed type and as an attachment), or this server's
// /v1/files/{id}/download signed with an HMAC over the id, the content hash and the expiry
// (a path relative to this server).
func (s *Service) CreateFileUrl(ctx context.Context, user, id uuid.UUID, ttl time.Duration) (SignedURL, error) { //nolint:revive // the operationId
	row, err := s.store.Queries().GetFile(ctx, db.GetFileParams{ID: id, UserID: user})
	if err != nil {
		return SignedURL{}, notFoundIfMissing(err)
	}
	exp := s.now().Add(ttl).Truncate(time.Second)
	if s.presign {
		u, err := s.bucket.SignedURL(ctx, row.BlobKey, &blob.SignedURLOptions{Expiry: ttl, Method: "GET", BeforeSign: func(as func(any) bool) error {
			var in *s3.GetObjectInput
			if as(&in) {
				in.ResponseContentType = aws.String(row.ContentType)
				in.ResponseContentDisposition = aws.String(mime.FormatMediaType("attachment", map[string]string{"filename": row.Name}))
			}
			return nil
		}})
		if err != nil {
			return SignedURL{}, err
		}
		return SignedURL{URL: u, Expires: exp}, nil
	}
	q := url.Values{"expires": {strconv.FormatInt(exp.Unix(), 10)}, "signature": {s.sign(row.ID, row.Sha256, exp.Unix())}}
	return SignedURL{URL: fmt.Sprintf("/v1/files/%s/download?%s", row.ID, q.Encode()), Expires: exp}, nil
}

func (s *Service) sign(id uuid.UUID, sha string, expires int64) string {
	m := hmac.New(sha256.New, s.signKey)
	fmt.Fprintf(m, "file-download\x00%s\x00%s\x00%d", id, sha, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// DownloadFile opens a file through a signed URL. An expired, tampered or foreign signature is
// NotFound, like a missing file, so a URL reveals nothing once it stops working. Binding the
// content hash means a URL never serves other bytes than the ones it was made for.
func (s *Service) DownloadFile(ctx context.Context, id uuid.UUID, expires int64, signature string) (Content, error) {
	if s.now().Unix() > expires {
		return Content{}, errNotFound
	}
	row, err := s.store.Queries().FileByID(ctx, id)
	if err != nil {
		return Content{}, notFoundIfMissing(err)
	}
	if !hmac.Equal([]byte(s.sign(row.ID, row.Sha256, expires)), []byte(signature)) {
		return Content{}, errNotFound
	}
	return s.content(row), nil
}
