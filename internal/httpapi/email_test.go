package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

const strongPassword = "vX9!qT2#mL7@wR4z"

func TestRegisterNormalisesEmail(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, body := register(t, s, "Alice@Example.COM", strongPassword)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %s", resp.StatusCode, body)
	}
	var tokens struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	if err := json.Unmarshal(body, &tokens); err != nil || tokens.User.Email != "Alice@example.com" {
		t.Errorf("stored email %q, want Alice@example.com (domain lower-cased, local part kept)", tokens.User.Email)
	}
	// NFD and NFC spell the same address: one account.
	nfc, nfd := "jos\u00e9@example.com", "jose\u0301@example.com"
	if resp, body := register(t, s, nfd, strongPassword); resp.StatusCode != http.StatusCreated {
		t.Fatalf("register NFD = %d %s", resp.StatusCode, body)
	} else if json.Unmarshal(body, &tokens); tokens.User.Email != nfc {
		t.Errorf("NFD email stored as %+q, want NFC %+q", tokens.User.Email, nfc)
	}
	resp, body = register(t, s, nfc, strongPassword)
	if p := decodeProblem(t, resp, body, http.StatusConflict); p.Code != "account_exists" {
		t.Errorf("NFC after NFD: code %q", p.Code)
	}
}

func TestRegisterRefusesConfusableEmail(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	s.Register(t, "alice@example.com")
	resp, dup := register(t, s, "alice@example.com", strongPassword)
	plain := decodeProblem(t, resp, dup, http.StatusConflict)
	// Cyrillic а (U+0430) for Latin a: looks the same, so it is refused exactly like a duplicate.
	for _, email := range []string{"\u0430lice@example.com", "ALICE@EXAMPLE.COM", "alice@ex\u0430mple.com"} {
		resp, body := register(t, s, email, strongPassword)
		if p := decodeProblem(t, resp, body, http.StatusConflict); p.Code != plain.Code || detail(p) != detail(plain) {
			t.Errorf("%+q: %s %q, want the duplicate's %s %q", email, p.Code, detail(p), plain.Code, detail(plain))
		}
	}
	// The CLI path is guarded the same way.
	if _, err := s.App.Accounts.CreateAdmin(context.Background(), "\u0430lice@example.com", "admin password for tests"); err == nil {
		t.Error("create-admin accepted a confusable email")
	}
}

// Two confusable registrations at the same moment: the unique skeleton index lets one through.
func TestConcurrentConfusableRegistrations(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	for round := range 5 {
		emails := []string{fmt.Sprintf("bob%d@example.com", round), fmt.Sprintf("b\u043eb%d@example.com", round)} // Cyrillic о
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i, e := range emails {
			wg.Go(func() {
				resp, _ := register(t, s, e, strongPassword)
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		if min(codes[0], codes[1]) != http.StatusCreated || max(codes[0], codes[1]) != http.StatusConflict {
			t.Errorf("round %d: statuses %v, want one 201 and one 409", round, codes)
		}
	}
}

func TestRegisterRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	for name, email := range map[string]string{
		"ZWSP":      "ali\u200bce@example.com",
		"ZWJ":       "ali\u200dce@example.com",
		"LRM":       "alice\u200e@example.com",
		"RLO":       "alice\u202e@example.com",
		"RLI":       "\u2067alice@example.com",
		"BOM":       "\ufeffalice@example.com",
		"soft hyph": "ali\u00adce@example.com",
		"in domain": "alice@exa\u200bmple.com",
	} {
		resp, body := register(t, s, email, strongPassword)
		p := decodeProblem(t, resp, body, http.StatusBadRequest)
		if p.Errors == nil || len(*p.Errors) != 1 || firstPointer(p) != "/email" {
			t.Errorf("%s: errors %+v, want one at /email", name, fieldErrors(p))
		}
	}
}

func TestRegisterRefusesDeepCommonPassword(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, body := register(t, s, "deep@example.com", "trooper1") // rank 9000 of the source list
	if p := decodeProblem(t, resp, body, http.StatusBadRequest); p.Code != "weak_password" || p.Errors == nil || len(*p.Errors) != 1 || firstPointer(p) != "/password" {
		t.Errorf("problem %+v, want weak_password at /password", p)
	}
	if resp, body := register(t, s, "deep@example.com", strongPassword); resp.StatusCode != http.StatusCreated {
		t.Errorf("a strong random password = %d %s", resp.StatusCode, body)
	}
}

// Accounts from before migration 000007 get their skeleton at start; of two existing look-alikes
// only the first does (both keep working), and new look-alikes are refused from then on.
func TestBackfillEmailSkeletons(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	ctx := context.Background()
	s.Register(t, "carol@example.com")
	s.Register(t, "dave@example.com")
	pool := s.App.Store.Pool
	if _, err := pool.Exec(ctx, `UPDATE users SET email_skeleton = NULL`); err != nil {
		t.Fatal(err)
	}
	// A look-alike that got in before skeletons existed.
	if _, err := pool.Exec(ctx, `INSERT INTO users (email, password_hash) VALUES ($1, 'x')`, "c\u0430rol@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.App.Accounts.BackfillEmailSkeletons(ctx); err != nil {
		t.Fatal(err)
	}
	var missing int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE email_skeleton IS NULL`).Scan(&missing); err != nil || missing != 1 {
		t.Errorf("%d rows without a skeleton after backfill (%v), want 1 (the second look-alike)", missing, err)
	}
	resp, body := register(t, s, "d\u0430ve@example.com", strongPassword)
	if p := decodeProblem(t, resp, body, http.StatusConflict); p.Code != "account_exists" {
		t.Errorf("look-alike of a backfilled account: %s", p.Code)
	}
}
