-- name: InsertMessage :one
INSERT INTO messages (session_id, user_id, seq, role, content, content_text, metadata, input_tokens, output_tokens, cost, created_at)
VALUES (@session_id, @user_id, @seq, @role, @content, @content_text, @metadata, @input_tokens, @output_tokens, @cost::numeric, @now)
RETURNING *;

-- name: MessageSeq :one
SELECT seq FROM messages WHERE id = @id AND session_id = @session_id AND user_id = @user_id;

-- name: ListMessagesAsc :many
SELECT * FROM messages
WHERE session_id = @session_id
  AND (sqlc.narg('role')::text IS NULL OR role = sqlc.narg('role'))
  AND seq > @after_seq AND seq < @before_seq
ORDER BY seq
LIMIT @max_rows;

-- name: ListMessagesDesc :many
SELECT * FROM messages
WHERE session_id = @session_id
  AND (sqlc.narg('role')::text IS NULL OR role = sqlc.narg('role'))
  AND seq > @after_seq AND seq < @before_seq
ORDER BY seq DESC
LIMIT @max_rows;

-- name: SessionMessages :many
-- The whole history of a session, oldest first, for use_session_history.
SELECT * FROM messages WHERE session_id = @session_id AND user_id = @user_id ORDER BY seq;
