package mcp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/mcp"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func toolNames(tools []chat.HostTool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	return names
}

// A chat turn's tools: a session's selection offers only the tools it picked, and a server of the
// selection that cannot list is left out (one broken server must not stop the session's chats);
// a server the request names offers all its tools, and one that cannot be resolved fails the
// request with a problem pointing at its entry of mcp_servers.
func TestChatToolsSessionSelectionAndNamedServers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := st.Queries()
	user, err := q.CreateUser(ctx, db.CreateUserParams{Email: "tools@example.com", PasswordHash: "x", Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	session, err := q.CreateSession(ctx, db.CreateSessionParams{UserID: user.ID, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, secret.MinMasterKeyLen), mcp.HeadersPurpose)
	if err != nil {
		t.Fatal(err)
	}
	reg := mcp.NewRegistry(st, box, page.NewCursors(make([]byte, 32)), time.Now, false)
	pool, err := mcp.NewPool(mcp.PoolOptions{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, CallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	caller := mcp.Caller{UserID: user.ID}
	live := testutil.StartMCPServer(t, mcp.TransportStreamableHTTP)
	deadURL := "http://127.0.0.1:1/mcp"
	good, err := reg.CreateMCPServer(ctx, caller, mcp.ServerFields{Name: "everything", Transport: mcp.TransportStreamableHTTP, URL: &live.URL, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	broken, err := reg.CreateMCPServer(ctx, caller, mcp.ServerFields{Name: "gone", Transport: mcp.TransportStreamableHTTP, URL: &deadURL, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ReplaceSessionTools(ctx, user.ID, session.ID, mcp.ToolSet{
		Servers: []uuid.UUID{good.ID, broken.ID}, Tools: []string{mcp.ToolEntry(good.ID, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	host := mcp.NewChatTools(reg, pool, slog.New(slog.NewJSONHandler(io.Discard, nil)))

	tools, err := host.Tools(ctx, user.ID, &session.ID, nil)
	if err != nil {
		t.Fatalf("the session's selection with one broken server: %v", err)
	}
	if names := toolNames(tools); !slices.Equal(names, []string{"echo"}) {
		t.Errorf("session selection offers %v, want only the picked echo", names)
	}

	tools, err = host.Tools(ctx, user.ID, &session.ID, []uuid.UUID{good.ID})
	if err != nil {
		t.Fatal(err)
	}
	if names := toolNames(tools); len(names) < 2 || !slices.Contains(names, "echo") {
		t.Errorf("a named server offers %v, want all its tools", names)
	}

	_, err = host.Tools(ctx, user.ID, nil, []uuid.UUID{good.ID, uuid.New()})
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Pointer != "/mcp_servers/1" {
		t.Errorf("an unknown named server: %v (%+v), want a problem at /mcp_servers/1", err, ae)
	}
	if _, err := host.Tools(ctx, user.ID, &session.ID, []uuid.UUID{broken.ID}); err == nil {
		t.Error("a named server that cannot list its tools was left out instead of failing the request")
	}
}
