package files

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gocloud.dev/gcerrors"

	"github.com/ccbackend/ccbackend/internal/periodic"
)

// sweepBatch is how many queued blob deletions one pass handles per round.
const sweepBatch = 500

// Orphans are avoided by construction rather than found by listing the store: an upload's blob
// key is written (file_uploads) before its first byte, and every row that goes away queues its
// key (blob_deletions) in the same transaction. So the sweep only has to
//  1. end the uploads nobody touched for UploadStale (their server died mid-upload: the
//     trigger releases the reservation and queues the key), and
//  2. delete every queued blob from the store, then its queue entry.
// Listing the bucket is never needed, which keeps the sweep cheap on large S3 buckets.

// Sweep runs one pass.
func (s *Service) Sweep(ctx context.Context) error {
	if _, err := s.store.Queries().EndStaleUploads(ctx, s.now().Add(-s.set.UploadStale)); err != nil {
		return err
	}
	for {
		keys, err := s.store.Queries().PendingBlobDeletions(ctx, sweepBatch)
		if err != nil {
			return err
		}
		failed := 0
		for _, k := range keys {
			if !s.deleteBlob(ctx, k) {
				failed++
			}
		}
		if len(keys) < sweepBatch || failed == len(keys) {
			return nil
		}
	}
}

// RunSweep sweeps every interval until ctx ends.
func (s *Service) RunSweep(ctx context.Context, every time.Duration, log *slog.Logger) {
	periodic.Every(ctx, every, log, "files: sweep", s.Sweep)
}

// deleteBlob removes key from the store (a missing blob counts as removed) and then its queue
// entry. It reports success; on failure the entry stays for the next sweep.
func (s *Service) deleteBlob(ctx context.Context, key string) bool {
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		s.log.Warn("files: deleting a blob", slog.String("error", err.Error()))
		return false
	}
	if err := s.store.Queries().BlobDeleted(ctx, key); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("files: dequeuing a deleted blob", slog.String("error", err.Error()))
		return false
	}
	return true
}
