package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/events"
)

// schemeTicket is the realtimeTicket security scheme of the feed operations.
const schemeTicket = "realtimeTicket"

var errBadTicket = apperr.New(apperr.Unauthenticated, "invalid_ticket", "the realtime ticket is invalid, expired or already used")

// ticketAuthenticator adds the realtimeTicket scheme to an Authenticator: the ticket is
// consumed, and the credentials it stands for must still hold.
type ticketAuthenticator struct {
	Authenticator
	tickets *events.Tickets
	valid   Revalidator
}

func (a ticketAuthenticator) Authenticate(ctx context.Context, creds auth.Credentials, scheme string, scopes []string, hooks auth.Hooks) (auth.Principal, error) {
	if scheme != schemeTicket {
		return a.Authenticator.Authenticate(ctx, creds, scheme, scopes, hooks)
	}
	if creds.Ticket == "" {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
	}
	p, err := a.tickets.Redeem(ctx, creds.Ticket)
	if err != nil {
		return auth.Principal{}, errBadTicket
	}
	if hooks.Identified != nil {
		hooks.Identified(p)
	}
	if err := a.valid.StillValid(ctx, p); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}
