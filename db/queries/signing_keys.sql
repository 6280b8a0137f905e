-- Access-token signing keys. Times come from the caller's clock (not now()) so every instance and
-- every test agrees on what "still verifying" means.

-- name: LockSigningKeys :exec
-- Serialises rotation across instances for the rest of the transaction. The lock id is a hash of
-- a fixed name so it cannot collide with a numeric id chosen elsewhere by accident.
SELECT pg_advisory_xact_lock(hashtextextended('ccbackend:signing_keys', 0));

-- name: InsertSigningKey :exec
INSERT INTO signing_keys (kid, private_enc, public_jwk, created_at)
VALUES (@kid, @private_enc, @public_jwk, @created_at);

-- name: GetActiveSigningKey :one
-- The newest key that is not retired signs new tokens.
SELECT * FROM signing_keys
WHERE retired_at IS NULL
ORDER BY created_at DESC, kid DESC
LIMIT 1;

-- name: ListVerifyingSigningKeys :many
-- Keys whose signatures are still accepted: the un-retired ones and retired ones whose tokens may
-- not have expired yet. Newest first, so the first un-retired row is the active key.
SELECT * FROM signing_keys
WHERE retired_at IS NULL OR verify_until > @now::timestamptz
ORDER BY created_at DESC, kid DESC;

-- name: RetireSigningKeysExcept :many
-- Retires every un-retired key but the new active one; normally exactly one row.
UPDATE signing_keys
SET retired_at = @retired_at::timestamptz, verify_until = @verify_until::timestamptz
WHERE retired_at IS NULL AND kid <> @active_kid
RETURNING kid;
