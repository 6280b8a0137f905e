package files

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"github.com/gabriel-vasile/mimetype"
	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// sniffBytes is how much of the head the content-type sniffer looks at (mimetype's default).
const sniffBytes = 3072

// meter sits between the request body and the blob writer: it counts, hashes and keeps the
// head for sniffing, refuses the byte that passes the size limit, and reserves quota before
// the bytes it covers are written, so what is stored is always paid for.
type meter struct {
	ctx      context.Context
	s        *Service
	user     uuid.UUID
	upload   uuid.UUID
	dst      io.Writer
	sum      hash.Hash
	head     []byte
	n        int64
	reserved int64
}

func newMeter(ctx context.Context, s *Service, user, upload uuid.UUID, dst io.Writer) *meter {
	return &meter{ctx: ctx, s: s, user: user, upload: upload, dst: dst, sum: sha256.New()}
}

func (m *meter) Write(p []byte) (int, error) {
	next := m.n + int64(len(p))
	if next > m.s.set.MaxFileBytes {
		return 0, apperr.New(apperr.TooLarge, "file_too_large",
			fmt.Sprintf("the file is larger than the limit of %d bytes", m.s.set.MaxFileBytes))
	}
	if next > m.reserved {
		if err := m.reserve(next - m.reserved); err != nil {
			return 0, err
		}
	}
	if len(m.head) < sniffBytes {
		m.head = append(m.head, p[:min(len(p), sniffBytes-len(m.head))]...)
	}
	m.sum.Write(p)
	n, err := m.dst.Write(p)
	m.n += int64(n)
	return n, err
}

// reserve claims at least need more bytes of the user's quota: a whole step when the quota
// allows it, else exactly what is needed; neither → 413 quota_exceeded.
func (m *meter) reserve(need int64) error {
	step := min(max(need, m.s.set.ReserveStep), m.s.set.MaxFileBytes-m.reserved)
	for _, want := range []int64{step, need} {
		ok := false
		err := m.s.store.InTx(m.ctx, func(q *db.Queries) error {
			rows, err := q.ReserveFileBytes(m.ctx, db.ReserveFileBytesParams{UserID: m.user, Bytes: want, Quota: m.s.set.QuotaBytes})
			if err != nil || rows == 0 {
				return err
			}
			ok = true
			return q.GrowUpload(m.ctx, db.GrowUploadParams{ID: m.upload, Bytes: want, Now: m.s.now()})
		})
		if err != nil {
			return err
		}
		if ok {
			m.reserved += want
			return nil
		}
		if want == need {
			break
		}
	}
	return m.quotaExceeded()
}

func (m *meter) quotaExceeded() error {
	u, err := m.s.store.Queries().GetFileUsage(m.ctx, m.user)
	if err != nil {
		return err
	}
	return apperr.New(apperr.TooLarge, "quota_exceeded", fmt.Sprintf(
		"the upload does not fit in the storage quota: quota_bytes %d, used_bytes %d, reserved by uploads in progress %d",
		m.s.set.QuotaBytes, u.UsedBytes, u.ReservedBytes))
}

// contentType is the sniffed type of what was written.
func (m *meter) contentType() string { return mimetype.Detect(m.head).String() }

func (m *meter) sha256() string { return fmt.Sprintf("%x", m.sum.Sum(nil)) }
