package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/audit"
)

// Why a DPoP proof was refused: the reason of an auth.dpop_rejected audit entry. Coarse on
// purpose: the entry says what kind of attempt it was; the server log has the exact cause.
const (
	reasonMalformed    = "malformed"       // not a compact JWS, bad base64url or JSON
	reasonHeader       = "header"          // typ, crit, b64
	reasonAlgorithm    = "algorithm"       // alg not ES256, RS256 or EdDSA
	reasonKey          = "key"             // jwk missing, private, invalid or not for alg
	reasonSignature    = "signature"       // does not verify with the header's key
	reasonJTI          = "jti"             // missing or too long
	reasonHTM          = "htm"             // another method
	reasonHTU          = "htu"             // another URL
	reasonIAT          = "iat"             // missing or outside the window
	reasonATH          = "ath"             // does not hash the presented token
	reasonReplay       = "replay"          // the jti was spent already (on any instance)
	reasonWrongKey     = "wrong_key"       // valid, but not by the key the token is bound to
	reasonBoundBearer  = "bound_as_bearer" // a bound token without a proof
	reasonProofHeaders = "proof_count"     // not exactly one DPoP header
)

// dpopRefusal is a refused proof: the reason, the header key's thumbprint once it is known (it
// identifies a client key, it is no secret), and the cause for the server log.
type dpopRefusal struct {
	reason string
	jkt    string
	err    error
}

func refuse(reason, jkt string, err error) *dpopRefusal {
	return &dpopRefusal{reason: reason, jkt: jkt, err: err}
}

func (r *dpopRefusal) Error() string { return r.reason + ": " + r.err.Error() }
func (r *dpopRefusal) Unwrap() error { return r.err }

// dpopReasonOf names why err refused a proof; "" when err is no refusal (Redis down is a 503).
func dpopReasonOf(err error) (reason, jkt string) {
	var r *dpopRefusal
	switch {
	case errors.As(err, &r):
		return r.reason, r.jkt
	case errors.Is(err, errDPoPReplay):
		return reasonReplay, ""
	case errors.Is(err, errDPoPWrongKey), errors.Is(err, errDPoPRefreshKey):
		return reasonWrongKey, ""
	case errors.Is(err, errDPoPBoundAsBearer):
		return reasonBoundBearer, ""
	case errors.Is(err, errDPoPHeaders):
		return reasonProofHeaders, ""
	}
	return "", ""
}

// Throttle of auth.dpop_rejected entries: a flood of bad proofs must not fill the audit table
// or turn each refusal into a database write. Per process and per minute, one entry per
// (reason, client IP) and at most dpopAuditPerWindow entries in all; refusals left out are
// counted and the next entry carries that count as "suppressed". With N instances the table
// grows by at most N×dpopAuditPerWindow rows a minute whatever the attacker sends.
const (
	dpopAuditWindow    = time.Minute
	dpopAuditPerWindow = 60
)

type dpopRejections struct {
	mu         sync.Mutex
	start      time.Time
	seen       map[string]struct{} // reason|ip already recorded in this window; ≤ dpopAuditPerWindow
	suppressed int
}

// admit reports whether a refusal for reason from ip at now gets an entry, and how many
// refusals went unrecorded before it.
func (t *dpopRejections) admit(reason, ip string, now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil || now.Sub(t.start) >= dpopAuditWindow || now.Before(t.start) {
		t.start, t.seen = now, make(map[string]struct{})
	}
	key := reason + "|" + ip
	if _, dup := t.seen[key]; dup || len(t.seen) >= dpopAuditPerWindow {
		t.suppressed++
		return false, 0
	}
	t.seen[key] = struct{}{}
	n := t.suppressed
	t.suppressed = 0
	return true, n
}

// dpopRejected records the refusal err (if it is one) as auth.dpop_rejected, subject the user
// whose token came with the proof (zero at sign-in), key the thumbprint the proof or the token
// names. A failure to record is logged; the request is refused either way.
func (a *Accounts) dpopRejected(ctx context.Context, err error, subject uuid.UUID, boundJKT string) {
	reason, jkt := dpopReasonOf(err)
	if reason == "" {
		return
	}
	if jkt == "" {
		jkt = boundJKT
	}
	ok, suppressed := a.dpopAudit.admit(reason, audit.MetaFrom(ctx).IP, a.now())
	if !ok {
		return
	}
	details := map[string]any{"reason": reason}
	if jkt != "" {
		details["jkt"] = jkt
	}
	if suppressed > 0 {
		details["suppressed"] = suppressed
	}
	ev := audit.Event{Action: audit.DPoPRejected, Outcome: audit.Failure, SubjectID: subject, Details: details}
	// The entry outlives a client that hangs up on its 401.
	ctx = context.WithoutCancel(ctx)
	if aerr := audit.Record(ctx, a.store.Queries(), a.now(), ev); aerr != nil {
		a.log.WarnContext(ctx, "auth: recording a DPoP refusal", "err", aerr, "reason", reason)
	}
}
