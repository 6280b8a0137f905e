-- name: SetRefreshFamilySignIn :exec
-- Records how the family's login authenticated (at sign-in and at each re-authentication).
UPDATE refresh_families SET auth_time = @auth_time, amr = @amr WHERE id = @id;

-- name: LockCurrentRefreshToken :one
-- The family's live (not yet rotated) token, row-locked, so a re-authentication rotates it.
SELECT t.id, t.family_id, t.created_at, t.expires_at, t.rotated_at, t.child_id, t.child_enc,
       f.user_id, f.audience, f.revoked_at AS family_revoked_at
FROM refresh_tokens t
JOIN refresh_families f ON f.id = t.family_id
WHERE t.family_id = @family_id AND t.rotated_at IS NULL
ORDER BY t.created_at DESC
LIMIT 1
FOR UPDATE OF t, f;

-- name: GetTOTP :one
SELECT * FROM user_totp WHERE user_id = @user_id;

-- name: GetTOTPForUpdate :one
SELECT * FROM user_totp WHERE user_id = @user_id FOR UPDATE;

-- name: UpsertPendingTOTP :exec
-- A new enrolment replaces a pending one; an active authenticator is never replaced here.
INSERT INTO user_totp (user_id, secret_enc, created_at) VALUES (@user_id, @secret_enc, @now)
ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, created_at = EXCLUDED.created_at, last_step = 0
WHERE user_totp.confirmed_at IS NULL;

-- name: AcceptTOTPStep :execrows
-- Compare-and-set of the last accepted step: a code is accepted once, and never one older than
-- the last one accepted. Zero rows: replayed (or the authenticator is gone).
UPDATE user_totp SET last_step = @step, confirmed_at = COALESCE(confirmed_at, sqlc.arg(now)::timestamptz)
WHERE user_id = @user_id AND last_step < @step;

-- name: DeleteTOTP :execrows
DELETE FROM user_totp WHERE user_id = @user_id;

-- name: HasActiveTOTP :one
SELECT EXISTS (SELECT 1 FROM user_totp WHERE user_id = @user_id AND confirmed_at IS NOT NULL);

-- name: DeleteRecoveryCodes :exec
DELETE FROM recovery_codes WHERE user_id = @user_id;

-- name: InsertRecoveryCode :exec
INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (@user_id, @code_hash, @now);

-- name: UseRecoveryCode :execrows
-- Consumes the code atomically: of two concurrent uses, exactly one changes the row.
UPDATE recovery_codes SET used_at = sqlc.arg(now)::timestamptz
WHERE user_id = @user_id AND code_hash = @code_hash AND used_at IS NULL;

-- name: CountUnusedRecoveryCodes :one
SELECT count(*) FROM recovery_codes WHERE user_id = @user_id AND used_at IS NULL;

-- name: InsertMFALogin :exec
INSERT INTO mfa_logins (token_hash, user_id, audience, created_at, expires_at)
VALUES (@token_hash, @user_id, @audience, @now, @expires_at);

-- name: GetMFALogin :one
-- The pending login an unexpired, unused token stands for.
SELECT * FROM mfa_logins WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > @now;

-- name: ConsumeMFALogin :one
-- Spends the token: of two concurrent completions exactly one gets the row.
UPDATE mfa_logins SET used_at = sqlc.arg(now)::timestamptz
WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > sqlc.arg(now)::timestamptz
RETURNING *;

-- name: PurgeMFALogins :exec
DELETE FROM mfa_logins WHERE user_id = @user_id AND (used_at IS NOT NULL OR expires_at <= @now);
