-- One row per chat completion request: the source for usage analytics and billing.
CREATE TABLE usage_events (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id         uuid,
    session_id         uuid,
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
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_user_time_idx ON usage_events (user_id, created_at);
