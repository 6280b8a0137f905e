package auth

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAccessCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	live := true
	newCache := func() *accessCache { return newAccessCache(15*time.Second, 3, clock, func() bool { return live }) }
	family := uuid.New()

	t.Run("a token seen not revoked, for the TTL and its own family only", func(t *testing.T) {
		c := newCache()
		c.put(c.begin(), family, "a")
		if !c.alive(family, "a") || c.alive(uuid.New(), "a") || c.alive(family, "b") {
			t.Fatal("served a token for another family, or one never seen")
		}
		now = now.Add(16 * time.Second)
		if c.alive(family, "a") {
			t.Fatal("an entry outlived the TTL")
		}
	})
	t.Run("no token id: never cached", func(t *testing.T) {
		c := newCache()
		c.put(c.begin(), family, "")
		if c.alive(family, "") {
			t.Fatal("a family check without a token was answered from the cache")
		}
	})
	t.Run("a lookup that raced an invalidation is not stored", func(t *testing.T) {
		c := newCache()
		epoch := c.begin()
		c.forgetSubjects(subjects{families: []uuid.UUID{uuid.New()}})
		c.put(epoch, family, "a")
		if c.alive(family, "a") {
			t.Fatal("stored an answer read before the invalidation")
		}
	})
	t.Run("forget by family and by token", func(t *testing.T) {
		c := newCache()
		other := uuid.New()
		for _, e := range []struct {
			f   uuid.UUID
			jti string
		}{{family, "a"}, {family, "b"}, {other, "c"}} {
			c.put(c.begin(), e.f, e.jti)
		}
		c.forgetSubjects(subjects{families: []uuid.UUID{family}})
		if c.alive(family, "a") || c.alive(family, "b") || !c.alive(other, "c") {
			t.Fatal("forget by family")
		}
		c.forgetSubjects(subjects{tokens: []string{"c"}})
		if c.alive(other, "c") {
			t.Fatal("forget by token")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		c := newCache()
		for _, jti := range []string{"a", "b", "c", "d", "e"} {
			c.put(c.begin(), family, jti)
		}
		if n := len(c.byToken); n > 3 || !c.alive(family, "e") {
			t.Fatalf("%d entries for a bound of 3, or the newest is missing", n)
		}
	})
	t.Run("nothing served or stored while not live", func(t *testing.T) {
		c := newCache()
		c.put(c.begin(), family, "a")
		live = false
		defer func() { live = true }()
		if c.alive(family, "a") {
			t.Fatal("served while the subscription is down")
		}
		c.put(c.begin(), family, "b")
		live = true
		if c.alive(family, "b") {
			t.Fatal("stored while the subscription was down")
		}
	})
	t.Run("a nil cache knows nothing", func(t *testing.T) {
		var c *accessCache
		c.put(c.begin(), family, "a")
		if c.alive(family, "a") {
			t.Fatal("a nil cache answered")
		}
	})
}
