package auth

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Password length bounds in bytes: bcrypt reads at most 72, and a longer password must be refused
// rather than silently truncated.
const (
	MinPasswordBytes = 8
	MaxPasswordBytes = 72
)

// The list of common passwords refused at registration and password change: the 8–72-byte
// entries of @zxcvbn-ts/language-common's ranked `passwords` list (MIT, see
// common_passwords.NOTICE) plus scripts/common-passwords-extra.txt, lower-cased, one a line,
// gzip-compressed. Rebuilt by scripts/gen-common-passwords.sh; never edited by hand.
//
//go:embed common_passwords.txt.gz
var commonPasswordsGzip []byte

// loadCommonPasswords decompresses the embedded list into a set. The keys are substrings of one
// decompressed text, so building the set allocates no string per entry.
func loadCommonPasswords() (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGzip))
	if err != nil {
		return nil, fmt.Errorf("common passwords: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("common passwords: %w", err)
	}
	text := string(raw)
	set := make(map[string]struct{}, strings.Count(text, "\n"))
	for line := range strings.Lines(text) {
		if line = strings.TrimSuffix(line, "\n"); line != "" {
			set[line] = struct{}{}
		}
	}
	return set, nil
}

// Passwords hashes and checks passwords with bcrypt at a configured cost.
type Passwords struct {
	cost   int
	dummy  []byte              // a hash to compare against for unknown users, so timing does not reveal them
	common map[string]struct{} // lower-cased; loaded once, here, so no request pays for it
}

// NewPasswords returns a hasher at cost, with the common-password list loaded.
func NewPasswords(cost int) (*Passwords, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte("dummy-password-for-timing"), cost)
	if err != nil {
		return nil, err
	}
	common, err := loadCommonPasswords()
	if err != nil {
		return nil, err
	}
	return &Passwords{cost: cost, dummy: dummy, common: common}, nil
}

// CheckPolicy rejects passwords outside 8–72 bytes and the most common ones; field is the JSON
// pointer to blame.
func (p *Passwords) CheckPolicy(pw, field string) error {
	fail := func(detail string) error {
		return apperr.New(apperr.Invalid, "weak_password", detail).
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: field, Detail: detail})
	}
	switch {
	case len(pw) < MinPasswordBytes:
		return fail("the password must be at least 8 bytes")
	case len(pw) > MaxPasswordBytes:
		return fail("the password must be at most 72 bytes (UTF-8)")
	case p.isCommon(pw):
		return fail("the password is too common")
	}
	return nil
}

func (p *Passwords) isCommon(pw string) bool {
	_, ok := p.common[strings.ToLower(pw)]
	return ok
}

// Hash returns the bcrypt hash of pw, after the policy check.
func (p *Passwords) Hash(pw, field string) (string, error) {
	if err := p.CheckPolicy(pw, field); err != nil {
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
