-- Signing keys for access tokens. The private key is encrypted with CCB_SECRET_KEY (AES-GCM);
-- retired keys stay published until every token they signed has expired (verify_until).
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    private_enc  bytea NOT NULL,
    public_jwk   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz,
    verify_until timestamptz
);
CREATE INDEX signing_keys_created_idx ON signing_keys (created_at DESC);

-- One family per login; every refresh token of a login belongs to it. Revoking the family ends
-- the login everywhere (its access tokens carry the family id as `sid`).
CREATE TABLE refresh_families (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    audience       text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX refresh_families_user_idx ON refresh_families (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are stored as SHA-256 of the secret. A rotated token remembers its child,
-- encrypted, for the grace window only, so a client that lost the reply gets the same pair again.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id   uuid NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    child_id    uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    child_enc   bytea
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- API keys: `ccb_` secrets stored as SHA-256. After a rotation the previous hash keeps working
-- until previous_valid_until.
CREATE TABLE api_keys (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix               text NOT NULL,
    key_hash             bytea NOT NULL UNIQUE,
    previous_hash        bytea UNIQUE,
    previous_valid_until timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz,
    last_used_at         timestamptz,
    revoked_at           timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at, id);

-- Failed logins per identifier (lower-cased email or username, known or not).
CREATE TABLE login_failures (
    identifier      text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);

-- Append-only record of security events. No foreign keys: entries outlive the users they name.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    action      text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
    actor_id    uuid,
    subject_id  uuid,
    ip          text,
    user_agent  text,
    request_id  text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, id) WHERE subject_id IS NOT NULL;
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_time_idx ON audit_log (occurred_at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Admin user search by email prefix.
CREATE INDEX users_email_prefix_idx ON users (lower(email) text_pattern_ops);
