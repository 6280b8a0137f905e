-- name: InsertUsageEvents :batchexec
-- project_id is the session's project at the time of the request.
INSERT INTO usage_events (user_id, api_key_id, session_id, project_id, model, provider, input_tokens, output_tokens,
                          cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at)
VALUES (@user_id, sqlc.narg('api_key_id'), sqlc.narg('session_id'),
        (SELECT s.project_id FROM sessions s WHERE s.id = sqlc.narg('session_id')),
        @model, @provider, @input_tokens, @output_tokens,
        @cache_read_tokens, @cache_write_tokens, @cost::numeric, @status, sqlc.narg('stop_reason'), sqlc.narg('ttft_ms'), @duration_ms, @now);

-- name: InsertUsageEventRows :exec
-- A whole batch in one statement: rows is a JSON array of events (chat.usageRow), so the
-- database plans and runs one insert rather than one per event. As InsertUsageEvents, one by one.
INSERT INTO usage_events (user_id, api_key_id, session_id, project_id, model, provider, input_tokens, output_tokens,
                          cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at)
SELECT r.user_id, r.api_key_id, r.session_id, (SELECT s.project_id FROM sessions s WHERE s.id = r.session_id),
       r.model, r.provider, r.input_tokens, r.output_tokens,
       r.cache_read_tokens, r.cache_write_tokens, r.cost, r.status, r.stop_reason, r.ttft_ms, r.duration_ms, r.created_at
FROM jsonb_to_recordset(@rows::jsonb) AS r(user_id uuid, api_key_id uuid, session_id uuid, model text, provider text,
                                           input_tokens bigint, output_tokens bigint, cache_read_tokens bigint,
                                           cache_write_tokens bigint, cost numeric, status text, stop_reason text,
                                           ttft_ms double precision, duration_ms double precision, created_at timestamptz);

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
-- Hour buckets of [raw_from, raw_to): whole rolled-up days [rollup_from_at, rollup_to_at) from
-- usage_hourly, the edges from the raw events.
SELECT bucket::timestamptz AS bucket, sum(requests)::bigint AS requests, sum(tokens)::bigint AS tokens,
       sum(cost)::numeric AS cost, sum(errors)::bigint AS errors
FROM (
    SELECT h.hour AS bucket, h.requests, h.tokens, h.cost, h.errors
    FROM usage_hourly h
    WHERE h.hour >= @rollup_from_at AND h.hour < @rollup_to_at
    UNION ALL
    SELECT date_trunc('hour', e.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1,
           e.input_tokens + e.output_tokens + e.cache_read_tokens + e.cache_write_tokens, e.cost, (e.status = 'failed')::int
    FROM usage_events e
    WHERE (e.created_at >= @raw_from AND e.created_at < @rollup_from_at)
       OR (e.created_at >= @rollup_to_at AND e.created_at < @raw_to)
) src
GROUP BY 1; -- unordered: the caller places buckets by time, and hashing spares a sort

-- name: UsageHourlyActiveUsers :many
-- Distinct users per hour bucket, apart from UsageHourly: a DISTINCT aggregate rules out hash
-- aggregation, and the sort it needs is most of the cost of the other metrics.
SELECT (date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::timestamptz AS bucket,
       count(DISTINCT user_id)::bigint AS active_users
FROM usage_events
WHERE created_at >= @from_at AND created_at < @to_at
GROUP BY 1;
