-- Files: metadata here, bytes in the blob store under an opaque key (never the user's path).
-- A files row exists only once its blob is complete; an upload in flight is a file_uploads row
-- written before the first byte is stored, so a crash leaves a row the sweep can find.
CREATE TABLE files (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   uuid REFERENCES projects (id) ON DELETE CASCADE,
    -- Normalised by internal/files (NFC, no "..", no leading "/"); NULL for a loose file that is
    -- not part of a project tree (e.g. a chat attachment).
    path         text COLLATE "C" CHECK (octet_length(path) BETWEEN 1 AND 1024),
    name         text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 255),
    blob_key     text NOT NULL UNIQUE,
    size         bigint NOT NULL CHECK (size >= 0),
    content_type text NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- A path is unique per (user, project); files outside projects share one tree per user.
CREATE UNIQUE INDEX files_tree_path_idx ON files (user_id, coalesce(project_id, '00000000-0000-0000-0000-000000000000'::uuid), path)
    WHERE path IS NOT NULL;
-- A path's entry in the listing of directory dir (which ends in "/"): the path itself for a file
-- directly in dir, else the immediate sub-directory holding it, with a trailing "/". COLLATE "C"
-- so that entries sort in byte order, as the cursor compares them.
CREATE FUNCTION file_entry_key(path text, dir text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN strpos(substr(path, length(dir) + 1), '/') > 0
                 THEN dir || split_part(substr(path, length(dir) + 1), '/', 1) || '/'
                 ELSE path END) COLLATE "C";
$$;
-- The flat list: newest first, keyset on (created_at, id).
CREATE INDEX files_user_created_idx ON files (user_id, created_at DESC, id DESC);
CREATE INDEX files_project_idx ON files (project_id) WHERE project_id IS NOT NULL;

-- Per-user byte accounting. used_bytes/file_count follow the files rows (triggers below);
-- reserved_bytes is what uploads in flight have claimed. A reservation is one UPDATE that adds
-- only while used + reserved stays within the quota, so concurrent uploads serialise on this row
-- and their sum can never pass it.
CREATE TABLE file_usage (
    user_id        uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    used_bytes     bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    reserved_bytes bigint NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
    file_count     bigint NOT NULL DEFAULT 0 CHECK (file_count >= 0)
);

-- Uploads in flight: the blob key they write and the bytes they reserved. Deleting the row (on
-- success, failure or by the sweep after a crash) releases the reservation.
CREATE TABLE file_uploads (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blob_key       text NOT NULL UNIQUE,
    reserved_bytes bigint NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
    started_at     timestamptz NOT NULL DEFAULT now(),
    touched_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_uploads_touched_idx ON file_uploads (touched_at);

-- Blobs whose row is gone, waiting to be deleted from the store. Every way a row disappears
-- (DELETE, a project's or the account's cascade, an upload ending) queues its key in the same
-- transaction, so no blob is forgotten; the sweep drains the queue.
CREATE TABLE blob_deletions (
    blob_key    text PRIMARY KEY,
    enqueued_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION files_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO file_usage AS u (user_id, used_bytes, file_count) VALUES (NEW.user_id, NEW.size, 1)
        ON CONFLICT (user_id) DO UPDATE SET used_bytes = u.used_bytes + NEW.size, file_count = u.file_count + 1;
        RETURN NULL;
    END IF;
    UPDATE file_usage SET used_bytes = used_bytes - OLD.size, file_count = file_count - 1 WHERE user_id = OLD.user_id;
    INSERT INTO blob_deletions (blob_key) VALUES (OLD.blob_key) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER files_account_ins AFTER INSERT ON files FOR EACH ROW EXECUTE FUNCTION files_account();
CREATE TRIGGER files_account_del AFTER DELETE ON files FOR EACH ROW EXECUTE FUNCTION files_account();

CREATE FUNCTION file_uploads_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE file_usage SET reserved_bytes = reserved_bytes - OLD.reserved_bytes WHERE user_id = OLD.user_id;
    -- A completed upload's blob now belongs to its files row; any other's is garbage.
    IF NOT EXISTS (SELECT 1 FROM files WHERE blob_key = OLD.blob_key) THEN
        INSERT INTO blob_deletions (blob_key) VALUES (OLD.blob_key) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER file_uploads_end AFTER DELETE ON file_uploads FOR EACH ROW EXECUTE FUNCTION file_uploads_end();

-- The sync feed carries files like the other resources.
ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_entity_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_entity_check CHECK (entity IN ('project', 'session', 'message', 'file'));
CREATE TRIGGER files_sync_ins AFTER INSERT ON files REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('file');
CREATE TRIGGER files_sync_upd AFTER UPDATE ON files REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('file');
CREATE TRIGGER files_sync_del AFTER DELETE ON files REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('file');
