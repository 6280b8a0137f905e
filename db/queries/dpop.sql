-- name: BindRefreshFamilyDPoP :exec
-- Binds a new family to the key of the proof its sign-in presented (once, at its start).
UPDATE refresh_families SET dpop_jkt = @jkt WHERE id = @id AND dpop_jkt IS NULL;
