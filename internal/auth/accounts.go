package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Settings are the account rules from configuration.
type Settings struct {
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	RefreshGrace      time.Duration
	LockoutThreshold  int
	LockoutDuration   time.Duration
	APIKeyRotateGrace time.Duration
	MaxAPIKeysPerUser int           // working keys a user may hold; 0: no cap
	DPoPProofWindow   time.Duration // how far a DPoP proof's iat may be from now; 0: DefaultDPoPProofWindow
	// APIKeyCacheTTL and APIKeyCacheSize bound the in-process cache of verified API keys
	// (DefaultAPIKeyCacheTTL, DefaultAPIKeyCacheSize); either 0 turns it off.
	APIKeyCacheTTL  time.Duration
	APIKeyCacheSize int
}

// Accounts is the account service: registration, sign-in, token refresh, profile, API keys and
// administration. Each public method is one transaction; Redis is only a cache beside it.
type Accounts struct {
	store     *store.Store
	passwords *Passwords
	tokens    *AccessTokens
	revoked   *Revocations
	childBox  *secret.Box // encrypts a rotated refresh token's child for the grace window
	noKey     *negativeKeys
	inval     *keyInvalidation // keeps apiKeys' and revoked's caches in step across instances
	apiKeys   *verifiedKeys
	dpop      *DPoPProofs
	dpopAudit *dpopRejections // throttles auth.dpop_rejected entries
	now       func() time.Time
	set       Settings
	log       *slog.Logger
	mfa       MFASettings    // WithMFA
	passkeys  PasskeyCounter // WithPasskeys; nil: nobody has a passkey
}

// NewAccounts wires the account service.
func NewAccounts(st *store.Store, rdb redis.UniversalClient, redisPrefix string, passwords *Passwords, tokens *AccessTokens,
	childBox *secret.Box, now func() time.Time, set Settings, log *slog.Logger) *Accounts {
	inval := newKeyInvalidation(rdb, redisPrefix, log)
	a := &Accounts{
		store: st, passwords: passwords, tokens: tokens, childBox: childBox, now: now, set: set, log: log,
		noKey:     newNegativeKeys(now),
		inval:     inval,
		apiKeys:   newVerifiedKeys(st, inval, now, set, log),
		revoked:   NewRevocations(rdb, redisPrefix, st, set.AccessTTL, log).cachedLocally(inval, now),
		dpop:      NewDPoPProofs(rdb, redisPrefix, set.DPoPProofWindow, now),
		dpopAudit: &dpopRejections{},
	}
	inval.start(a.apiKeys.cache, a.revoked.local)
	return a
}

// Close stops the credential caches' subscription and writes the last-use times still queued;
// call it before the store and Redis close.
func (a *Accounts) Close() {
	a.inval.close()
	a.apiKeys.close()
}

// APIKeyCacheState reports whether the verified-key cache is serving (its invalidation
// subscription is up) and how many keys it holds, for tests and diagnostics.
func (a *Accounts) APIKeyCacheState() (live bool, entries int) {
	return a.apiKeys.cache.live(), a.apiKeys.cache.len()
}

// User is an account as the service shows it.
type User struct {
	ID          uuid.UUID
	Email       string
	Username    *string
	Roles       []string
	IsActive    bool
	Preferences map[string]any
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LockedUntil *time.Time // only filled for administrators' views
}

// TokenPair is what a successful sign-in or refresh returns.
type TokenPair struct {
	User         User
	AccessToken  string
	RefreshToken string
	ExpiresIn    int
	TokenType    string // TokenTypeDPoP when the pair is bound to a DPoP key, else TokenTypeBearer
}

func userFromRow(u db.User) User {
	prefs := map[string]any{}
	_ = json.Unmarshal(u.Preferences, &prefs) // the column is jsonb: always a valid object
	return User{
		ID: u.ID, Email: u.Email, Username: u.Username, Roles: u.Roles, IsActive: u.IsActive,
		Preferences: prefs, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// audiences maps the client type of a sign-in to the access token audience.
var audiences = map[string]string{"ios": "claude-code-ios", "web": "claude-code-web"}

func audienceFor(clientType string) string {
	if aud, ok := audiences[clientType]; ok {
		return aud
	}
	return audiences["ios"]
}

// newSecret returns prefix + 256 random bits, URL-safe.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how refresh tokens and API keys are stored: high-entropy secrets need no salt.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// startFamily opens a refresh family for user (a new sign-in, audited as action) and stores its
// first refresh token; the caller signs the access token after the transaction commits.
// in says how the login authenticated; the family keeps it so that refreshes carry it on.
func (a *Accounts) startFamily(ctx context.Context, q *db.Queries, userID uuid.UUID, audience string, action audit.Action, now time.Time, in signIn) (uuid.UUID, string, error) {
	fam, err := q.CreateRefreshFamily(ctx, db.CreateRefreshFamilyParams{UserID: userID, Audience: audience, Now: now})
	if err != nil {
		return uuid.Nil, "", err
	}
	if err := bindFamily(ctx, q, fam.ID); err != nil {
		return uuid.Nil, "", err
	}
	if err := q.SetRefreshFamilySignIn(ctx, db.SetRefreshFamilySignInParams{AuthTime: in.At, Amr: in.AMR, ID: fam.ID}); err != nil {
		return uuid.Nil, "", err
	}
	secret := newSecret("ccr_")
	_, err = q.InsertRefreshToken(ctx, db.InsertRefreshTokenParams{
		FamilyID: fam.ID, TokenHash: hashSecret(secret), Now: now, ExpiresAt: now.Add(a.set.RefreshTTL),
	})
	if err != nil {
		return uuid.Nil, "", err
	}
	err = audit.Record(ctx, q, now, audit.Event{Action: action, Outcome: audit.Success, ActorID: userID, SubjectID: userID,
		Details: map[string]any{"family_id": fam.ID.String()}})
	return fam.ID, secret, err
}

// pair signs an access token for the family and bundles it with the refresh token.
func (a *Accounts) pair(ctx context.Context, u User, familyID uuid.UUID, audience, refresh string, in signIn) (TokenPair, error) {
	jkt := DPoPThumbprintFrom(ctx)
	token, claims, err := a.tokens.Issue(ctx, AccessClaims{UserID: u.ID, Roles: u.Roles, FamilyID: familyID, Audience: audience,
		AuthTime: in.At, AMR: in.AMR, JKT: jkt})
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		User: u, AccessToken: token, RefreshToken: refresh, TokenType: tokenTypeOf(jkt),
		ExpiresIn: int(claims.ExpiresAt.Sub(a.now()).Round(time.Second).Seconds()),
	}, nil
}

// lastUsedResolution is how precisely an API key's last use is recorded.
const lastUsedResolution = time.Minute
