-- Back to one plain table with every row (ids kept, identity continuing after the largest).
DROP TABLE IF EXISTS usage_rollup_state;
DROP TABLE IF EXISTS usage_hourly;
DROP TABLE IF EXISTS usage_monthly_user;
DROP TABLE IF EXISTS usage_daily_user;
DROP TABLE IF EXISTS usage_daily_model;
DROP TABLE IF EXISTS usage_daily;

ALTER TABLE usage_events RENAME TO usage_events_parted;
ALTER INDEX usage_events_user_time_idx RENAME TO usage_events_parted_user_time_idx;
ALTER INDEX usage_events_time_brin RENAME TO usage_events_parted_time_brin;
ALTER INDEX usage_events_pkey RENAME TO usage_events_parted_pkey;
ALTER SEQUENCE usage_events_id_seq RENAME TO usage_events_parted_id_seq;
ALTER TABLE usage_events_parted RENAME CONSTRAINT usage_events_status_check TO usage_events_parted_status_check;
ALTER TABLE usage_events_parted RENAME CONSTRAINT usage_events_user_id_fkey TO usage_events_parted_user_id_fkey;

CREATE TABLE usage_events (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Named explicitly: the partitions' constraints still hold the generated names.
    user_id            uuid NOT NULL CONSTRAINT usage_events_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    api_key_id         uuid,
    session_id         uuid,
    model              text NOT NULL,
    provider           text NOT NULL,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cost               numeric(20, 10) NOT NULL DEFAULT 0,
    status             text NOT NULL CONSTRAINT usage_events_status_check CHECK (status IN ('completed', 'cancelled', 'failed')),
    stop_reason        text,
    ttft_ms            double precision,
    duration_ms        double precision NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO usage_events (id, user_id, api_key_id, session_id, model, provider, input_tokens, output_tokens,
                          cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at)
OVERRIDING SYSTEM VALUE
SELECT id, user_id, api_key_id, session_id, model, provider, input_tokens, output_tokens,
       cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at
FROM usage_events_parted;
SELECT setval(pg_get_serial_sequence('usage_events', 'id'), coalesce(v, 1), v IS NOT NULL)
FROM (SELECT greatest((SELECT max(id) FROM usage_events_parted),
                      (SELECT last_value FROM usage_events_parted_id_seq WHERE is_called)) AS v) s;
CREATE INDEX usage_events_user_time_idx ON usage_events (user_id, created_at);
DROP TABLE usage_events_parted;
