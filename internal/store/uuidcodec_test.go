package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestUUIDsMoveAsRawBytes: the pool's connections scan and send google/uuid values through the
// store's binary uuid codec (not uuid.UUID's text Scanner and Valuer), and every shape the
// generated queries use round-trips: a value, a nullable pointer (set and NULL), an array, a
// uuid compared in SQL, and the text protocol.
func TestUUIDsMoveAsRawBytes(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tm := conn.Conn().TypeMap()
	if plan := fmt.Sprintf("%T", tm.PlanScan(pgtype.UUIDOID, pgtype.BinaryFormatCode, new(uuid.UUID))); plan != "store.scanUUID" {
		t.Errorf("scan plan for *uuid.UUID = %s, want the store's raw-byte plan", plan)
	}
	if plan := fmt.Sprintf("%T", tm.PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, uuid.New())); plan != "store.encodeUUID" {
		t.Errorf("encode plan for uuid.UUID = %s, want the store's raw-byte plan", plan)
	}

	id, other := uuid.New(), uuid.New()
	var got uuid.UUID
	var same bool
	var text string
	if err := conn.QueryRow(ctx, "SELECT $1::uuid, $1::uuid = $2::uuid, $1::uuid::text", id, id.String()).Scan(&got, &same, &text); err != nil {
		t.Fatal(err)
	}
	if got != id || !same || text != id.String() {
		t.Errorf("round trip: %s, equal %v, text %q; want %s", got, same, text, id)
	}

	var set, null *uuid.UUID
	if err := conn.QueryRow(ctx, "SELECT $1::uuid, NULL::uuid", &other).Scan(&set, &null); err != nil {
		t.Fatal(err)
	}
	if set == nil || *set != other || null != nil {
		t.Errorf("nullable: %v, %v; want %s and nil", set, null, other)
	}
	var notNullable uuid.UUID
	if err := conn.QueryRow(ctx, "SELECT NULL::uuid").Scan(&notNullable); err == nil {
		t.Error("NULL scanned into a uuid.UUID without an error")
	}

	var list []uuid.UUID
	if err := conn.QueryRow(ctx, "SELECT array_append($1::uuid[], $2::uuid)", []uuid.UUID{id}, other).Scan(&list); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list, []uuid.UUID{id, other}) {
		t.Errorf("array: %v, want [%s %s]", list, id, other)
	}

	if err := conn.QueryRow(ctx, "SELECT $1::uuid", pgx.QueryExecModeSimpleProtocol, id).Scan(&got); err != nil || got != id {
		t.Errorf("simple protocol: %s, %v; want %s", got, err, id)
	}
}
