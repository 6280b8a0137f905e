-- WebAuthn credentials (passkeys). The columns are the library's credential record taken apart,
-- so the sign count can be advanced with a compare-and-set and the backup flags read in SQL.
CREATE TABLE passkeys (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      bytea NOT NULL UNIQUE,
    public_key         bytea NOT NULL,
    attestation_type   text NOT NULL DEFAULT '',
    attestation_format text NOT NULL DEFAULT '',
    aaguid             bytea NOT NULL DEFAULT ''::bytea,
    transports         text[] NOT NULL DEFAULT '{}',
    attachment         text NOT NULL DEFAULT '',
    sign_count         bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    user_verified      boolean NOT NULL DEFAULT false,
    backup_eligible    boolean NOT NULL DEFAULT false,
    backup_state       boolean NOT NULL DEFAULT false,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_used_at       timestamptz
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at, id);
