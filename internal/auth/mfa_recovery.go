package auth

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// recoveryCodeCount codes of recoveryCodeBytes random bytes (80 bits: 16 base32 characters).
const (
	recoveryCodeCount = 10
	recoveryCodeBytes = 10
)

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCode returns a code as shown: four groups of four lower-case base32 characters.
func newRecoveryCode() string {
	b := make([]byte, recoveryCodeBytes)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	s := strings.ToLower(recoveryEncoding.EncodeToString(b))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// normalizeRecoveryCode ignores case, hyphens and spaces, as the spec promises.
func normalizeRecoveryCode(code string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(code))
}

// replaceRecoveryCodes deletes userID's codes and stores a new set (hashed); it returns the codes.
func replaceRecoveryCodes(ctx context.Context, q *db.Queries, userID uuid.UUID, now time.Time) ([]string, error) {
	if err := q.DeleteRecoveryCodes(ctx, userID); err != nil {
		return nil, err
	}
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		if err := q.InsertRecoveryCode(ctx, db.InsertRecoveryCodeParams{UserID: userID, CodeHash: hashSecret(normalizeRecoveryCode(codes[i])), Now: now}); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// RegenerateRecoveryCodes replaces the recovery codes of p's account (TOTP must be active).
func (a *Accounts) RegenerateRecoveryCodes(ctx context.Context, p Principal) ([]string, error) {
	now := a.now()
	var codes []string
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		active, err := q.HasActiveTOTP(ctx, p.UserID)
		if err != nil {
			return err
		}
		if !active {
			return errMFANotEnabled
		}
		if codes, err = replaceRecoveryCodes(ctx, q, p.UserID, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.RecoveryRegenerate, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"recovery_codes": len(codes)}})
	})
	return codes, err
}

// useRecoveryCode spends one of userID's unused codes; a wrong or spent one is errBadCode. The
// UPDATE is the atomic step: of two concurrent uses of one code exactly one changes the row.
func (a *Accounts) useRecoveryCode(ctx context.Context, userID uuid.UUID, code string, now time.Time) error {
	n, err := a.store.Queries().UseRecoveryCode(ctx, db.UseRecoveryCodeParams{Now: now, UserID: userID, CodeHash: hashSecret(normalizeRecoveryCode(code))})
	if err != nil {
		return err
	}
	if n == 0 {
		return errBadCode
	}
	return nil
}
