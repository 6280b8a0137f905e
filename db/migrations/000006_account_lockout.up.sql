-- Failed password checks per account: sign-in by email or by username, change-password and
-- delete-profile all count here, so the lock belongs to the account and not to the string typed.
-- login_failures keeps counting identifiers that name no account (the answer must not tell).
CREATE TABLE user_lockouts (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);

-- Which stored idempotent response belongs to which resource (e.g. the API key a create made), so
-- that revoking the resource can drop its response.
ALTER TABLE idempotency_keys ADD COLUMN subject_id uuid;
CREATE INDEX idempotency_keys_subject_idx ON idempotency_keys (owner, subject_id) WHERE subject_id IS NOT NULL;
