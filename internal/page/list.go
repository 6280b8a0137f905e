package page

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/store"
)

// List describes one keyset-paged list: whose it is, what selects its rows and how to read
// them. R is the stored row, P the keyset position a cursor carries.
type List[R, P any] struct {
	// Name tells the lists apart ("projects", "api_keys", ...).
	Name string
	// Owner is the caller; a cursor is valid only for the user it was issued to.
	Owner uuid.UUID
	// Filter is everything else that selects the rows (query parameters, the parent's id). It is
	// JSON-encoded into the cursor's signature, so a cursor is valid only for the same filter.
	Filter any
	// Fetch reads at most max rows after position (nil: from the start), in list order.
	Fetch func(ctx context.Context, after *P, max int32) ([]R, error)
	// Position is the keyset position of a row, where the next page starts.
	Position func(R) P
	// Size estimates the bytes a row adds to the encoded page; nil means rows are small and
	// only the item limit bounds the page.
	Size func(R) int
}

// Request is the client's part of a list call: the page size and the cursor ("" at the start).
type Request struct {
	Limit  int
	Cursor string
}

// Params reads the contract's `limit` and `cursor` query parameters.
func Params(limit *int, cursor *string) Request {
	r := Request{Limit: Size(limit)}
	if cursor != nil {
		r.Cursor = *cursor
	}
	return r
}

// Page is one page of items and the cursor of the next ("" on the last page).
type Page[T any] struct {
	Items []T
	Next  string
}

// HasMore reports whether another page follows.
func (p Page[T]) HasMore() bool { return p.Next != "" }

// Fetch reads the page req asks for: it verifies the cursor against the list's name, owner and
// filter (anything else is a 400 pointing at `cursor`), fetches limit+1 rows to learn whether
// more exist, stops early when the page would pass the byte budget, converts the rows and signs
// the next cursor. Database errors come back mapped (store.MapError).
func Fetch[R, P, T any](ctx context.Context, c *Cursors, l List[R, P], req Request, convert func(R) T) (Page[T], error) {
	scope, err := l.scope()
	if err != nil {
		return Page[T]{}, err
	}
	var after *P
	if req.Cursor != "" {
		after = new(P)
		if err := c.Decode(scope, req.Cursor, after); err != nil {
			return Page[T]{}, err
		}
	}
	limit := max(req.Limit, 1)
	rows, err := l.Fetch(ctx, after, int32(limit+1))
	if err != nil {
		return Page[T]{}, store.MapError(err)
	}
	rows, more := Trim(rows, limit)
	if n := fit(rows, l.Size, c.budget); n < len(rows) {
		rows, more = rows[:n], true
	}
	out := Page[T]{Items: make([]T, len(rows))}
	for i, r := range rows {
		out.Items[i] = convert(r)
	}
	if more {
		out.Next = c.Encode(scope, l.Position(rows[len(rows)-1]))
	}
	return out, nil
}

// scope is what a cursor of this list is signed for.
func (l List[R, P]) scope() (string, error) {
	filter, err := json.Marshal(l.Filter)
	if err != nil {
		return "", err
	}
	return l.Name + "\x00" + l.Owner.String() + "\x00" + string(filter), nil
}

// fit returns how many leading rows stay within the byte budget; the first row always does, so
// a page always makes progress.
func fit[R any](rows []R, size func(R) int, budget int) int {
	if size == nil || budget <= 0 {
		return len(rows)
	}
	total := 0
	for i, r := range rows {
		if total += size(r); total > budget && i > 0 {
			return i
		}
	}
	return len(rows)
}

// TimeID is the keyset position of a list ordered by a time and then an id.
type TimeID struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// At returns the position of the row at t with id.
func At(t time.Time, id uuid.UUID) TimeID { return TimeID{At: t, ID: id} }

// Split returns the parts for a query's keyset parameters: nil, nil on the first page.
func (p *TimeID) Split() (*time.Time, *uuid.UUID) {
	if p == nil {
		return nil, nil
	}
	return &p.At, &p.ID
}

// ItemOverhead is roughly what an item's fixed fields (ids, times, counters, member names) add
// to an encoded page; a List's Size adds it to the lengths of the variable-length fields.
const ItemOverhead = 512

// TextLen is the length of an optional text field, for a List's Size.
func TextLen(s *string) int {
	if s == nil {
		return 0
	}
	return len(*s)
}
