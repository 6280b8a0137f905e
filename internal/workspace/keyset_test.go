package workspace_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// keysetRowsEnv sets how many messages and projects TestListQueriesUseKeysetIndexes seeds; set it
// to 1000000 for the full-size check. The default keeps `go test ./...` quick: at 20k rows a scan
// that walked to the deep page touches hundreds of blocks against a handful (measured: 519 against
// 4 for a filter-bounded scan), so the buffer comparison tells keyset from offset as 1M rows would.
const keysetRowsEnv = "CCB_KEYSET_ROWS"

func keysetRows(t *testing.T) int {
	n := 20_000
	if testing.Short() {
		n = 5_000
	}
	if v := os.Getenv(keysetRowsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 5_000 {
			t.Fatalf("%s=%q: want a row count of at least 5000", keysetRowsEnv, v)
		}
	}
	return n
}

// statement is one query as pgx sent it: the generated SQL text and its bound arguments.
type statement struct {
	SQL  string
	Args []any
}

// recorder captures what the service sends, so the plans below are those of the generated SQL
// with the keyset parameters the service derived from a real cursor, not of a hand-kept copy.
type recorder struct {
	mu   sync.Mutex
	sent []statement
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, statement{SQL: d.SQL, Args: d.Args})
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// last returns the latest statement sqlc named query.
func (r *recorder) last(t *testing.T, query string) statement {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.sent) - 1; i >= 0; i-- {
		if strings.HasPrefix(r.sent[i].SQL, "-- name: "+query+" ") {
			return r.sent[i]
		}
	}
	t.Fatalf("the service sent no %s", query)
	return statement{}
}

// planNode is the part of EXPLAIN's JSON format the assertions read.
type planNode struct {
	NodeType        string     `json:"Node Type"`
	IndexName       string     `json:"Index Name"`
	ActualRows      float64    `json:"Actual Rows"`
	ActualLoops     float64    `json:"Actual Loops"`
	RemovedByFilter float64    `json:"Rows Removed by Filter"`
	SharedHit       int64      `json:"Shared Hit Blocks"`
	SharedRead      int64      `json:"Shared Read Blocks"`
	Plans           []planNode `json:"Plans"`
}

func (p planNode) buffers() int64 { return p.SharedHit + p.SharedRead }

func (p planNode) String() string {
	s := p.NodeType
	if p.IndexName != "" {
		s += " using " + p.IndexName
	}
	s += fmt.Sprintf(" (rows=%.0f removed=%.0f buffers=%d)", p.ActualRows, p.RemovedByFilter, p.buffers())
	for _, c := range p.Plans {
		s += " → " + c.String()
	}
	return s
}

// explain runs st as the service's pooled connections do: a prepared statement that has already
// run five times, the point after which PostgreSQL's plan cache may switch to a generic plan
// (plan_cache_mode auto) — or always uses one (force_generic_plan).
func explain(t *testing.T, conn *pgx.Conn, st statement, mode string) planNode {
	t.Helper()
	ctx := context.Background()
	for _, sql := range []string{"SET plan_cache_mode = " + mode, "DEALLOCATE ALL", "PREPARE q AS " + st.SQL} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	ph := make([]string, len(st.Args))
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	execute := "EXECUTE q(" + strings.Join(ph, ", ") + ")"
	// The simple protocol inlines the arguments as literals; EXECUTE binds them as parameters.
	args := append([]any{pgx.QueryExecModeSimpleProtocol}, st.Args...)
	for range 5 {
		if _, err := conn.Exec(ctx, execute, args...); err != nil {
			t.Fatalf("%s: %v", execute, err)
		}
	}
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	var raw []byte
	if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+execute, args...).Scan(&raw); err != nil {
		t.Fatalf("explain: %v", err)
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		t.Fatalf("explain output %s: %v", raw, err)
	}
	return out[0].Plan
}

// checkKeyset asserts the plan reads only the page: Limit over one index scan of the keyset
// index (no Seq Scan, no Sort of the whole set) that stops after the rows the service asked for.
func checkKeyset(t *testing.T, p planNode, index string, maxRows int) {
	t.Helper()
	if p.NodeType != "Limit" || len(p.Plans) != 1 {
		t.Fatalf("plan %v: want Limit over one index scan", p)
	}
	scan := p.Plans[0]
	if (scan.NodeType != "Index Scan" && scan.NodeType != "Index Only Scan") || scan.IndexName != index || len(scan.Plans) != 0 {
		t.Errorf("plan %v: want an index scan of %s and nothing else", p, index)
	}
	if examined := scan.ActualRows + scan.RemovedByFilter; scan.ActualLoops != 1 || examined != float64(maxRows) {
		t.Errorf("plan %v: examined %.0f rows in %.0f loops, want %d in 1", p, examined, scan.ActualLoops, maxRows)
	}
}

// TestListQueriesUseKeysetIndexes checks that the page lists cost the same at any depth: the
// plans of the first page and of a page near the end of a large list are index scans of the
// keyset index that read limit+1 rows, and the deep page touches about as many buffers.
func TestListQueriesUseKeysetIndexes(t *testing.T) {
	ctx := context.Background()
	n := keysetRows(t)
	depth := n - 1_000
	dbURL := testutil.NewDatabase(t)
	rec := &recorder{}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ws := workspace.New(&store.Store{Pool: pool}, page.NewCursors([]byte("keyset test")), time.Now, 1<<20, time.Hour)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	start := time.Now()
	userID, sessionID := uuid.New(), uuid.New()
	exec(`INSERT INTO users (id, email, password_hash) VALUES ($1, 'keyset@example.com', 'x')`, userID)
	exec(`INSERT INTO sessions (id, user_id) VALUES ($1, $2)`, sessionID, userID)
	// The sync triggers stay on: they are statement-level, so a bulk insert records its changes
	// in one pass.
	// Messages are seeded on a second connection while the projects go in.
	seeded := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `INSERT INTO messages (session_id, user_id, seq, role, content, content_text)
			SELECT $1, $2, g, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END, to_jsonb(txt), txt
			FROM generate_series(1, $3::int) g, LATERAL (SELECT 'message ' || g || ' ' || repeat('lorem ipsum ', 6) AS txt) x`,
			sessionID, userID, n)
		seeded <- err
	}()
	// Project g was created g seconds before a fixed instant: g = 1 is the newest. The rows past
	// depth go in first so that the service, asked for a one-row page, issues a real cursor that
	// will point depth+1 rows deep once the newer rows are in.
	seedProjects := func(from, to int) {
		exec(`INSERT INTO projects (user_id, name, created_at, updated_at)
			SELECT $1, 'project ' || g, t, t
			FROM generate_series($2::int, $3::int) g, LATERAL (SELECT timestamptz '2026-01-01' - g * interval '1 second' AS t) x`,
			userID, from, to)
	}
	seedProjects(depth+1, n)
	first, err := ws.ListProjects(ctx, userID, nil, page.Request{Limit: 1})
	deepProjects := first.Next
	if err != nil || deepProjects == "" {
		t.Fatalf("first project page: cursor %q, %v", deepProjects, err)
	}
	seedProjects(1, depth)
	if err := <-seeded; err != nil {
		t.Fatalf("seed messages: %v", err)
	}
	exec(`ANALYZE messages, projects`)
	t.Logf("seeded %d messages and %d projects in %v", n, n, time.Since(start).Round(time.Millisecond))

	messageID := func(seq int) *uuid.UUID {
		var id uuid.UUID
		if err := pool.QueryRow(ctx, `SELECT id FROM messages WHERE session_id = $1 AND seq = $2`, sessionID, seq).Scan(&id); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		return &id
	}
	// messagesFrom returns a cursor the service issued for the page that skips depth messages:
	// a one-row page bounded by after/before ends where the deep page starts.
	messagesFrom := func(mq workspace.MessageQuery) string {
		pg, err := ws.ListMessages(ctx, userID, sessionID, mq, page.Request{Limit: 1})
		cursor := pg.Next
		if err != nil || cursor == "" {
			t.Fatalf("one-row page %+v: cursor %q, %v", mq, cursor, err)
		}
		return cursor
	}
	asc, desc := workspace.MessageQuery{}, workspace.MessageQuery{Descending: true}
	deepAsc := messagesFrom(workspace.MessageQuery{After: messageID(depth - 1)})
	deepDesc := messagesFrom(workspace.MessageQuery{Descending: true, Before: messageID(n - depth + 2)})

	// The API's page sizes for these benchmarks' lists; the service asks for one row more.
	const messageLimit, projectLimit = 100, 50
	listPage := func(mq *workspace.MessageQuery, cursor string) error {
		if mq == nil {
			_, err := ws.ListProjects(ctx, userID, nil, page.Request{Limit: projectLimit, Cursor: cursor})
			return err
		}
		_, err := ws.ListMessages(ctx, userID, sessionID, *mq, page.Request{Limit: messageLimit, Cursor: cursor})
		return err
	}
	cases := []struct {
		query, index string
		messages     *workspace.MessageQuery // nil: the project list
		limit        int
		deepCursor   string
		modes        []string
	}{
		{"ListMessagesAsc", "messages_session_id_seq_key", &asc, messageLimit, deepAsc, []string{"auto", "force_generic_plan"}},
		{"ListMessagesDesc", "messages_session_id_seq_key", &desc, messageLimit, deepDesc, []string{"auto", "force_generic_plan"}},
		// The cursor bound is written with coalesce sentinels, so even a generic plan (no
		// parameter values known) bounds the index scan instead of filtering every newer row.
		{"ListProjects", "projects_user_created_idx", nil, projectLimit, deepProjects, []string{"auto", "force_generic_plan"}},
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	for _, tc := range cases {
		if err := listPage(tc.messages, ""); err != nil {
			t.Fatalf("%s first page: %v", tc.query, err)
		}
		first := rec.last(t, tc.query)
		if err := listPage(tc.messages, tc.deepCursor); err != nil {
			t.Fatalf("%s deep page: %v", tc.query, err)
		}
		deep := rec.last(t, tc.query)
		for _, mode := range tc.modes {
			t.Run(tc.query+"/"+mode, func(t *testing.T) {
				fp, dp := explain(t, conn, first, mode), explain(t, conn, deep, mode)
				t.Logf("first page: %v", fp)
				t.Logf("%d deep:   %v", depth, dp)
				checkKeyset(t, fp, tc.index, tc.limit+1)
				checkKeyset(t, dp, tc.index, tc.limit+1)
				if dp.buffers() > 3*fp.buffers() {
					t.Errorf("deep page read %d buffers, first page %d: want at most 3×", dp.buffers(), fp.buffers())
				}
			})
		}
	}
}
