package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// The security schemes of api/openapi.yaml this authenticator understands.
const (
	SchemeBearer = "bearerAuth"
	SchemeAPIKey = "apiKeyAuth"
	SchemeAdmin  = "adminAuth"
	SchemeDPoP   = "dpopAuth"
)

var (
	errNoCredentials = apperr.New(apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
	errBadAPIKey     = apperr.New(apperr.Unauthenticated, "invalid_api_key", "the API key is invalid, expired or revoked")
	errRevoked       = apperr.New(apperr.Unauthenticated, "invalid_token", "the access token has been revoked")
)

// Credentials are what a request presents, parsed from its headers by the HTTP layer so that this
// package never sees a request.
type Credentials struct {
	Bearer string // the token of an `Authorization: Bearer …` (or `DPoP …`) header; "" when absent or malformed
	// DPoPScheme: the token came as `Authorization: DPoP …` (RFC 9449), so DPoP says what its proof is.
	DPoPScheme bool
	DPoP       DPoPRequest
	APIKey     string // the X-API-Key header
	ClientIP   string // as the HTTP layer resolved it (trusted proxies only)
	UserAgent  string
	// Ticket is a realtime ticket (?ticket= or a ccb.ticket.<t> WebSocket subprotocol); only the
	// event feed operations accept one.
	Ticket string
}

// Present reports whether any credential was sent at all: a request without one is merely
// anonymous, one with a wrong one is a failed attempt.
func (c Credentials) Present() bool { return c.Bearer != "" || c.APIKey != "" || c.Ticket != "" }

// Identified, when not nil, is told who the caller is as soon as the credentials are known to be
// genuine (a valid signature, an existing API key), before the revocation lookup and the role
// check, so that work keyed by the caller (the rate-limit decision) can run alongside that
// lookup. Authenticate may still refuse the caller afterwards.
//
// It may return a Rider: Redis work keyed by the caller that rides in the round trip the
// authenticator makes anyway, so the caller's rate-limit decision costs no trip of its own. A
// path that makes no such trip (API keys) ignores it, and the caller runs it itself.
type Identified func(Principal) Rider

// Rider queues its commands on pipe; it reads their replies once pipe has been executed.
type Rider func(ctx context.Context, pipe redis.Pipeliner)

// Hooks are the caller's work that Authenticate runs at set moments of the check; either may be nil.
type Hooks struct {
	Identified Identified
	// BeforeLookup runs before a PostgreSQL lookup that a credential not known to be genuine
	// causes (an API key outside the verified-key cache), and an error it returns refuses the
	// request with it: a spent failed-credentials budget must stop made-up keys before each one
	// costs a lookup. Credentials proved without that lookup never wait for it.
	BeforeLookup func(context.Context) error
}

func (h Hooks) identified(p Principal) Rider {
	if h.Identified == nil {
		return nil
	}
	return h.Identified(p)
}

func (h Hooks) beforeLookup(ctx context.Context) error {
	if h.BeforeLookup == nil {
		return nil
	}
	return h.BeforeLookup(ctx)
}

// Authenticate checks the credentials a request presents for one security scheme of the spec
// and, when the requirement names scopes, that the caller holds those roles. It implements
// httpapi.Authenticator.
func (a *Accounts) Authenticate(ctx context.Context, creds Credentials, scheme string, scopes []string, hooks Hooks) (Principal, error) {
	var (
		p   Principal
		err error
	)
	switch scheme {
	case SchemeBearer:
		p, err = a.fromBearer(ctx, creds, hooks)
	case SchemeDPoP:
		// The same check as bearerAuth's, which takes both schemes so that a bound token sent
		// as a bearer is told why it fails; listed after it, this runs only once that failed.
		if creds.DPoPScheme {
			p, err = a.fromBearer(ctx, creds, hooks)
		} else {
			err = errNoCredentials
		}
	case SchemeAPIKey:
		p, err = a.fromAPIKey(ctx, creds.APIKey, hooks)
	case SchemeAdmin: // any credential, then the role
		if creds.APIKey != "" {
			p, err = a.fromAPIKey(ctx, creds.APIKey, hooks)
		} else {
			p, err = a.fromBearer(ctx, creds, hooks)
		}
	default:
		err = errNoCredentials
	}
	if err != nil {
		return Principal{}, err
	}
	for _, role := range scopes {
		if !p.HasRole(role) {
			return Principal{}, apperr.New(apperr.Forbidden, "forbidden", "this operation needs the "+role+" role")
		}
	}
	return p, nil
}

func (a *Accounts) fromBearer(ctx context.Context, creds Credentials, hooks Hooks) (Principal, error) {
	token := creds.Bearer
	if token == "" {
		return Principal{}, errNoCredentials
	}
	// OpenAI SDKs send their API key as a bearer token.
	if strings.HasPrefix(token, "ccb_") {
		if creds.DPoPScheme {
			return Principal{}, errDPoPUnbound
		}
		return a.fromAPIKey(ctx, token, hooks)
	}
	claims, err := a.tokens.Verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{UserID: claims.UserID, Roles: claims.Roles, FamilyID: claims.FamilyID, TokenID: claims.TokenID, ExpiresAt: claims.ExpiresAt,
		AuthTime: claims.AuthTime, AMR: claims.AMR}
	proof, err := a.checkDPoPBinding(ctx, claims, creds)
	if err != nil {
		return Principal{}, err
	}
	revoked, err := a.accessRevoked(ctx, claims, proof, hooks.identified(p))
	if err != nil {
		return Principal{}, err
	}
	if revoked {
		return Principal{}, errRevoked
	}
	return p, nil
}

// accessRevoked makes the one Redis round trip of an access-token request: the revocation
// lookup, the DPoP proof's jti (when there is a proof) and whatever the caller's rider carries
// (its rate-limit decision), in one pipeline; go-redis splits it per node on a cluster, and
// every command in it touches one key. A proof whose jti cannot be recorded fails closed; the
// revocation lookup falls back to PostgreSQL.
//
// The proof's signature, most of what DPoP costs, is checked on another goroutine while the trip
// is in flight, and nothing is answered before it is known. Spending the jti of a proof that then
// fails its signature gives a forger nothing: the jti is recorded under the key the forger named,
// and only a proof signed by that key can use it. What it does cost: a stolen bound token with a
// forged proof spends one unit of its owner's request limit, as any refused request from that
// address also spends one of the failed-credentials budget, which bounds it.
func (a *Accounts) accessRevoked(ctx context.Context, claims AccessClaims, proof *unsignedDPoPProof, ride Rider) (bool, error) {
	pipe := a.revoked.conn.Pipeline()
	revoked := a.revoked.queue(ctx, pipe, claims.FamilyID, claims.TokenID)
	spent, signed := func() error { return nil }, make(chan error, 1)
	if proof != nil {
		spent = a.dpop.queueSpend(ctx, pipe, proof.DPoPProof)
		go func() { signed <- proof.signed() }()
	} else {
		signed <- nil
	}
	if ride != nil {
		ride(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error, read below
	err := <-signed
	if err == nil {
		err = spent() // a replayed jti
	}
	if err != nil {
		a.dpopRejected(ctx, err, claims.UserID, claims.JKT)
		return false, err
	}
	return revoked(ctx)
}

func (a *Accounts) fromAPIKey(ctx context.Context, secret string, hooks Hooks) (Principal, error) {
	if !strings.HasPrefix(secret, "ccb_") {
		return Principal{}, errNoCredentials
	}
	now := a.now()
	hash := hashSecret(secret)
	if p, ok := a.apiKeys.lookup(hash, now); ok {
		hooks.identified(p)
		return p, nil
	}
	if a.noKey.has(hash) {
		return Principal{}, errBadAPIKey
	}
	if err := hooks.beforeLookup(ctx); err != nil {
		return Principal{}, err
	}
	epoch := a.apiKeys.cache.begin()
	key, err := a.store.Queries().FindAPIKey(ctx, db.FindAPIKeyParams{KeyHash: hash, Now: &now})
	if errors.Is(err, pgx.ErrNoRows) {
		a.noKey.add(hash)
		return Principal{}, errBadAPIKey
	} else if err != nil {
		return Principal{}, err
	}
	if !key.IsActive {
		return Principal{}, errBadAPIKey
	}
	p := Principal{UserID: key.UserID, Roles: key.Roles, APIKeyID: key.ID}
	hooks.identified(p)
	a.apiKeys.store(epoch, hash, p, key, now)
	return p, nil
}
