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

-- name: ListUserUsageEvents :many
-- The caller's events, newest first; keyset on (created_at, id).
SELECT * FROM usage_events
WHERE user_id = @user_id
  AND (created_at, id) < (coalesce(sqlc.narg('before_created')::timestamptz, 'infinity'),
                          coalesce(sqlc.narg('before_id')::bigint, 9223372036854775807))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: UsageHourly :many
-- Hour buckets of [from_at, to_at) from the raw events (the rollups are daily).
SELECT (date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::timestamptz AS bucket,
       count(*)::bigint AS requests,
       coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)::bigint AS tokens,
       coalesce(sum(cost), 0)::numeric AS cost,
       count(*) FILTER (WHERE status = 'failed')::bigint AS errors
FROM usage_events
WHERE created_at >= @from_at AND created_at < @to_at
GROUP BY 1; -- unordered: the caller places buckets by time, and hashing spares a sort

-- name: UsageHourlyActiveUsers :many
-- Distinct users per hour bucket, apart from UsageHourly: a DISTINCT aggregate rules out hash
-- aggregation, and the sort it needs is most of the cost of the other metrics.
SELECT (date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::timestamptz AS bucket,
       count(DISTINCT user_id)::bigint AS active_users
FROM usage_events
WHERE created_at >= @from_at AND created_at < @to_at
GROUP BY 1;
