-- name: CreatePasskey :one
INSERT INTO passkeys (user_id, credential_id, public_key, attestation_type, attestation_format, aaguid,
                      transports, attachment, sign_count, user_verified, backup_eligible, backup_state, name, created_at)
VALUES (@user_id, @credential_id, @public_key, @attestation_type, @attestation_format, @aaguid,
        @transports, @attachment, @sign_count, @user_verified, @backup_eligible, @backup_state, @name, @now)
RETURNING *;

-- name: ListUserPasskeys :many
-- Every passkey of the user: what the WebAuthn ceremonies need (a user holds a handful).
SELECT * FROM passkeys WHERE user_id = @user_id ORDER BY created_at, id;

-- name: ListPasskeysPage :many
-- The user's passkeys, oldest first; keyset on (created_at, id).
SELECT * FROM passkeys
WHERE user_id = @user_id
  AND (created_at, id) > (coalesce(sqlc.narg('after_created')::timestamptz, '-infinity'),
                          coalesce(sqlc.narg('after_id')::uuid, '00000000-0000-0000-0000-000000000000'))
ORDER BY created_at, id
LIMIT @max_rows;

-- name: CountUserPasskeys :one
SELECT count(*) FROM passkeys WHERE user_id = @user_id;

-- name: GetPasskeyByCredential :one
SELECT * FROM passkeys WHERE credential_id = @credential_id;

-- name: UsePasskey :execrows
-- Advances the sign count only from the value the assertion was checked against (compare-and-set):
-- two assertions racing with the same counter cannot both succeed.
UPDATE passkeys
SET sign_count = @new_count, user_verified = @user_verified, backup_state = @backup_state, last_used_at = sqlc.arg(now)::timestamptz
WHERE id = @id AND sign_count = @old_count;

-- name: RenamePasskey :one
UPDATE passkeys SET name = @name WHERE id = @id AND user_id = @user_id RETURNING *;

-- name: DeletePasskey :execrows
DELETE FROM passkeys WHERE id = @id AND user_id = @user_id;
