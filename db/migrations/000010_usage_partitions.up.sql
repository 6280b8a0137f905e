-- usage_events becomes partitioned by month on created_at, so that a query over a window reads only
-- that window's partitions and retention drops whole partitions (DETACH … CONCURRENTLY + DROP)
-- instead of DELETE + VACUUM. The old table is renamed, its rows copied with their ids, and the
-- identity continues after the largest id. Partitions exist for every month present in the old
-- data and for the current month … +3; internal/analytics keeps creating them ahead. There is no
-- DEFAULT partition: a row for a month without a partition fails loudly instead of landing in a
-- partition that would have to be split later.
ALTER TABLE usage_events RENAME TO usage_events_old;
ALTER SEQUENCE usage_events_id_seq RENAME TO usage_events_old_id_seq;
ALTER INDEX usage_events_pkey RENAME TO usage_events_old_pkey;
ALTER INDEX usage_events_user_time_idx RENAME TO usage_events_old_user_time_idx;
ALTER TABLE usage_events_old RENAME CONSTRAINT usage_events_status_check TO usage_events_old_status_check;
ALTER TABLE usage_events_old RENAME CONSTRAINT usage_events_user_id_fkey TO usage_events_old_user_id_fkey;

CREATE TABLE usage_events (
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id         uuid,
    session_id         uuid,
    -- The session's project when the event was recorded (no foreign key: usage stays attributed
    -- to the project it was spent in, and deleting a project does not rewrite history).
    project_id         uuid,
    model              text NOT NULL,
    provider           text NOT NULL,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cost               numeric(20, 10) NOT NULL DEFAULT 0,
    status             text NOT NULL CHECK (status IN ('completed', 'cancelled', 'failed')),
    stop_reason        text,
    ttft_ms            double precision,
    duration_ms        double precision NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
-- The caller's usage and their events newest first (keyset on created_at, id).
CREATE INDEX usage_events_user_time_idx ON usage_events (user_id, created_at, id);
-- Admin windows over everyone: rows arrive in created_at order, so a BRIN index finds a window's
-- pages for almost nothing at insert time. autosummarize: a block range is summarized once it
-- fills; an unsummarized range matches every query, which made a 7-day scan read the whole month.
CREATE INDEX usage_events_time_brin ON usage_events USING brin (created_at) WITH (pages_per_range = 32, autosummarize = on);

DO $$
DECLARE
    m timestamptz;
BEGIN
    FOR m IN
        SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM usage_events_old
        UNION
        SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(months => g)
        FROM generate_series(0, 3) AS g
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
            'usage_events_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'),
            to_char(m AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00',
            to_char((m AT TIME ZONE 'UTC') + interval '1 month', 'YYYY-MM-DD HH24:MI:SS') || '+00');
    END LOOP;
END
$$;

INSERT INTO usage_events (id, user_id, api_key_id, session_id, project_id, model, provider, input_tokens, output_tokens,
                          cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at)
OVERRIDING SYSTEM VALUE
SELECT o.id, o.user_id, o.api_key_id, o.session_id, s.project_id, o.model, o.provider, o.input_tokens, o.output_tokens,
       o.cache_read_tokens, o.cache_write_tokens, o.cost, o.status, o.stop_reason, o.ttft_ms, o.duration_ms, o.created_at
FROM usage_events_old o LEFT JOIN sessions s ON s.id = o.session_id;

-- The identity continues after every id ever handed out (rows deleted at the end included).
SELECT setval(pg_get_serial_sequence('usage_events', 'id'), coalesce(v, 1), v IS NOT NULL)
FROM (SELECT greatest((SELECT max(id) FROM usage_events_old),
                      (SELECT last_value FROM usage_events_old_id_seq WHERE is_called)) AS v) s;

DROP TABLE usage_events_old;

-- Daily rollups: one row per UTC day and (user, api key, project, model, provider). A day is
-- recomputed as a whole (delete + insert in one transaction), so re-running it gives the same rows.
CREATE TABLE usage_daily (
    day                date NOT NULL,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id         uuid,
    project_id         uuid,
    model              text NOT NULL,
    provider           text NOT NULL,
    requests           bigint NOT NULL,
    input_tokens       bigint NOT NULL,
    output_tokens      bigint NOT NULL,
    cache_read_tokens  bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    cost               numeric(20, 10) NOT NULL,
    errors             bigint NOT NULL,
    latency_p50_ms     double precision NOT NULL,
    latency_p95_ms     double precision NOT NULL,
    UNIQUE NULLS NOT DISTINCT (day, user_id, api_key_id, project_id, model, provider)
);
CREATE INDEX usage_daily_user_day_idx ON usage_daily (user_id, day);
CREATE INDEX usage_daily_api_key_day_idx ON usage_daily (api_key_id, day) WHERE api_key_id IS NOT NULL;
CREATE INDEX usage_daily_model_day_idx ON usage_daily (model, day);
CREATE INDEX usage_daily_day_idx ON usage_daily (day);

-- Coarse rollups, derived from usage_daily (or, for hours, from the day's raw events) in the same
-- transaction that replaces a day, so they always agree with it. usage_daily has nearly one row
-- per event at scale (few events per user, key, project and model a day); admin questions that
-- group or filter only by time, model or provider read usage_daily_model, rankings of users and
-- keys read usage_daily_user and, for whole months, usage_monthly_user, and hourly series read
-- usage_hourly. Distinct users cannot be summed, so active_users is never read from these.
CREATE TABLE usage_daily_model (
    day                date NOT NULL,
    model              text NOT NULL,
    provider           text NOT NULL,
    requests           bigint NOT NULL,
    input_tokens       bigint NOT NULL,
    output_tokens      bigint NOT NULL,
    cache_read_tokens  bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    cost               numeric(20, 10) NOT NULL,
    errors             bigint NOT NULL,
    PRIMARY KEY (day, model, provider)
);
CREATE TABLE usage_daily_user (
    day                date NOT NULL,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id         uuid,
    requests           bigint NOT NULL,
    input_tokens       bigint NOT NULL,
    output_tokens      bigint NOT NULL,
    cache_read_tokens  bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    cost               numeric(20, 10) NOT NULL,
    errors             bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (day, user_id, api_key_id)
);
-- month is the month's first day; a month's rows are the sum of its rolled-up days, so they are
-- read only for months wholly before rolled_until.
CREATE TABLE usage_monthly_user (
    month              date NOT NULL,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id         uuid,
    requests           bigint NOT NULL,
    input_tokens       bigint NOT NULL,
    output_tokens      bigint NOT NULL,
    cache_read_tokens  bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    cost               numeric(20, 10) NOT NULL,
    errors             bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (month, user_id, api_key_id)
);
CREATE TABLE usage_hourly (
    hour     timestamptz NOT NULL,
    model    text NOT NULL,
    provider text NOT NULL,
    requests bigint NOT NULL,
    tokens   bigint NOT NULL, -- input + output + cache read + cache write
    cost     numeric(20, 10) NOT NULL,
    errors   bigint NOT NULL,
    PRIMARY KEY (hour, model, provider)
);

-- Days before rolled_until (UTC) are complete in usage_daily; later ones are read from usage_events.
CREATE TABLE usage_rollup_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rolled_until date NOT NULL
);
