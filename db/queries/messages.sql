-- name: InsertMessage :one
-- created_at never goes before the previous message's: @now is read before the session row lock
-- that orders concurrent appends (and clocks differ between replicas), so a later seq could
-- otherwise carry an earlier time. The caller holds that lock, so the previous message is
-- committed and visible here.
INSERT INTO messages (session_id, user_id, seq, role, content, content_text, metadata, input_tokens, output_tokens, cost, created_at)
VALUES (@session_id, @user_id, @seq, @role, @content, @content_text, @metadata, @input_tokens, @output_tokens, @cost::numeric,
        greatest(@now::timestamptz, (SELECT p.created_at FROM messages p WHERE p.session_id = @session_id AND p.seq < @seq ORDER BY p.seq DESC LIMIT 1)))
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
