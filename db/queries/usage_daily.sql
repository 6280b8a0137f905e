-- name: DeleteUsageDay :exec
-- One day out of every daily rollup; [day_start, day_end) are its bounds for the hourly one.
WITH model AS (DELETE FROM usage_daily_model WHERE day = @day::date),
     usr AS (DELETE FROM usage_daily_user WHERE day = @day::date),
     hours AS (DELETE FROM usage_hourly WHERE hour >= @day_start AND hour < @day_end)
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

-- name: InsertUsageDayModel :exec
-- The day's coarse rollup by model and provider, summed from its usage_daily rows.
INSERT INTO usage_daily_model (day, model, provider, requests, input_tokens, output_tokens, cache_read_tokens,
                               cache_write_tokens, cost, errors)
SELECT day, model, provider, sum(requests), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_tokens), sum(cost), sum(errors)
FROM usage_daily WHERE day = @day::date
GROUP BY day, model, provider;

-- name: InsertUsageDayUser :exec
-- The day's rollup by user and API key, summed from its usage_daily rows.
INSERT INTO usage_daily_user (day, user_id, api_key_id, requests, input_tokens, output_tokens, cache_read_tokens,
                              cache_write_tokens, cost, errors)
SELECT day, user_id, api_key_id, sum(requests), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_tokens), sum(cost), sum(errors)
FROM usage_daily WHERE day = @day::date
GROUP BY day, user_id, api_key_id;

-- name: InsertUsageDayHours :exec
-- The day's hour buckets by model and provider from its raw events (usage_daily has no hours).
INSERT INTO usage_hourly (hour, model, provider, requests, tokens, cost, errors)
SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, count(*),
       sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), sum(cost),
       count(*) FILTER (WHERE status = 'failed')
FROM usage_events
WHERE created_at >= @day_start AND created_at < @day_end
GROUP BY 1, 2, 3;

-- name: DeleteUsageMonth :exec
DELETE FROM usage_monthly_user WHERE month = @month::date;

-- name: InsertUsageMonth :exec
-- A month's rollup by user and API key: the sum of its days in usage_daily_user.
INSERT INTO usage_monthly_user (month, user_id, api_key_id, requests, input_tokens, output_tokens, cache_read_tokens,
                                cache_write_tokens, cost, errors)
SELECT @month::date, user_id, api_key_id, sum(requests), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_tokens), sum(cost), sum(errors)
FROM usage_daily_user WHERE day >= @month::date AND day < @month_end::date
GROUP BY user_id, api_key_id;

-- name: DeleteUsageDaysBefore :execrows
-- Retention: day is a month's first day, so whole months leave the monthly rollup too.
WITH model AS (DELETE FROM usage_daily_model WHERE day < @day::date),
     usr AS (DELETE FROM usage_daily_user WHERE day < @day::date),
     months AS (DELETE FROM usage_monthly_user WHERE month < @day::date),
     hours AS (DELETE FROM usage_hourly WHERE hour < @day_start)
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
-- [rollup_from, rollup_to) come from usage_daily (usage_daily_model when coarse), the rest (partial
-- days at the edges, days not yet rolled up) from usage_events, so the answer is exact and the raw part prunes to its partitions.
WITH src AS (
    SELECT d.day, d.user_id, d.api_key_id, d.model, d.provider, d.requests, d.input_tokens, d.output_tokens,
           d.cache_read_tokens, d.cache_write_tokens, d.cost, d.errors
    FROM usage_daily d
    WHERE NOT @coarse::bool AND d.day >= @rollup_from::date AND d.day < @rollup_to::date
      AND (sqlc.narg('user_id')::uuid IS NULL OR d.user_id = sqlc.narg('user_id'))
      AND (sqlc.narg('project_id')::uuid IS NULL OR d.project_id = sqlc.narg('project_id'))
      AND (sqlc.narg('model')::text IS NULL OR d.model = sqlc.narg('model'))
    UNION ALL
    -- coarse: the question needs neither users, keys nor projects (the caller checked).
    SELECT m.day, NULL::uuid, NULL::uuid, m.model, m.provider, m.requests, m.input_tokens, m.output_tokens,
           m.cache_read_tokens, m.cache_write_tokens, m.cost, m.errors
    FROM usage_daily_model m
    WHERE @coarse::bool AND m.day >= @rollup_from::date AND m.day < @rollup_to::date
      AND (sqlc.narg('model')::text IS NULL OR m.model = sqlc.narg('model'))
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

-- name: UsageTopUsersKeys :many
-- The largest users (is_user) and API keys of [raw_from, raw_to) by cost or tokens, at most
-- max_rows of each, largest first (ties by key). Whole months in [month_from, month_to) come
-- from usage_monthly_user, the other whole days in [rollup_from, rollup_to) from
-- usage_daily_user, the edges from usage_events: a month ranks about ten thousand rows, not the
-- near one row per event of usage_daily.
WITH src AS (
    SELECT m.user_id, m.api_key_id, m.requests, m.input_tokens, m.output_tokens, m.cache_read_tokens,
           m.cache_write_tokens, m.cost, m.errors
    FROM usage_monthly_user m
    WHERE m.month >= @month_from::date AND m.month < @month_to::date
    UNION ALL
    SELECT d.user_id, d.api_key_id, d.requests, d.input_tokens, d.output_tokens, d.cache_read_tokens,
           d.cache_write_tokens, d.cost, d.errors
    FROM usage_daily_user d
    WHERE (d.day >= @rollup_from::date AND d.day < @month_from::date)
       OR (d.day >= @month_to::date AND d.day < @rollup_to::date)
    UNION ALL
    SELECT e.user_id, e.api_key_id, 1, e.input_tokens, e.output_tokens, e.cache_read_tokens, e.cache_write_tokens,
           e.cost, (e.status = 'failed')::int
    FROM usage_events e
    WHERE (e.created_at >= @raw_from AND e.created_at < @rollup_from_at)
       OR (e.created_at >= @rollup_to_at AND e.created_at < @raw_to)
), grouped AS (
    SELECT GROUPING(user_id) = 0 AS is_user, coalesce(user_id, api_key_id)::text AS key,
           sum(requests)::bigint AS requests, sum(input_tokens)::bigint AS input_tokens,
           sum(output_tokens)::bigint AS output_tokens, sum(cache_read_tokens)::bigint AS cache_read_tokens,
           sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(cost)::numeric AS cost, sum(errors)::bigint AS errors
    FROM src
    GROUP BY GROUPING SETS ((user_id), (api_key_id))
)
-- Each ranking on its own: a top-N sort of one set, not a sort of every group.
(SELECT g.is_user::bool AS is_user, g.key::text AS key, g.requests, g.input_tokens, g.output_tokens, g.cache_read_tokens,
        g.cache_write_tokens, g.cost, g.errors
 FROM grouped g WHERE g.is_user
 ORDER BY CASE WHEN @by::text = 'tokens' THEN (g.input_tokens + g.output_tokens + g.cache_read_tokens + g.cache_write_tokens)::numeric
                   ELSE g.cost END DESC, g.key COLLATE "C"
         LIMIT @max_rows::bigint)
UNION ALL
(SELECT g.is_user::bool AS is_user, g.key::text AS key, g.requests, g.input_tokens, g.output_tokens, g.cache_read_tokens,
        g.cache_write_tokens, g.cost, g.errors
 FROM grouped g WHERE NOT g.is_user AND g.key IS NOT NULL -- requests without an API key are no key's
 ORDER BY CASE WHEN @by::text = 'tokens' THEN (g.input_tokens + g.output_tokens + g.cache_read_tokens + g.cache_write_tokens)::numeric
                   ELSE g.cost END DESC, g.key COLLATE "C"
         LIMIT @max_rows::bigint);

-- name: SetRankingWorkMem :exec
-- For this transaction only: ranking a month hashes every user and key of it (~30,000 groups
-- at 10,000 users), which spills to disk at the default work_mem.
SELECT set_config('work_mem', '64MB', true);
