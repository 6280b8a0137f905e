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
// The proof's claims and key are checked at once and the proof returned (nil when there is none)
// with its signature still to check; the caller runs that check beside the revocation lookup's
// round trip, which also spends the jti (queueSpend). Refused proofs are audited (dpopRejected).
func (a *Accounts) checkDPoPBinding(ctx context.Context, claims AccessClaims, creds Credentials) (*unsignedDPoPProof, error) {
	proof, err := a.dpopBinding(claims, creds)
	if err != nil {
		a.dpopRejected(ctx, err, claims.UserID, claims.JKT)
	}
	return proof, err
}

func (a *Accounts) dpopBinding(claims AccessClaims, creds Credentials) (*unsignedDPoPProof, error) {
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
	p, err := a.dpop.checkUnsigned(req)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(p.JKT), []byte(claims.JKT)) != 1 {
		return nil, errDPoPWrongKey
	}
	return &p, nil
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
