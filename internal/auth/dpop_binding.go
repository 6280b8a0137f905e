package auth

import (
	"context"
	"crypto/subtle"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Token types of a token pair (the token_type of the response).
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

var (
	// errDPoPBoundAsBearer: the token is bound to a key, so it is worthless without that key's proof.
	errDPoPBoundAsBearer = apperr.New(apperr.Unauthenticated, "dpop_bound_token",
		"this access token is DPoP-bound: send it as `Authorization: DPoP` with a DPoP proof")
	errDPoPUnbound = apperr.New(apperr.Unauthenticated, "invalid_token",
		"the access token is not DPoP-bound: send it as `Authorization: Bearer`")
	errDPoPWrongKey = apperr.New(apperr.Unauthenticated, "invalid_dpop_proof",
		"the DPoP proof is not signed by the key the token is bound to")
	errDPoPRefreshKey = apperr.New(apperr.Unauthenticated, "invalid_dpop_proof",
		"this session is DPoP-bound: refresh with a DPoP proof signed by its key")
)

// VerifyDPoPProof verifies the proof of a token-issuing request (no access token yet) and spends
// it; the HTTP layer puts the returned thumbprint into the context with WithDPoPThumbprint.
func (a *Accounts) VerifyDPoPProof(ctx context.Context, req DPoPRequest) (string, error) {
	req.AccessToken = ""
	jkt, err := a.dpop.Verify(ctx, req)
	if err != nil {
		a.dpopRejected(ctx, err, uuid.Nil, "")
	}
	return jkt, err
}

// checkDPoPBinding enforces a token's key binding on a resource request: a bound token needs
// the DPoP scheme and a proof of its key hashing it; an unbound one must come as a bearer token.
// The proof is checked at once; spending its jti (a Redis round trip) is left to the returned
// function, nil when there is none, so the caller can run it beside the revocation lookup.
// Refused proofs are audited (dpopRejected).
func (a *Accounts) checkDPoPBinding(ctx context.Context, claims AccessClaims, creds Credentials) (spend func(context.Context) error, err error) {
	spendJTI, err := a.dpopBinding(claims, creds)
	if err != nil {
		a.dpopRejected(ctx, err, claims.UserID, claims.JKT)
		return nil, err
	}
	if spendJTI == nil {
		return nil, nil
	}
	return func(ctx context.Context) error {
		err := spendJTI(ctx)
		a.dpopRejected(ctx, err, claims.UserID, claims.JKT)
		return err
	}, nil
}

func (a *Accounts) dpopBinding(claims AccessClaims, creds Credentials) (spend func(context.Context) error, err error) {
	switch {
	case claims.JKT == "" && !creds.DPoPScheme:
		return nil, nil
	case claims.JKT == "":
		return nil, errDPoPUnbound
	case !creds.DPoPScheme:
		return nil, errDPoPBoundAsBearer
	}
	req := creds.DPoP
	req.AccessToken = creds.Bearer
	p, err := a.dpop.check(req)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(p.JKT), []byte(claims.JKT)) != 1 {
		return nil, errDPoPWrongKey
	}
	return func(ctx context.Context) error { return a.dpop.spend(ctx, p) }, nil
}

// spendConcurrently starts spend (if any) and returns a wait for its result.
func spendConcurrently(ctx context.Context, spend func(context.Context) error) (wait func() error) {
	if spend == nil {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- spend(ctx) }()
	return func() error { return <-done }
}

// bindFamily records ctx's DPoP key (if any) on a new refresh family inside its transaction.
func bindFamily(ctx context.Context, q *db.Queries, familyID uuid.UUID) error {
	jkt := DPoPThumbprintFrom(ctx)
	if jkt == "" {
		return nil
	}
	return q.BindRefreshFamilyDPoP(ctx, db.BindRefreshFamilyDPoPParams{Jkt: &jkt, ID: familyID})
}

// familyDPoPKey checks that a refresh of a family bound to jkt (nil: unbound) presents that key
// and returns the context its new pair is minted under: bound to the family's key, or unbound (a
// proof sent to refresh an unbound family does not bind it half-way through its life).
func familyDPoPKey(ctx context.Context, jkt *string) (context.Context, error) {
	if jkt == nil {
		return WithDPoPThumbprint(ctx, ""), nil
	}
	if subtle.ConstantTimeCompare([]byte(*jkt), []byte(DPoPThumbprintFrom(ctx))) != 1 {
		return ctx, errDPoPRefreshKey
	}
	return ctx, nil
}

func tokenTypeOf(jkt string) string {
	if jkt != "" {
		return TokenTypeDPoP
	}
	return TokenTypeBearer
}
