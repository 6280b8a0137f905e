-- MCP servers, which of them a session may use, and the tool calls made through them.
--
-- A server is the caller's own (scope 'user', user_id set) or global (scope 'global', user_id
-- NULL: it belongs to nobody, so it outlives the administrator who created it). Header values are
-- secrets: sealed together as one JSON object (AES-GCM, the row's id as associated data, so a
-- sealed value copied into another row does not open); only their names and masked hints are
-- stored in the clear.
CREATE TABLE mcp_servers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid REFERENCES users (id) ON DELETE CASCADE,
    scope          text NOT NULL CHECK (scope IN ('user', 'global')),
    -- A project's deletion leaves its servers, unattached (as it leaves its sessions).
    project_id     uuid REFERENCES projects (id) ON DELETE SET NULL,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    transport      text NOT NULL CHECK (transport IN ('streamable_http', 'sse', 'stdio')),
    url            text CHECK (length(url) <= 2048),
    command        text CHECK (length(command) <= 4096),
    args           text[] NOT NULL DEFAULT '{}',
    header_names   text[] NOT NULL DEFAULT '{}',
    header_hints   text[] NOT NULL DEFAULT '{}',
    headers_sealed bytea,
    tool_allowlist text[],
    enabled        boolean NOT NULL DEFAULT true,
    version        bigint NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((scope = 'global') = (user_id IS NULL)),
    CHECK (scope = 'user' OR project_id IS NULL),
    CHECK ((transport = 'stdio') = (command IS NOT NULL)),
    CHECK ((transport = 'stdio') = (url IS NULL)),
    CHECK (cardinality(header_names) = cardinality(header_hints)),
    CHECK ((cardinality(header_names) = 0) = (headers_sealed IS NULL))
);
-- The lists: a user's own servers and the global ones, each newest first, keyset on (created_at, id).
CREATE INDEX mcp_servers_user_created_idx ON mcp_servers (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX mcp_servers_global_created_idx ON mcp_servers (created_at DESC, id DESC) WHERE user_id IS NULL;
-- Names are what a user tells servers apart by: unique among their own, and among the global ones.
CREATE UNIQUE INDEX mcp_servers_user_name_idx ON mcp_servers (user_id, name) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX mcp_servers_global_name_idx ON mcp_servers (name) WHERE user_id IS NULL;
CREATE INDEX mcp_servers_project_idx ON mcp_servers (project_id) WHERE project_id IS NOT NULL;

-- A session's tool selection: one row per enabled server (in the order the client gave), with the
-- tools it may use (empty: all of the server's allowed tools). Deleting the session, the server or
-- the user removes the rows.
CREATE TABLE session_mcp_servers (
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    server_id  uuid NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    tools      text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (session_id, server_id)
);
CREATE INDEX session_mcp_servers_server_idx ON session_mcp_servers (server_id);
CREATE INDEX session_mcp_servers_user_idx ON session_mcp_servers (user_id);

-- Tool executions, per session. server_id is history, not a reference: a call stays listed after
-- its server is deleted.
CREATE TABLE tool_calls (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    server_id   uuid NOT NULL,
    tool        text NOT NULL CHECK (length(tool) BETWEEN 1 AND 255),
    arguments   jsonb NOT NULL DEFAULT '{}'::jsonb,
    result      jsonb,
    is_error    boolean NOT NULL DEFAULT false,
    status      text NOT NULL CHECK (status IN ('completed', 'failed', 'timeout', 'cancelled')),
    duration_ms bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- The list: newest first per session, keyset on (created_at, id).
CREATE INDEX tool_calls_session_created_idx ON tool_calls (session_id, created_at DESC, id DESC);
CREATE INDEX tool_calls_user_idx ON tool_calls (user_id);
