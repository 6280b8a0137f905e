-- name: SyncState :one
SELECT seq, purged_seq FROM sync_counters WHERE user_id = $1;

-- name: ListChanges :many
-- The caller's changes after a sequence number, with the current rows of upserted entities.
SELECT c.seq, c.entity, c.entity_id, c.deleted, c.changed_at
FROM sync_changes c
WHERE c.user_id = @user_id AND c.seq > @after_seq
ORDER BY c.seq
LIMIT @max_rows;

-- name: ProjectsByID :many
SELECT * FROM projects WHERE user_id = @user_id AND id = ANY(@ids::uuid[]);

-- name: SessionsByID :many
SELECT * FROM sessions WHERE user_id = @user_id AND id = ANY(@ids::uuid[]);

-- name: MessagesByID :many
SELECT * FROM messages WHERE user_id = @user_id AND id = ANY(@ids::uuid[]);

-- name: PurgeTombstones :exec
-- Drops tombstones older than the retention and remembers, per user, the newest one dropped,
-- so cursors from before it answer 410.
WITH purged AS (
    DELETE FROM sync_changes WHERE deleted AND changed_at < @before
    RETURNING user_id, seq
)
UPDATE sync_counters c SET purged_seq = greatest(c.purged_seq, p.max_seq)
FROM (SELECT user_id, max(seq) AS max_seq FROM purged GROUP BY user_id) p
WHERE c.user_id = p.user_id;
