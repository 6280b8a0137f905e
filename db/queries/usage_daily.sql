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
