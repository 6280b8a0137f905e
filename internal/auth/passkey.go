package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// CeremonyTTL is how long a begun WebAuthn ceremony can be finished.
const CeremonyTTL = 5 * time.Minute

// PasskeySettings name the relying party: its id (the domain passkeys are bound to), the name
// authenticators show, and the origins ceremonies may come from (web origins and Android
// `android:apk-key-hash:` origins).
type PasskeySettings struct {
	RPID    string
	RPName  string
	Origins []string
}

// Passkeys registers WebAuthn credentials and signs users in with them. Ceremony state lives in
// Redis under a random id handed to the client, for CeremonyTTL, and is spent by the first finish.
type Passkeys struct {
	accounts *Accounts
	wa       *webauthn.WebAuthn
	rdb      redis.UniversalClient
	prefix   string
}

// NewPasskeys configures the relying party. Opaque origins (Android apps) are kept apart from web
// origins, as the library's stricter validation of each kind requires.
func NewPasskeys(accounts *Accounts, rdb redis.UniversalClient, redisPrefix string, set PasskeySettings) (*Passkeys, error) {
	var web, opaque []string
	for _, o := range set.Origins {
		if protocol.IsOpaqueOrigin(o) {
			opaque = append(opaque, o)
		} else {
			web = append(web, o)
		}
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: set.RPID, RPDisplayName: set.RPName, RPOrigins: web, RPOpaqueOrigins: opaque,
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts:              webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: passkeys: %w", err)
	}
	return &Passkeys{accounts: accounts, wa: wa, rdb: rdb, prefix: redisPrefix}, nil
}

// Passkey is a registered credential as its owner sees it.
type Passkey struct {
	ID             uuid.UUID
	Name           string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	BackupEligible bool
	BackedUp       bool
	Transports     []string
}

func passkeyFromRow(r db.Passkey) Passkey {
	return Passkey{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt,
		BackupEligible: r.BackupEligible, BackedUp: r.BackupState, Transports: r.Transports}
}

// credentialFromRow rebuilds the library's credential record from its columns.
func credentialFromRow(r db.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(r.Transports))
	for i, t := range r.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: r.CredentialID, PublicKey: r.PublicKey, AttestationType: r.AttestationType, AttestationFormat: r.AttestationFormat,
		Transport: transports,
		Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: r.UserVerified,
			BackupEligible: r.BackupEligible, BackupState: r.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: r.Aaguid, SignCount: uint32(r.SignCount),
			Attachment: protocol.AuthenticatorAttachment(r.Attachment)},
	}
}

// passkeyUser is a user as the WebAuthn library sees it. The user handle is the account id's 16
// bytes: stable, and nothing personal is stored on the authenticator beyond the display name.
type passkeyUser struct {
	id    uuid.UUID
	name  string
	creds []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.id[:] }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadUser reads the account and its passkeys for a ceremony.
func (p *Passkeys) loadUser(ctx context.Context, q *db.Queries, userID uuid.UUID) (*passkeyUser, db.User, error) {
	row, err := q.GetUser(ctx, userID)
	if err != nil {
		return nil, db.User{}, err
	}
	rows, err := q.ListUserPasskeys(ctx, userID)
	if err != nil {
		return nil, db.User{}, err
	}
	u := &passkeyUser{id: row.ID, name: row.Email, creds: make([]webauthn.Credential, len(rows))}
	for i, r := range rows {
		u.creds[i] = credentialFromRow(r)
	}
	return u, row, nil
}

// ceremony is what the server keeps between begin and finish.
type ceremony struct {
	Session webauthn.SessionData `json:"session"`
	UserID  uuid.UUID            `json:"user_id,omitzero"` // registration: who began it
}

// Redis keys carry their owner in a hash tag: the registering user, or for a usernameless
// sign-in (no user yet) the ceremony itself.
func (p *Passkeys) registrationKey(userID uuid.UUID, id string) string {
	return p.prefix + "{u:" + userID.String() + "}:passkey-reg:" + id
}
func (p *Passkeys) loginKey(id string) string { return p.prefix + "{pkc:" + id + "}:passkey-login" }

func (p *Passkeys) saveCeremony(ctx context.Context, key string, c ceremony) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := p.rdb.Set(ctx, key, raw, CeremonyTTL).Err(); err != nil {
		return redisUnavailable(err)
	}
	return nil
}

var errNoCeremony = errors.New("no such ceremony")

// takeCeremony returns and deletes the ceremony in one step, so that it finishes at most once.
func (p *Passkeys) takeCeremony(ctx context.Context, key string) (ceremony, error) {
	raw, err := p.rdb.GetDel(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return ceremony{}, errNoCeremony
	case err != nil:
		return ceremony{}, redisUnavailable(err)
	}
	var c ceremony
	if err := json.Unmarshal(raw, &c); err != nil {
		return ceremony{}, fmt.Errorf("auth: stored ceremony: %w", err)
	}
	return c, nil
}

func redisUnavailable(err error) error {
	return apperr.Wrap(err, apperr.Unavailable, "ceremony_store_unavailable", "passkey ceremonies are temporarily unavailable; retry later")
}

// verificationDetail is what an audit entry may say about a refused WebAuthn response: the
// library's error type and its public detail (never key material).
func verificationDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Type + ": " + pe.Details
	}
	return "invalid"
}
