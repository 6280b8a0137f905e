-- name: PendingBlobDeletions :many
SELECT blob_key FROM blob_deletions ORDER BY enqueued_at LIMIT @max_rows;

-- name: BlobDeleted :exec
DELETE FROM blob_deletions WHERE blob_key = @blob_key;
