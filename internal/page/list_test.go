package page

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// numbers is a list over an in-memory slice: row i has size sizes[i].
func numbers(owner uuid.UUID, filter any, sizes []int) List[int, int] {
	return List[int, int]{
		Name: "numbers", Owner: owner, Filter: filter,
		Fetch: func(_ context.Context, after *int, limit int32) ([]int, error) {
			start := 0
			if after != nil {
				start = *after + 1
			}
			var out []int
			for i := start; i < len(sizes) && len(out) < int(limit); i++ {
				out = append(out, i)
			}
			return out, nil
		},
		Position: func(r int) int { return r },
		Size:     func(r int) int { return sizes[r] },
	}
}

// walk pages through l and returns the pages' items.
func walk(t *testing.T, c *Cursors, l List[int, int], limit int) [][]int {
	t.Helper()
	var pages [][]int
	req := Request{Limit: limit}
	for len(pages) < 20 {
		p, err := Fetch(context.Background(), c, l, req, func(r int) int { return r })
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p.Items)
		if !p.HasMore() {
			return pages
		}
		req.Cursor = p.Next
	}
	t.Fatal("no last page")
	return nil
}

func TestFetchStopsAtTheByteBudget(t *testing.T) {
	c := NewCursors([]byte("k")).WithByteBudget(100)
	owner := uuid.New()
	// 40+40 fit; 40+40+40 would not; a 500-byte row comes alone (a page always progresses).
	got := walk(t, c, numbers(owner, nil, []int{40, 40, 40, 500, 10, 10}), 5)
	want := [][]int{{0, 1}, {2}, {3}, {4, 5}}
	if len(got) != len(want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || got[i][0] != want[i][0] {
			t.Errorf("page %d = %v, want %v", i, got[i], want[i])
		}
	}
	// Without a budget only the limit cuts.
	if got := walk(t, NewCursors([]byte("k")).WithByteBudget(0), numbers(owner, nil, []int{40, 40, 40, 500}), 5); len(got) != 1 {
		t.Errorf("unbudgeted pages %v, want one", got)
	}
}

func TestFetchBindsCursorsAndMapsErrors(t *testing.T) {
	c := NewCursors([]byte("k"))
	owner := uuid.New()
	sizes := []int{1, 1, 1}
	first, err := Fetch(context.Background(), c, numbers(owner, "a", sizes), Request{Limit: 1}, func(r int) int { return r })
	if err != nil || !first.HasMore() {
		t.Fatalf("first page %+v, %v", first, err)
	}
	others := map[string]List[int, int]{
		"another user":   numbers(uuid.New(), "a", sizes),
		"another filter": numbers(owner, "b", sizes),
		"another list":   func() List[int, int] { l := numbers(owner, "a", sizes); l.Name = "letters"; return l }(),
	}
	for name, l := range others {
		_, err := Fetch(context.Background(), c, l, Request{Limit: 1, Cursor: first.Next}, func(r int) int { return r })
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Invalid || ae.Code != "invalid_cursor" {
			t.Errorf("%s: %v, want invalid_cursor", name, err)
		}
	}
	broken := numbers(owner, "a", sizes)
	broken.Fetch = func(context.Context, *int, int32) ([]int, error) { return nil, context.DeadlineExceeded }
	_, err = Fetch(context.Background(), c, broken, Request{Limit: 1}, func(r int) int { return r })
	if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("database timeout = %v, want a mapped Timeout", err)
	}
}
