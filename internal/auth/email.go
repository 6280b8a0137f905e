package auth

import (
	"context"
	"log/slog"
	"net/mail"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/store"
)

// invisible are the characters an email address may not contain: controls, format characters
// (zero-width spaces and joiners, bidi embeddings, overrides and isolates, the BOM: all Cf),
// private-use and surrogate code points, and the other default-ignorable ones (fillers,
// variation selectors). Each renders as nothing or reorders what is shown, so two addresses that
// differ only by them would look the same to a person.
var invisible = []*unicode.RangeTable{
	unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs,
	unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector,
}

func invalidEmail(detail string) error {
	return apperr.New(apperr.Invalid, "validation_failed", "the email address is not valid").
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/email", Detail: detail})
}

// canonicalEmail is the form an address is stored in, NFC with a lower-case domain (the local
// part's case is the owner's), and its confusable skeleton, which is unique among accounts.
func canonicalEmail(raw string) (email, skeleton string, err error) {
	email = strings.TrimSpace(raw)
	for _, r := range email {
		if r == unicode.ReplacementChar || unicode.IsOneOf(invisible, r) {
			return "", "", invalidEmail("contains an invisible, control or bidirectional character")
		}
	}
	email = norm.NFC.String(email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return "", "", invalidEmail("not an email address")
	}
	at := strings.LastIndexByte(email, '@')
	email = email[:at] + strings.ToLower(email[at:])
	return email, emailSkeleton(email), nil
}

// emailSkeleton is the Unicode TR39 skeleton of the lower-cased address (sign-in ignores case,
// so uniqueness must too).
func emailSkeleton(email string) string {
	return confusables.Skeleton(strings.ToLower(email))
}

// createUser inserts an account. A taken email, username or skeleton all get the one
// account_exists answer, so a look-alike of an existing address reveals no more than a plain
// duplicate does.
func createUser(ctx context.Context, q *db.Queries, p db.CreateUserParams) (db.User, error) {
	row, err := q.CreateUser(ctx, p)
	if err != nil && apperr.KindOf(store.MapError(err)) == apperr.Conflict {
		return db.User{}, apperr.Wrap(err, apperr.Conflict, "account_exists", "an account with this email or username already exists")
	}
	return row, err
}

// BackfillEmailSkeletons fills in the skeleton of accounts created before it was stored
// (migration 000007). Two existing accounts whose addresses are confusable keep working, but only
// the first gets the skeleton; the other is logged for an operator. Safe to run at every start.
func (a *Accounts) BackfillEmailSkeletons(ctx context.Context) error {
	q := a.store.Queries()
	rows, err := q.ListUsersWithoutSkeleton(ctx)
	if err != nil {
		return store.MapError(err)
	}
	for _, r := range rows {
		err := q.SetEmailSkeleton(ctx, db.SetEmailSkeletonParams{ID: r.ID, EmailSkeleton: emailSkeleton(r.Email)})
		if err == nil {
			continue
		}
		if err = store.MapError(err); apperr.KindOf(err) != apperr.Conflict {
			return err
		}
		a.log.Warn("account email is confusable with another account's; left without a skeleton", slog.String("user_id", r.ID.String()))
	}
	return nil
}
