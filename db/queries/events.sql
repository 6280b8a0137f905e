-- name: APIKeyStillActive :one
-- Whether an API key that authenticated a live event connection still does (not revoked, not
-- expired, its user active): the connection re-checks it periodically.
SELECT EXISTS (
  SELECT 1 FROM api_keys k JOIN users u ON u.id = k.user_id
  WHERE k.id = @id AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > @now) AND u.is_active
)::boolean AS active;
