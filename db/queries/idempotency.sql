-- name: ClaimIdempotencyKey :one
-- Claims the key for a first request; no row comes back when the key is already taken.
INSERT INTO idempotency_keys (owner, key, method, route, request_hash, created_at)
VALUES (@owner, @key, @method, @route, @request_hash, @now)
ON CONFLICT (owner, key) DO NOTHING
RETURNING created_at;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys WHERE owner = @owner AND key = @key;

-- name: ReplaceExpiredIdempotencyKey :one
-- Takes over a key whose claim is older than expired_before, as if it were absent. The condition
-- sits in the UPDATE, so of two concurrent takeovers only one gets a row back.
UPDATE idempotency_keys
SET method = @method, route = @route, request_hash = @request_hash,
    status = NULL, response_headers = NULL, response_body = NULL, subject_id = NULL, created_at = @now
WHERE owner = @owner AND key = @key AND created_at < @expired_before
RETURNING created_at;

-- name: CompleteIdempotencyKey :execrows
-- Stores the response of the claim made at claimed_at (and of no later one).
UPDATE idempotency_keys
SET status = sqlc.arg(status)::int, response_headers = @response_headers, response_body = @response_body,
    subject_id = sqlc.narg(subject_id)::uuid
WHERE owner = @owner AND key = @key AND created_at = @claimed_at AND status IS NULL;

-- name: ReleaseIdempotencyKey :execrows
-- Drops an in-progress claim so the client may retry.
DELETE FROM idempotency_keys
WHERE owner = @owner AND key = @key AND created_at = @claimed_at AND status IS NULL;

-- name: PurgeIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE created_at < @before;
