-- name: GetLoginFailure :one
SELECT * FROM login_failures WHERE identifier = $1;

-- name: RecordLoginFailure :one
-- Counts a consecutive failure (a failure after the quiet window starts the count again) and
-- locks the identifier when the count reaches the threshold.
INSERT INTO login_failures AS lf (identifier, failures, last_failure_at, locked_until)
VALUES (sqlc.arg(identifier), 1, sqlc.arg(now)::timestamptz,
        CASE WHEN sqlc.arg(threshold)::int <= 1 THEN sqlc.arg(lock_until)::timestamptz END)
ON CONFLICT (identifier) DO UPDATE
SET failures = CASE WHEN lf.last_failure_at < sqlc.arg(quiet_since)::timestamptz THEN 1 ELSE lf.failures + 1 END,
    last_failure_at = sqlc.arg(now)::timestamptz,
    locked_until = CASE
        WHEN (CASE WHEN lf.last_failure_at < sqlc.arg(quiet_since)::timestamptz THEN 1 ELSE lf.failures + 1 END) >= sqlc.arg(threshold)::int
        THEN sqlc.arg(lock_until)::timestamptz
        ELSE lf.locked_until END
RETURNING *;

-- name: ClearLoginFailures :exec
DELETE FROM login_failures WHERE identifier = ANY(sqlc.arg(identifiers)::text[]);

-- name: GetUserLockout :one
-- The account's lock, when one is in force.
SELECT locked_until FROM user_lockouts
WHERE user_id = @user_id AND locked_until > sqlc.arg(now)::timestamptz;

-- name: RecordUserFailure :one
-- Counts a consecutive failed password check of the account, like RecordLoginFailure does for an
-- identifier, and locks the account when the count reaches the threshold.
INSERT INTO user_lockouts AS ul (user_id, failures, last_failure_at, locked_until)
VALUES (sqlc.arg(user_id), 1, sqlc.arg(now)::timestamptz,
        CASE WHEN sqlc.arg(threshold)::int <= 1 THEN sqlc.arg(lock_until)::timestamptz END)
ON CONFLICT (user_id) DO UPDATE
SET failures = CASE WHEN ul.last_failure_at < sqlc.arg(quiet_since)::timestamptz THEN 1 ELSE ul.failures + 1 END,
    last_failure_at = sqlc.arg(now)::timestamptz,
    locked_until = CASE
        WHEN (CASE WHEN ul.last_failure_at < sqlc.arg(quiet_since)::timestamptz THEN 1 ELSE ul.failures + 1 END) >= sqlc.arg(threshold)::int
        THEN sqlc.arg(lock_until)::timestamptz
        ELSE ul.locked_until END
RETURNING failures, locked_until;

-- name: ClearUserLockout :exec
DELETE FROM user_lockouts WHERE user_id = @user_id;
