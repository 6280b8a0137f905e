package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// Session is a signed-in test user.
type Session struct {
	UserID       string
	Email        string
	Password     string
	AccessToken  string
	RefreshToken string
}

// Bearer returns the Authorization header of the session.
func (s Session) Bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + s.AccessToken}
}

// tokensBody is the part of AuthTokens the tests read.
type tokensBody struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// DecodeSession reads an AuthTokens body.
func DecodeSession(t testing.TB, body []byte, email, password string) Session {
	t.Helper()
	var tb tokensBody
	if err := json.Unmarshal(body, &tb); err != nil || tb.AccessToken == "" {
		t.Fatalf("not a token pair: %s", body)
	}
	return Session{UserID: tb.User.ID, Email: email, Password: password, AccessToken: tb.AccessToken, RefreshToken: tb.RefreshToken}
}

// Register creates a user through the API and returns the session.
func (s *Server) Register(t testing.TB, email string) Session {
	t.Helper()
	const password = "correct horse battery staple"
	resp, body := s.Do(t, http.MethodPost, "/v1/auth/register", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s = %d: %s", email, resp.StatusCode, body)
	}
	return DecodeSession(t, body, email, password)
}

// Login signs an existing user in.
func (s *Server) Login(t testing.TB, email, password string) Session {
	t.Helper()
	resp, body := s.Do(t, http.MethodPost, "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s = %d: %s", email, resp.StatusCode, body)
	}
	return DecodeSession(t, body, email, password)
}

// Admin creates an administrator (as `users create-admin` does) and signs them in.
func (s *Server) Admin(t testing.TB, email string) Session {
	t.Helper()
	const password = "admin password for tests"
	if _, err := s.App.Accounts.CreateAdmin(context.Background(), email, password); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	return s.Login(t, email, password)
}
