package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/sharedconn"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Revocations answers "is this refresh family (and so its access tokens) revoked?" on every
// authenticated request. PostgreSQL is the record; Redis caches the answer so most requests cost
// one GET. Revoked families are cached until their last access token has expired; live ones for
// a few seconds only, which bounds how long a revocation can go unseen if writing it to Redis
// failed. When Redis is unreachable every check goes to PostgreSQL — none is skipped.
type Revocations struct {
	rdb       redis.UniversalClient
	conn      sharedconn.Conn // what the per-request lookups are sent on
	prefix    string
	store     *store.Store
	accessTTL time.Duration
	log       *slog.Logger
	// local answers for access tokens it has seen not revoked, and inval tells every instance's
	// of a revocation (cachedLocally); both nil: every check asks Redis.
	local *accessCache
	inval *keyInvalidation
}

// liveCacheTTL is how long a "not revoked" answer is trusted.
const liveCacheTTL = 15 * time.Second

// NewRevocations returns the revocation checker.
func NewRevocations(rdb redis.UniversalClient, prefix string, st *store.Store, accessTTL time.Duration, log *slog.Logger) *Revocations {
	return &Revocations{rdb: rdb, conn: sharedconn.Of(rdb), prefix: prefix, store: st, accessTTL: accessTTL, log: log}
}

// cachedLocally has r answer access tokens it has seen not revoked from an in-process cache that
// inval keeps in step across instances (accessCache), and publish its revocations on inval.
func (r *Revocations) cachedLocally(inval *keyInvalidation, now func() time.Time) *Revocations {
	r.inval = inval
	r.local = newAccessCache(liveCacheTTL, accessCacheMax, now, inval.live)
	return r
}

func (r *Revocations) familyKey(id uuid.UUID) string { return r.prefix + "fam:" + id.String() }
func (r *Revocations) tokenKey(jti string) string    { return r.prefix + "jti:" + jti }

// FamilyRevoked reports whether the family is revoked (or gone with its deleted user).
func (r *Revocations) FamilyRevoked(ctx context.Context, id uuid.UUID) (bool, error) {
	return r.AccessRevoked(ctx, id, "")
}

// AccessRevoked reports whether an access token is no longer valid: its family revoked, or its
// id denylisted. Both are asked of Redis in one round trip; a family Redis does not know (or
// any Redis failure) is answered by PostgreSQL.
func (r *Revocations) AccessRevoked(ctx context.Context, family uuid.UUID, jti string) (bool, error) {
	pipe := r.conn.Pipeline()
	answer := r.queue(ctx, pipe, family, jti)
	_, _ = pipe.Exec(ctx) // each command carries its own error; answer reads them
	return answer(ctx)
}

// queue adds AccessRevoked's Redis lookups to pipe (a round trip other checks share) and returns
// the function that reads the answer once pipe ran, asking PostgreSQL when Redis could not tell.
// A token the local cache knows not to be revoked queues nothing; one found not revoked is
// remembered there.
func (r *Revocations) queue(ctx context.Context, pipe redis.Pipeliner, family uuid.UUID, jti string) (answer func(context.Context) (bool, error)) {
	if r.local.alive(family, jti) {
		return func(context.Context) (bool, error) { return false, nil }
	}
	epoch := r.local.begin()
	lookup := r.queueLookup(ctx, pipe, family, jti)
	return func(ctx context.Context) (bool, error) {
		revoked, err := lookup(ctx)
		if err == nil && !revoked {
			r.local.put(epoch, family, jti)
		}
		return revoked, err
	}
}

// queueLookup is queue's lookup in Redis, and in PostgreSQL when Redis cannot tell.
func (r *Revocations) queueLookup(ctx context.Context, pipe redis.Pipeliner, family uuid.UUID, jti string) func(context.Context) (bool, error) {
	fam := pipe.Get(ctx, r.familyKey(family))
	var denied *redis.IntCmd
	if jti != "" {
		denied = pipe.Exists(ctx, r.tokenKey(jti))
	}
	return func(ctx context.Context) (bool, error) {
		err := fam.Err()
		if errors.Is(err, redis.Nil) { // not cached: PostgreSQL answers below
			err = nil
		}
		if err == nil && denied != nil {
			err = denied.Err()
		}
		switch {
		case err != nil:
			r.log.Warn("revocation cache unavailable; asking PostgreSQL", slog.String("error", err.Error()))
		case denied != nil && denied.Val() > 0:
			return true, nil
		case fam.Err() == nil:
			return fam.Val() == "r", nil
		}
		return r.familyFromStore(ctx, family)
	}
}

// familyFromStore asks PostgreSQL and caches the answer.
func (r *Revocations) familyFromStore(ctx context.Context, id uuid.UUID) (bool, error) {
	fam, err := r.store.Queries().GetRefreshFamily(ctx, id)
	revoked := errors.Is(err, pgx.ErrNoRows) || (err == nil && fam.RevokedAt != nil)
	if err != nil && !revoked {
		return false, err
	}
	val, ttl := "a", liveCacheTTL
	if revoked {
		val, ttl = "r", r.accessTTL+time.Minute
	}
	_ = r.rdb.Set(ctx, r.familyKey(id), val, ttl).Err() // a cache miss next time is harmless
	return revoked, nil
}

// Mark caches families as revoked, after the revocation committed in PostgreSQL, and drops their
// tokens from every instance's local cache before it returns.
func (r *Revocations) Mark(ctx context.Context, ids ...uuid.UUID) {
	if len(ids) == 0 {
		return
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Set(ctx, r.familyKey(id), "r", r.accessTTL+time.Minute)
		}
		return nil
	})
	if err != nil {
		r.log.Error("caching revoked families failed; live entries expire within "+liveCacheTTL.String(), slog.String("error", err.Error()))
	}
	r.published(ctx, subjects{families: ids})
}

// published tells every instance's local cache of a revocation written to Redis.
func (r *Revocations) published(ctx context.Context, s subjects) {
	if r.inval != nil {
		r.inval.publish(ctx, s)
	}
}

// DenyToken denylists one access token id for its remaining lifetime (logout: "stops working
// immediately on every instance"; its family is revoked too, so PostgreSQL backs this up).
func (r *Revocations) DenyToken(ctx context.Context, jti string, remaining time.Duration) {
	if jti == "" || remaining <= 0 {
		return
	}
	if err := r.rdb.Set(ctx, r.tokenKey(jti), "1", remaining+time.Minute).Err(); err != nil {
		r.log.Error("denylisting access token failed; its revoked family still stops it", slog.String("error", err.Error()))
	}
	r.published(ctx, subjects{tokens: []string{jti}})
}
