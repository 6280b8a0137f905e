-- Accounts: the owner of every other row. Email and username are unique case-insensitively.
CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    username      text CHECK (length(username) BETWEEN 1 AND 64),
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{user}',
    is_active     boolean NOT NULL DEFAULT true,
    preferences   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE username IS NOT NULL;
-- Keyset pagination of the admin user list.
CREATE INDEX users_created_id_idx ON users (created_at, id);
