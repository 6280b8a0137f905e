-- Bench data for internal/analytics' benchmarks: 10,000 users and 10 million usage events spread
-- evenly over the last 12 months (created_at ascending, as a live system writes them), a skewed
-- mix of models, one or two API keys per user plus JWT traffic, 2 % failures. psql -v n=10000000.
\set ON_ERROR_STOP on
DO $$
DECLARE m timestamptz;
BEGIN
    FOR m IN SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(months => g)
             FROM generate_series(1, 12) g LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
            'usage_events_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'),
            to_char(m AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00',
            to_char((m AT TIME ZONE 'UTC') + interval '1 month', 'YYYY-MM-DD HH24:MI:SS') || '+00');
    END LOOP;
END $$;

INSERT INTO users (id, email, password_hash)
SELECT md5('bench-user-' || g)::uuid, 'bench-' || g || '@example.com', 'x' FROM generate_series(1, 10000) g;

INSERT INTO usage_events (user_id, api_key_id, model, provider, input_tokens, output_tokens, cache_read_tokens,
                          cache_write_tokens, cost, status, ttft_ms, duration_ms, created_at)
SELECT md5('bench-user-' || u)::uuid,
       CASE WHEN r1 < 0.4 THEN NULL WHEN r1 < 0.8 THEN md5('bench-key-' || u || '-1')::uuid ELSE md5('bench-key-' || u || '-2')::uuid END,
       model, CASE WHEN model LIKE 'gpt%' THEN 'openai' ELSE 'anthropic' END,
       inp, outp, (inp * r2)::bigint, (inp * r2 / 4)::bigint,
       round((inp * 3 + outp * 15) / 1000000.0, 10),
       CASE WHEN r2 < 0.02 THEN 'failed' WHEN r2 < 0.03 THEN 'cancelled' ELSE 'completed' END,
       200 + r1 * 800, 500 + r2 * 20000, at
FROM (
    SELECT 1 + (hashint4(g) & 2147483647) % 10000 AS u,
           random() AS r1, random() AS r2,
           (ARRAY['claude-sonnet-4-5', 'claude-sonnet-4-5', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-haiku-4-5', 'claude-opus-4-1', 'gpt-4o'])[1 + g % 7] AS model,
           100 + (g % 5000) AS inp, 10 + (g % 1500) AS outp,
           date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '12 months'
             + (g::double precision / :n) * (now() - (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '12 months')) AS at
    FROM generate_series(0, :n - 1) g
) s;
-- A live table's BRIN ranges are summarized as they fill (autosummarize); one bulk insert needs it done here.
VACUUM ANALYZE;
