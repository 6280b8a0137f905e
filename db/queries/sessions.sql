-- name: CreateSession :one
INSERT INTO sessions (user_id, project_id, title, model, system_prompt, created_at, updated_at)
VALUES (@user_id, sqlc.narg('project_id'), sqlc.narg('title'), sqlc.narg('model'), sqlc.narg('system_prompt'), @now, @now)
RETURNING *;

-- name: GetSession :one
SELECT * FROM sessions WHERE id = @id AND user_id = @user_id;

-- name: ListSessions :many
-- Most recently active first; keyset on (activity, id). `q` searches titles and
-- message contents (web-search syntax).
SELECT * FROM sessions s
WHERE s.user_id = @user_id
  AND (sqlc.narg('project_id')::uuid IS NULL OR s.project_id = sqlc.narg('project_id'))
  AND (sqlc.narg('status')::text IS NULL OR s.status = sqlc.narg('status'))
  AND (sqlc.narg('q')::text IS NULL
       OR to_tsvector('simple', coalesce(s.title, '')) @@ websearch_to_tsquery('simple', sqlc.narg('q')::text)
       OR s.id IN (SELECT m.session_id FROM messages m
                   WHERE m.user_id = @user_id
                     AND to_tsvector('simple', m.content_text) @@ websearch_to_tsquery('simple', sqlc.narg('q')::text)))
  AND (coalesce(s.last_activity_at, s.created_at), s.id)
      < (coalesce(sqlc.narg('before_activity')::timestamptz, 'infinity'),
         coalesce(sqlc.narg('before_id')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY coalesce(s.last_activity_at, s.created_at) DESC, s.id DESC
LIMIT @max_rows;

-- name: UpdateSession :one
UPDATE sessions
SET project_id = sqlc.narg('project_id'), title = sqlc.narg('title'), model = sqlc.narg('model'),
    system_prompt = sqlc.narg('system_prompt'), status = @status,
    version = version + 1, updated_at = @now
WHERE id = @id AND user_id = @user_id
  AND (sqlc.narg('expected_version')::bigint IS NULL OR version = sqlc.narg('expected_version'))
RETURNING *;

-- name: DeleteSession :execrows
DELETE FROM sessions
WHERE id = @id AND user_id = @user_id
  AND (sqlc.narg('expected_version')::bigint IS NULL OR version = sqlc.narg('expected_version'));

-- name: SessionTotals :one
SELECT count(*) FILTER (WHERE status = 'active')::bigint AS active_sessions,
       count(*)::bigint AS total_sessions,
       coalesce(sum(message_count), 0)::bigint AS total_messages,
       coalesce(sum(input_tokens + output_tokens), 0)::bigint AS total_tokens,
       coalesce(sum(total_cost), 0)::float8 AS total_cost
FROM sessions WHERE user_id = @user_id;

-- name: RecordSessionActivity :one
-- Adds one message to the session's totals and returns its position, and the session's title (a
-- chat's end event carries it, without a read of its own). The row lock this takes serialises
-- concurrent inserts into one session, so totals and positions stay exact.
UPDATE sessions
SET message_count = message_count + 1,
    input_tokens = input_tokens + @input_tokens,
    output_tokens = output_tokens + @output_tokens,
    total_cost = total_cost + @cost::numeric,
    first_activity_at = coalesce(first_activity_at, @now),
    last_activity_at = @now,
    updated_at = @now,
    version = version + 1
WHERE id = @id AND user_id = @user_id
RETURNING message_count, title;

-- name: GetSessionForUpdate :one
SELECT * FROM sessions WHERE id = @id AND user_id = @user_id FOR UPDATE;

-- name: DetachProjectSessions :exec
-- Before a project is deleted its sessions leave it as a change of their own (new version), so
-- ETags and sync clients see it.
UPDATE sessions SET project_id = NULL, version = version + 1, updated_at = @now
WHERE project_id = @project_id AND user_id = @user_id;
