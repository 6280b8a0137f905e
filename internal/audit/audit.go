// Package audit appends security events to the audit_log table, inside the caller's transaction
// so an event is recorded exactly when the change it describes commits.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
)

// Action names an audited event; the values are the contract's AuditAction enum.
type Action string

// The audited actions.
const (
	Register       Action = "auth.register"
	Login          Action = "auth.login"
	Lockout        Action = "auth.lockout"
	Refresh        Action = "auth.refresh"
	RefreshReuse   Action = "auth.refresh_reuse"
	Logout         Action = "auth.logout"
	PasswordChange Action = "auth.password_change"
	ProfileDelete  Action = "auth.profile_delete"
	APIKeyCreate   Action = "auth.api_key_create"
	APIKeyRotate   Action = "auth.api_key_rotate"
	APIKeyRevoke   Action = "auth.api_key_revoke"
	AdminUserEdit  Action = "admin.user_update"
	DebugView      Action = "admin.debug_view"
	KeysRotate     Action = "keys.rotate"

	PasskeyRegister Action = "auth.passkey_register"
	PasskeyLogin    Action = "auth.passkey_login"
	PasskeyRename   Action = "auth.passkey_rename"
	PasskeyDelete   Action = "auth.passkey_delete"
)

// Actions of multi-factor authentication and step-up.
const (
	MFAEnroll          Action = "auth.mfa_enroll"
	MFAEnable          Action = "auth.mfa_enable"
	MFADisable         Action = "auth.mfa_disable"
	MFAChallenge       Action = "auth.mfa_challenge"
	RecoveryRegenerate Action = "auth.recovery_codes_regenerate"
	Reauthenticate     Action = "auth.reauthenticate"
	// RealtimeTicket: a single-use ticket for the event feed was issued (never the ticket itself).
	RealtimeTicket Action = "auth.realtime_ticket"
	// DPoPRejected: a DPoP proof (or a bound token without one) was refused; throttled, see
	// internal/auth's dpopRejections. Details: reason, the key's thumbprint when known.
	DPoPRejected Action = "auth.dpop_rejected"
)

// Outcome says whether the audited attempt succeeded.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
)

// Event is one audit entry. Details must never hold a secret (passwords, tokens, keys).
type Event struct {
	Action    Action
	Outcome   Outcome
	ActorID   uuid.UUID // who acted; zero when anonymous
	SubjectID uuid.UUID // whom it concerns; zero when nobody
	Details   map[string]any
}

// RequestMeta is what the HTTP layer knows about the request behind an event.
type RequestMeta struct {
	IP        string
	UserAgent string
	RequestID string
}

type metaKey struct{}

// WithRequestMeta returns ctx carrying m.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the request metadata in ctx (zero for background jobs and the CLI).
func MetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(metaKey{}).(RequestMeta)
	return m
}

// Record appends e with the request metadata of ctx.
func Record(ctx context.Context, q *db.Queries, now time.Time, e Event) error {
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit: details: %w", err)
	}
	m := MetaFrom(ctx)
	err = q.InsertAuditEntry(ctx, db.InsertAuditEntryParams{
		Action:     string(e.Action),
		Outcome:    string(e.Outcome),
		ActorID:    optionalID(e.ActorID),
		SubjectID:  optionalID(e.SubjectID),
		Ip:         optionalString(m.IP),
		UserAgent:  optionalString(truncate(m.UserAgent, 512)),
		RequestID:  optionalString(m.RequestID),
		Details:    raw,
		OccurredAt: now,
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func optionalID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
