-- name: StartUpload :exec
INSERT INTO file_uploads (id, user_id, blob_key, started_at, touched_at) VALUES (@id, @user_id, @blob_key, @now, @now);

-- name: GrowUpload :exec
UPDATE file_uploads SET reserved_bytes = reserved_bytes + @bytes, touched_at = @now WHERE id = @id;

-- name: EndUpload :exec
-- Releases the reservation; the trigger queues the blob unless a files row now owns it.
DELETE FROM file_uploads WHERE id = @id;

-- name: EndStaleUploads :execrows
-- Uploads nobody has touched since before (their server died): release and queue their blobs.
DELETE FROM file_uploads WHERE touched_at < @before;
