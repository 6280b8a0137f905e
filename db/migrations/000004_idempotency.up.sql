-- Idempotency keys of creating POSTs, scoped per caller (owner is the user id, so two users' keys
-- never collide and one user cannot probe another's). status is NULL while the first request runs;
-- once it answered, the response is kept so a retry gets the same bytes. Rows older than 24 hours
-- count as absent and are purged.
CREATE TABLE idempotency_keys (
    owner            uuid NOT NULL,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method           text NOT NULL,
    route            text NOT NULL,
    request_hash     bytea NOT NULL,
    status           integer CHECK (status BETWEEN 100 AND 599),
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
