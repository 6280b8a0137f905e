-- name: InsertUsageEvents :batchexec
-- project_id is the session's project at the time of the request.
INSERT INTO usage_events (user_id, api_key_id, session_id, project_id, model, provider, input_tokens, output_tokens,
                          cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at)
VALUES (@user_id, sqlc.narg('api_key_id'), sqlc.narg('session_id'),
        (SELECT s.project_id FROM sessions s WHERE s.id = sqlc.narg('session_id')),
        @model, @provider, @input_tokens, @output_tokens,
        @cache_read_tokens, @cache_write_tokens, @cost::numeric, @status, sqlc.narg('stop_reason'), sqlc.narg('ttft_ms'), @duration_ms, @now);

-- name: ListUsageEvents :many
SELECT * FROM usage_events WHERE user_id = $1 ORDER BY id;
