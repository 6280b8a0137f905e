-- name: DeleteUsageDay :exec
DELETE FROM usage_daily WHERE day = @day::date;

-- name: InsertUsageDay :execrows
-- One UTC day of usage_events aggregated; [day_start, day_end) are that day's bounds, so the
-- scan is a range on created_at that prunes to one partition.
INSERT INTO usage_daily (day, user_id, api_key_id, project_id, model, provider, requests, input_tokens, output_tokens,
                         cache_read_tokens, cache_write_tokens, cost, errors, latency_p50_ms, latency_p95_ms)
SELECT @day::date, user_id, api_key_id, project_id, model, provider, count(*), sum(input_tokens), sum(output_tokens),
       sum(cache_read_tokens), sum(cache_write_tokens), sum(cost), count(*) FILTER (WHERE status = 'failed'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
FROM usage_events
WHERE created_at >= @day_start AND created_at < @day_end
GROUP BY user_id, api_key_id, project_id, model, provider;

-- name: DeleteUsageDaysBefore :execrows
DELETE FROM usage_daily WHERE day < @day::date;

-- name: GetRollupState :one
SELECT rolled_until FROM usage_rollup_state;

-- name: SetRollupState :exec
INSERT INTO usage_rollup_state (singleton, rolled_until) VALUES (true, @rolled_until::date)
ON CONFLICT (singleton) DO UPDATE SET rolled_until = greatest(usage_rollup_state.rolled_until, EXCLUDED.rolled_until);

-- name: FirstUsageEventAt :one
SELECT created_at FROM usage_events ORDER BY created_at LIMIT 1;

-- name: UsageGroups :many
-- Usage in [raw_from, raw_to) grouped by group_by, plus a totals row (total = true). Whole days in
-- [rollup_from, rollup_to) come from usage_daily, the rest (partial days at the edges, days not yet
-- rolled up) from usage_events, so the answer is exact and the raw part prunes to its partitions.
WITH src AS (
    SELECT d.day, d.user_id, d.api_key_id, d.model, d.provider, d.requests, d.input_tokens, d.output_tokens,
           d.cache_read_tokens, d.cache_write_tokens, d.cost, d.errors
    FROM usage_daily d
    WHERE d.day >= @rollup_from::date AND d.day < @rollup_to::date
      AND (sqlc.narg('user_id')::uuid IS NULL OR d.user_id = sqlc.narg('user_id'))
      AND (sqlc.narg('project_id')::uuid IS NULL OR d.project_id = sqlc.narg('project_id'))
      AND (sqlc.narg('model')::text IS NULL OR d.model = sqlc.narg('model'))
    UNION ALL
    SELECT (e.created_at AT TIME ZONE 'UTC')::date, e.user_id, e.api_key_id, e.model, e.provider, 1, e.input_tokens,
           e.output_tokens, e.cache_read_tokens, e.cache_write_tokens, e.cost, (e.status = 'failed')::int
    FROM usage_events e
    WHERE e.created_at >= @raw_from AND e.created_at < @rollup_from_at
      AND (sqlc.narg('user_id')::uuid IS NULL OR e.user_id = sqlc.narg('user_id'))
      AND (sqlc.narg('project_id')::uuid IS NULL OR e.project_id = sqlc.narg('project_id'))
      AND (sqlc.narg('model')::text IS NULL OR e.model = sqlc.narg('model'))
    UNION ALL
    SELECT (e.created_at AT TIME ZONE 'UTC')::date, e.user_id, e.api_key_id, e.model, e.provider, 1, e.input_tokens,
           e.output_tokens, e.cache_read_tokens, e.cache_write_tokens, e.cost, (e.status = 'failed')::int
    FROM usage_events e
    WHERE e.created_at >= @rollup_to_at AND e.created_at < @raw_to
      AND (sqlc.narg('user_id')::uuid IS NULL OR e.user_id = sqlc.narg('user_id'))
      AND (sqlc.narg('project_id')::uuid IS NULL OR e.project_id = sqlc.narg('project_id'))
      AND (sqlc.narg('model')::text IS NULL OR e.model = sqlc.narg('model'))
), keyed AS (
    SELECT CASE @group_by::text
               WHEN 'day' THEN to_char(src.day, 'YYYY-MM-DD')
               WHEN 'week' THEN to_char(date_trunc('week', src.day), 'YYYY-MM-DD')
               WHEN 'month' THEN to_char(date_trunc('month', src.day), 'YYYY-MM-DD')
               WHEN 'model' THEN src.model
               WHEN 'provider' THEN src.provider
               WHEN 'user' THEN src.user_id::text
               ELSE coalesce(src.api_key_id::text, '')
           END AS key, src.*
    FROM src
)
SELECT coalesce(key, '')::text AS key, (GROUPING(key) = 1)::bool AS total,
       coalesce(sum(requests), 0)::bigint AS requests,
       coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(cache_read_tokens), 0)::bigint AS cache_read_tokens,
       coalesce(sum(cache_write_tokens), 0)::bigint AS cache_write_tokens,
       coalesce(sum(cost), 0)::numeric AS cost,
       coalesce(sum(errors), 0)::bigint AS errors,
       count(DISTINCT user_id) FILTER (WHERE @count_users::bool)::bigint AS active_users
FROM keyed
GROUP BY GROUPING SETS ((key), ())
ORDER BY 2, 1;
