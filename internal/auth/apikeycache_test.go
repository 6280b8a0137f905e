package auth

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func testHash(b byte) []byte { h := make([]byte, 32); h[0] = b; return h }

func TestKeyCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	live := true
	newCache := func() *keyCache { return newKeyCache(time.Minute, 2, clock, func() bool { return live }) }
	p := func() Principal { return Principal{UserID: uuid.New(), APIKeyID: uuid.New()} }
	has := func(c *keyCache, b byte) bool { _, ok := c.get(testHash(b)); return ok }

	t.Run("bound: the least recently used goes first", func(t *testing.T) {
		c := newCache()
		c.put(c.begin(), testHash(1), p(), nil, nil)
		c.put(c.begin(), testHash(2), p(), nil, nil)
		has(c, 1) // 1 is now more recent than 2
		c.put(c.begin(), testHash(3), p(), nil, nil)
		if c.len() != 2 || !has(c, 1) || has(c, 2) || !has(c, 3) {
			t.Fatalf("len %d, 1:%v 2:%v 3:%v", c.len(), has(c, 1), has(c, 2), has(c, 3))
		}
	})
	t.Run("never past the TTL or the secret's end", func(t *testing.T) {
		c := newCache()
		soon := now.Add(10 * time.Second)
		c.put(c.begin(), testHash(1), p(), &soon, nil)
		c.put(c.begin(), testHash(2), p(), nil, nil)
		now = now.Add(11 * time.Second)
		if has(c, 1) || !has(c, 2) {
			t.Fatal("an entry outlived its key's expiry, or a live one went")
		}
		now = now.Add(time.Minute)
		if has(c, 2) {
			t.Fatal("an entry outlived the TTL")
		}
	})
	t.Run("a lookup that raced an invalidation is not stored", func(t *testing.T) {
		c := newCache()
		epoch := c.begin()
		c.forget([]uuid.UUID{uuid.New()}, nil)
		c.put(epoch, testHash(1), p(), nil, nil)
		if has(c, 1) {
			t.Fatal("stored an answer read before the invalidation")
		}
	})
	t.Run("forget by key and by user", func(t *testing.T) {
		c := newCache()
		a, b := p(), p()
		c.put(c.begin(), testHash(1), a, nil, nil)
		c.put(c.begin(), testHash(2), b, nil, nil)
		c.forget([]uuid.UUID{a.APIKeyID}, nil)
		if has(c, 1) || !has(c, 2) {
			t.Fatal("forget by key")
		}
		c.forget(nil, []uuid.UUID{b.UserID})
		if has(c, 2) {
			t.Fatal("forget by user")
		}
	})
	t.Run("nothing served or stored while not live", func(t *testing.T) {
		c := newCache()
		c.put(c.begin(), testHash(1), p(), nil, nil)
		live = false
		defer func() { live = true }()
		if has(c, 1) {
			t.Fatal("served while the subscription is down")
		}
		c.put(c.begin(), testHash(2), p(), nil, nil)
		live = true
		if has(c, 2) {
			t.Fatal("stored while the subscription was down")
		}
	})
}

func TestSubjectsRoundTrip(t *testing.T) {
	want := subjects{keys: []uuid.UUID{uuid.New()}, users: []uuid.UUID{uuid.New()}, families: []uuid.UUID{uuid.New(), uuid.New()},
		tokens: []string{uuid.NewString()}}
	got := parseSubjects(append(splitFields(formatSubjects(want)), "x:unknown", "k:not-a-uuid"))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func splitFields(s string) []string { return strings.Fields(s) }
