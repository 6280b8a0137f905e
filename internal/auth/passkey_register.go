package auth

import (
	"context"
	"encoding/json"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// Ceremony is a begun WebAuthn ceremony: the id to finish it with and the options for the
// browser or app (`{publicKey: …}`, WebAuthn's JSON form).
type Ceremony struct {
	ID      string
	Options json.RawMessage
}

// defaultPasskeyName names a passkey registered without one.
const defaultPasskeyName = "Passkey"

// BeginRegistration starts registering a passkey for the signed-in caller. The credential must
// be discoverable (usernameless sign-in, as iOS expects) and user-verified; the caller's
// existing passkeys are excluded so one authenticator is not registered twice.
func (p *Passkeys) BeginRegistration(ctx context.Context, pr Principal) (Ceremony, error) {
	user, _, err := p.loadUser(ctx, p.accounts.store.Queries(), pr.UserID)
	if err != nil {
		return Ceremony{}, err
	}
	creation, session, err := p.wa.BeginRegistration(user,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return Ceremony{}, err
	}
	return p.open(ctx, func(id string) string { return p.registrationKey(pr.UserID, id) }, ceremony{Session: *session, UserID: pr.UserID}, creation)
}

// open stores the ceremony under a fresh id and returns it with the client's options.
func (p *Passkeys) open(ctx context.Context, key func(id string) string, c ceremony, options any) (Ceremony, error) {
	raw, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	id := newSecret("pkc_")
	if err := p.saveCeremony(ctx, key(id), c); err != nil {
		return Ceremony{}, err
	}
	return Ceremony{ID: id, Options: raw}, nil
}

var errUnknownCeremony = apperr.New(apperr.Invalid, "validation_failed", "no open ceremony has this id (expired, already finished or never begun)").
	WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/ceremony_id", Detail: "no open ceremony has this id"})

// FinishRegistration verifies the authenticator's attestation response against the ceremony
// the same caller began and stores the passkey.
func (p *Passkeys) FinishRegistration(ctx context.Context, pr Principal, ceremonyID string, credential []byte, name string) (Passkey, error) {
	if name == "" {
		name = defaultPasskeyName
	}
	fail := func(reason string, err error) (Passkey, error) {
		p.auditFailure(ctx, audit.Event{Action: audit.PasskeyRegister, Outcome: audit.Failure, ActorID: pr.UserID, SubjectID: pr.UserID,
			Details: map[string]any{"reason": reason}})
		return Passkey{}, err
	}
	c, err := p.takeCeremony(ctx, p.registrationKey(pr.UserID, ceremonyID))
	if err == errNoCeremony {
		return fail("unknown_ceremony", errUnknownCeremony)
	} else if err != nil {
		return Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return fail(verificationDetail(err), rejectedCredential(err))
	}
	q := p.accounts.store.Queries()
	user, _, err := p.loadUser(ctx, q, pr.UserID)
	if err != nil {
		return Passkey{}, err
	}
	cred, err := p.wa.CreateCredential(user, c.Session, parsed)
	if err != nil {
		return fail(verificationDetail(err), rejectedCredential(err))
	}
	now := p.accounts.now()
	var row db.Passkey
	err = p.accounts.store.InTx(ctx, func(q *db.Queries) error {
		transports := make([]string, len(cred.Transport))
		for i, t := range cred.Transport {
			transports[i] = string(t)
		}
		row, err = q.CreatePasskey(ctx, db.CreatePasskeyParams{
			UserID: pr.UserID, CredentialID: cred.ID, PublicKey: cred.PublicKey, AttestationType: cred.AttestationType,
			AttestationFormat: cred.AttestationFormat, Aaguid: cred.Authenticator.AAGUID, Transports: transports,
			Attachment: string(cred.Authenticator.Attachment), SignCount: int64(cred.Authenticator.SignCount),
			UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
			Name: name, Now: now,
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.PasskeyRegister, Outcome: audit.Success, ActorID: pr.UserID, SubjectID: pr.UserID,
			Details: map[string]any{"passkey_id": row.ID.String(), "name": name, "backup_eligible": cred.Flags.BackupEligible}})
	})
	if err != nil {
		return Passkey{}, err
	}
	return passkeyFromRow(row), nil
}

// rejectedCredential is the answer to a registration response that does not verify.
func rejectedCredential(err error) error {
	return apperr.Wrap(err, apperr.Invalid, "passkey_rejected", "the authenticator's response could not be verified").
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/credential", Detail: "does not verify against the ceremony"})
}

// auditFailure records a refused attempt in its own transaction: the request fails, the record
// must stay. A failure to record is logged, not returned (the caller's answer is the refusal).
func (p *Passkeys) auditFailure(ctx context.Context, ev audit.Event) {
	err := p.accounts.store.InTx(ctx, func(q *db.Queries) error { return audit.Record(ctx, q, p.accounts.now(), ev) })
	if err != nil {
		p.accounts.log.Error("auditing a refused passkey ceremony", "error", err.Error(), "action", string(ev.Action))
	}
}
