package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// DefaultDPoPProofWindow is how far a proof's iat may be from the server's clock either way when
// the configuration names no window.
const DefaultDPoPProofWindow = 60 * time.Second

var (
	errDPoPHeaders = apperr.New(apperr.Unauthenticated, "invalid_dpop_proof", "send exactly one DPoP proof header")
	errDPoPReplay  = apperr.New(apperr.Unauthenticated, "invalid_dpop_proof", "the DPoP proof was already used")
	errDPoPCache   = apperr.New(apperr.Unavailable, "dpop_replay_cache_unavailable", "DPoP proofs cannot be checked right now").
			WithRetryAfter(time.Second)
)

// DPoPProofs verifies DPoP proofs (RFC 9449) and spends each proof's jti once: Redis remembers
// every jti of a key until its proof's iat can no longer pass the window, so a captured proof
// cannot be sent again. When Redis is unreachable proofs are refused (503), never let through
// unchecked.
type DPoPProofs struct {
	rdb    redis.UniversalClient
	prefix string
	window time.Duration
	now    func() time.Time
	keys   *dpopKeyCache
}

// NewDPoPProofs returns the verifier; window <= 0 means DefaultDPoPProofWindow.
func NewDPoPProofs(rdb redis.UniversalClient, prefix string, window time.Duration, now func() time.Time) *DPoPProofs {
	if window <= 0 {
		window = DefaultDPoPProofWindow
	}
	return &DPoPProofs{rdb: rdb, prefix: prefix, window: window, now: now, keys: newDPoPKeyCache()}
}

// Verify checks the one proof req presents and spends its jti; it returns the key's thumbprint.
func (d *DPoPProofs) Verify(ctx context.Context, req DPoPRequest) (string, error) {
	p, err := d.check(req)
	if err != nil {
		return "", err
	}
	return p.JKT, d.spend(ctx, p)
}

// check verifies the proof without spending it.
func (d *DPoPProofs) check(req DPoPRequest) (DPoPProof, error) {
	if len(req.Proofs) != 1 {
		return DPoPProof{}, errDPoPHeaders
	}
	return parseDPoPProof(req.Proofs[0], req, d.now(), d.window, d.keys)
}

// checkUnsigned is check with the signature left to the caller (unsignedDPoPProof.signed).
func (d *DPoPProofs) checkUnsigned(req DPoPRequest) (unsignedDPoPProof, error) {
	if len(req.Proofs) != 1 {
		return unsignedDPoPProof{}, errDPoPHeaders
	}
	return parseDPoPProofUnsigned(req.Proofs[0], req, d.now(), d.window, d.keys)
}

// spend records p's jti; a jti already recorded is a replay.
func (d *DPoPProofs) spend(ctx context.Context, p DPoPProof) error {
	return d.queueSpend(ctx, d.rdb, p)()
}

// queueSpend adds the recording of p's jti to pipe (a round trip other checks share) and returns
// the function that reads the outcome once pipe ran: nil, the replay error, or 503 when Redis
// could not record it (a proof is never let through unchecked).
func (d *DPoPProofs) queueSpend(ctx context.Context, pipe redis.Cmdable, p DPoPProof) (outcome func() error) {
	// A proof is accepted from iat-window to iat+window, so its jti is kept for as long.
	cmd := pipe.SetNX(ctx, d.jtiKey(p), 1, 2*d.window+time.Second)
	return func() error {
		fresh, err := cmd.Result()
		if err != nil {
			return apperr.Wrap(err, errDPoPCache.Kind, errDPoPCache.Code, errDPoPCache.Detail).WithRetryAfter(errDPoPCache.RetryAfter)
		}
		if !fresh {
			return errDPoPReplay
		}
		return nil
	}
}

// jtiKey names the replay record of p. The key's thumbprint is the hash tag: all records of one
// client key share a slot; the jti is hashed because the client chose it.
func (d *DPoPProofs) jtiKey(p DPoPProof) string {
	h := sha256.Sum256([]byte(p.JTI))
	return d.prefix + "{dpop:" + p.JKT + "}:jti:" + hex.EncodeToString(h[:16])
}
