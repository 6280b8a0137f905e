package auth

import (
	_ "embed"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Password length bounds in bytes: bcrypt reads at most 72, and a longer password must be refused
// rather than silently truncated.
const (
	MinPasswordBytes = 8
	MaxPasswordBytes = 72
)

//go:embed common_passwords.txt
var commonPasswordsText string

var (
	commonOnce      sync.Once
	commonPasswords map[string]bool
)

func isCommonPassword(pw string) bool {
	commonOnce.Do(func() {
		commonPasswords = map[string]bool{}
		for _, line := range strings.Split(commonPasswordsText, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				commonPasswords[strings.ToLower(line)] = true
			}
		}
	})
	return commonPasswords[strings.ToLower(pw)]
}

// Passwords hashes and checks passwords with bcrypt at a configured cost.
type Passwords struct {
	cost  int
	dummy []byte // a hash to compare against for unknown users, so timing does not reveal them
}

// NewPasswords returns a hasher at cost.
func NewPasswords(cost int) (*Passwords, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte("dummy-password-for-timing"), cost)
	if err != nil {
		return nil, err
	}
	return &Passwords{cost: cost, dummy: dummy}, nil
}

// CheckPolicy rejects passwords outside 8–72 bytes and the most common ones; field is the JSON
// pointer to blame.
func CheckPolicy(pw, field string) error {
	fail := func(detail string) error {
		return apperr.New(apperr.Invalid, "weak_password", detail).
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: field, Detail: detail})
	}
	switch {
	case len(pw) < MinPasswordBytes:
		return fail("the password must be at least 8 bytes")
	case len(pw) > MaxPasswordBytes:
		return fail("the password must be at most 72 bytes (UTF-8)")
	case isCommonPassword(pw):
		return fail("the password is too common")
	}
	return nil
}

// Hash returns the bcrypt hash of pw, after the policy check.
func (p *Passwords) Hash(pw, field string) (string, error) {
	if err := CheckPolicy(pw, field); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), p.cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// Matches reports whether pw matches hash. Passwords over 72 bytes never match (bcrypt would
// otherwise compare only their first 72 bytes).
func (p *Passwords) Matches(hash, pw string) bool {
	if len(pw) > MaxPasswordBytes {
		_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(pw[:MaxPasswordBytes]))
		return false
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	return err == nil
}

// Waste spends the time of one comparison, for unknown users.
func (p *Passwords) Waste(pw string) {
	if len(pw) > MaxPasswordBytes {
		pw = pw[:MaxPasswordBytes]
	}
	_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(pw))
}
