-- name: GetFileUsage :one
SELECT used_bytes, reserved_bytes, file_count FROM file_usage WHERE user_id = @user_id;

-- name: EnsureFileUsage :exec
INSERT INTO file_usage (user_id) VALUES (@user_id) ON CONFLICT (user_id) DO NOTHING;

-- name: ReserveFileBytes :execrows
-- Claims bytes for an upload in flight only while used + reserved stays within the quota; the
-- row lock serialises concurrent uploads of one user, so their sum cannot pass the quota.
UPDATE file_usage SET reserved_bytes = reserved_bytes + @bytes
WHERE user_id = @user_id AND used_bytes + reserved_bytes + @bytes <= @quota;
