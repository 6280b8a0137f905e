-- name: RegisterDevice :one
-- Idempotent per token: the same user's token keeps its id and creation time (fresh environment,
-- bundle and updated_at); another user's token gets the new id, so an id once shown to the
-- previous owner never names the new owner's device.
INSERT INTO devices AS d (id, user_id, platform, token, environment, bundle_id, created_at, updated_at)
VALUES (@id, @user_id, @platform, @token, @environment, @bundle_id, @now, @now)
ON CONFLICT (token) DO UPDATE
SET id          = CASE WHEN d.user_id = EXCLUDED.user_id THEN d.id ELSE EXCLUDED.id END,
    created_at  = CASE WHEN d.user_id = EXCLUDED.user_id THEN d.created_at ELSE EXCLUDED.created_at END,
    user_id     = EXCLUDED.user_id,
    platform    = EXCLUDED.platform,
    environment = EXCLUDED.environment,
    bundle_id   = EXCLUDED.bundle_id,
    updated_at  = EXCLUDED.updated_at
RETURNING *;

-- name: ListDevices :many
-- The user's devices, oldest first; keyset on (created_at, id).
SELECT * FROM devices
WHERE user_id = @user_id
  AND (created_at, id) > (coalesce(sqlc.narg('after_created')::timestamptz, '-infinity'),
                          coalesce(sqlc.narg('after_id')::uuid, '00000000-0000-0000-0000-000000000000'))
ORDER BY created_at, id
LIMIT @max_rows;

-- name: DeleteDevice :execrows
DELETE FROM devices WHERE id = @id AND user_id = @user_id;

-- name: PushDevices :many
-- Where a user's notification goes (bounded: a user has few devices).
SELECT * FROM devices WHERE user_id = @user_id ORDER BY created_at, id LIMIT 100;

-- name: ForgetDeviceToken :execrows
-- APNs said the token is dead. Only a registration from before that moment goes: a token
-- registered again since (the app reinstalled) is alive.
DELETE FROM devices WHERE token = @token AND updated_at <= @invalid_since;

-- name: PushContext :one
-- What a notification about a session may say: its title, whether the user opted into message
-- previews (preferences.push_previews = true), and the session's last assistant message.
SELECT s.title,
       coalesce((u.preferences -> 'push_previews') = 'true'::jsonb, false)::boolean AS previews,
       coalesce((SELECT m.content_text FROM messages m
                 WHERE m.session_id = s.id AND m.role = 'assistant'
                 ORDER BY m.seq DESC LIMIT 1), '')::text AS last_reply
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = @session_id AND s.user_id = @user_id;
