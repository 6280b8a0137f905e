-- Projects, sessions and messages, all owned by one user. `version` backs ETag / If-Match.
CREATE TABLE projects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description text CHECK (length(description) <= 10000),
    path        text CHECK (length(path) <= 4096),
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The list: newest first per owner, keyset on (created_at, id).
CREATE INDEX projects_user_created_idx ON projects (user_id, created_at DESC, id DESC);
-- Name search (ILIKE '%q%') without a scan of every project.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX projects_name_trgm_idx ON projects USING gin (lower(name) gin_trgm_ops);

CREATE TABLE sessions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id       uuid REFERENCES projects (id) ON DELETE SET NULL,
    title            text CHECK (length(title) <= 255),
    model            text CHECK (length(model) <= 255),
    system_prompt    text,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Totals kept by message inserts in the same transaction (exact under concurrency: the
    -- UPDATE row-locks the session).
    message_count    bigint NOT NULL DEFAULT 0,
    input_tokens     bigint NOT NULL DEFAULT 0,
    output_tokens    bigint NOT NULL DEFAULT 0,
    total_cost       numeric(20, 10) NOT NULL DEFAULT 0,
    first_activity_at timestamptz,
    last_activity_at timestamptz,
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The list: most recently active first, keyset on (activity, id).
CREATE INDEX sessions_user_activity_idx ON sessions (user_id, (coalesce(last_activity_at, created_at)) DESC, id DESC);
CREATE INDEX sessions_project_idx ON sessions (project_id) WHERE project_id IS NOT NULL;
-- Full-text search over titles and message contents ('simple': no language guessing).
CREATE INDEX sessions_search_idx ON sessions USING gin (to_tsvector('simple', coalesce(title, '')));

CREATE TABLE messages (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id    uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    role          text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content       jsonb NOT NULL,
    content_text  text NOT NULL,
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cost          numeric(20, 10) NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, seq)
);
CREATE INDEX messages_search_idx ON messages USING gin (to_tsvector('simple', content_text));
CREATE INDEX messages_user_idx ON messages (user_id);
-- ?role= pages keyset-ordered without scanning the other roles.
CREATE INDEX messages_session_role_seq_idx ON messages (session_id, role, seq);

-- Offline sync: a compacted change log per user. Each entity has one row holding the sequence
-- number of its latest change; a deletion leaves a tombstone row (deleted = true). Sequence
-- numbers come from a per-user counter whose row lock is held until commit, so a user's changes
-- become visible in sequence order: a reader never sees seq N+1 before seq N.
CREATE TABLE sync_counters (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seq         bigint NOT NULL DEFAULT 0,
    -- Tombstones up to this seq have been purged; older cursors get 410.
    purged_seq  bigint NOT NULL DEFAULT 0
);

CREATE TABLE sync_changes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entity     text NOT NULL CHECK (entity IN ('project', 'session', 'message')),
    entity_id  uuid NOT NULL,
    seq        bigint NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, entity, entity_id)
);
CREATE UNIQUE INDEX sync_changes_feed_idx ON sync_changes (user_id, seq);
CREATE INDEX sync_changes_tombstones_idx ON sync_changes (changed_at) WHERE deleted;

-- Statement-level triggers with transition tables: a statement touching N rows bumps each
-- owner's counter once (by N), not N times — N updates of one row in a transaction would make a
-- cascade delete of a large session quadratic.
CREATE FUNCTION sync_apply(ent text, deleted boolean, owners uuid[], ids uuid[]) RETURNS void LANGUAGE sql AS $$
    WITH batch AS (
        SELECT u AS user_id, i AS id,
               row_number() OVER (PARTITION BY u ORDER BY i) AS n,
               count(*) OVER (PARTITION BY u) AS total
        FROM unnest(owners, ids) AS t(u, i)
    ), bumped AS (
        INSERT INTO sync_counters AS c (user_id, seq)
        SELECT DISTINCT user_id, total FROM batch
        ON CONFLICT (user_id) DO UPDATE SET seq = c.seq + EXCLUDED.seq
        RETURNING c.user_id, c.seq
    )
    INSERT INTO sync_changes (user_id, entity, entity_id, seq, deleted, changed_at)
    SELECT x.user_id, ent, x.id, b.seq - x.total + x.n, deleted, clock_timestamp()
    FROM batch x JOIN bumped b ON b.user_id = x.user_id
    ON CONFLICT (user_id, entity, entity_id)
    DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, changed_at = EXCLUDED.changed_at;
$$;

CREATE FUNCTION sync_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owners uuid[];
    ids    uuid[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Rows whose owner is being deleted need no tombstones: nobody is left to sync.
        SELECT array_agg(o.user_id ORDER BY o.id), array_agg(o.id ORDER BY o.id) INTO owners, ids
        FROM old_rows o WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id);
    ELSE
        SELECT array_agg(n.user_id ORDER BY n.id), array_agg(n.id ORDER BY n.id) INTO owners, ids
        FROM new_rows n;
    END IF;
    IF owners IS NOT NULL THEN
        PERFORM sync_apply(TG_ARGV[0], TG_OP = 'DELETE', owners, ids);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER projects_sync_ins AFTER INSERT ON projects REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('project');
CREATE TRIGGER projects_sync_upd AFTER UPDATE ON projects REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('project');
CREATE TRIGGER projects_sync_del AFTER DELETE ON projects REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('project');
CREATE TRIGGER sessions_sync_ins AFTER INSERT ON sessions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('session');
CREATE TRIGGER sessions_sync_upd AFTER UPDATE ON sessions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('session');
CREATE TRIGGER sessions_sync_del AFTER DELETE ON sessions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('session');
CREATE TRIGGER messages_sync_ins AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('message');
CREATE TRIGGER messages_sync_upd AFTER UPDATE ON messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('message');
CREATE TRIGGER messages_sync_del AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_record('message');
