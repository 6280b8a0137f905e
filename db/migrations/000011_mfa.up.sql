-- Multi-factor authentication (TOTP and recovery codes) and the sign-in time of each login.

-- When and how the login behind a refresh family last authenticated: a refresh keeps them, a
-- re-authentication (step-up) moves them forward. Rows from before this migration count as
-- signed in when they were created, by password.
ALTER TABLE refresh_families
    ADD COLUMN auth_time timestamptz,
    ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';
UPDATE refresh_families SET auth_time = created_at WHERE auth_time IS NULL;
ALTER TABLE refresh_families ALTER COLUMN auth_time SET NOT NULL, ALTER COLUMN auth_time SET DEFAULT now();

-- One TOTP authenticator per user. The secret is sealed with CCB_SECRET_KEY (purpose "totp",
-- the user id as associated data). confirmed_at is NULL while the enrolment waits for its first
-- code. last_step is the last time step accepted: only later steps are, so a code works once.
CREATE TABLE user_totp (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc   bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0
);

-- Recovery codes, stored as SHA-256 (each carries 80 random bits: no salt needed). A used code
-- keeps its row (used_at) until the set is regenerated or MFA is turned off.
CREATE TABLE recovery_codes (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- A password sign-in waiting for its second factor: the mfa_token (SHA-256 stored) is single use
-- and short-lived, and remembers the client type of that login.
CREATE TABLE mfa_logins (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    audience   text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX mfa_logins_user_idx ON mfa_logins (user_id);
CREATE INDEX mfa_logins_expires_idx ON mfa_logins (expires_at);
