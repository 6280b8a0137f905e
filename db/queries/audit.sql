-- name: InsertAuditEntry :exec
INSERT INTO audit_log (action, outcome, actor_id, subject_id, ip, user_agent, request_id, details, occurred_at)
VALUES (@action, @outcome, sqlc.narg('actor_id'), sqlc.narg('subject_id'), sqlc.narg('ip'),
        sqlc.narg('user_agent'), sqlc.narg('request_id'), @details, @occurred_at);

-- name: ListAuditEntries :many
-- Newest first; keyset on id (identity order is insertion order).
SELECT * FROM audit_log
WHERE id < coalesce(sqlc.narg('before_id')::bigint, 9223372036854775807)
  AND (sqlc.narg('user_id')::uuid IS NULL OR actor_id = sqlc.narg('user_id') OR subject_id = sqlc.narg('user_id'))
  AND (sqlc.narg('action')::text IS NULL OR action = sqlc.narg('action'))
  AND (sqlc.narg('since')::timestamptz IS NULL OR occurred_at >= sqlc.narg('since'))
  AND (sqlc.narg('until')::timestamptz IS NULL OR occurred_at < sqlc.narg('until'))
ORDER BY id DESC
LIMIT @max_rows;
