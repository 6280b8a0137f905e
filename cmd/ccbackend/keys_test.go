package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestKeysRotate(t *testing.T) {
	url := testutil.NewDatabase(t)
	env := map[string]string{"CCB_ENV": "test", "DATABASE_URL": url}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	rotate := func() string {
		t.Helper()
		var out bytes.Buffer
		if err := keysCommand(ctx, []string{"rotate"}, getenv, &out); err != nil {
			t.Fatal(err)
		}
		kid := strings.TrimSpace(out.String())
		if kid == "" || strings.ContainsAny(kid, " \n") {
			t.Fatalf("output %q is not one kid", out.String())
		}
		return kid
	}
	first, second := rotate(), rotate()
	if first == second {
		t.Fatalf("second rotate returned the same kid %s", first)
	}

	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var retired, verifying bool
	if err := st.Pool.QueryRow(ctx, `SELECT retired_at IS NOT NULL, verify_until > retired_at FROM signing_keys WHERE kid = $1`,
		first).Scan(&retired, &verifying); err != nil {
		t.Fatal(err)
	}
	if !retired || !verifying {
		t.Fatalf("old key: retired=%t, verify_until after retirement=%t", retired, verifying)
	}
	var active string
	if err := st.Pool.QueryRow(ctx, `SELECT kid FROM signing_keys WHERE retired_at IS NULL`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if active != second {
		t.Fatalf("active key %s, want %s", active, second)
	}
	var audits int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'keys.rotate' AND details->>'kid' = $1
		AND details->>'retired_kid' = $2`, second, first).Scan(&audits); err != nil || audits != 1 {
		t.Fatalf("audit entries for the second rotation: %d (%v)", audits, err)
	}
}

func TestKeysUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"list"}, {"rotate", "now"}} {
		err := keysCommand(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{})
		if !errors.Is(err, errUsage) {
			t.Errorf("keys %v: err = %v, want a usage error", args, err)
		}
	}
}
