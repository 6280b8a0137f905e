package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/freeform"
	"github.com/ccbackend/ccbackend/internal/page"
)

// Message is one turn of a session. Content is the JSON the client sent (a string or a list of
// content parts), kept as is.
type Message struct {
	ID           uuid.UUID
	SessionID    uuid.UUID
	Seq          int64
	Role         string
	Content      json.RawMessage
	Metadata     map[string]any
	InputTokens  int64
	OutputTokens int64
	Cost         float64
	CreatedAt    time.Time
	// SessionTitle is the session's title as the message was added (set by CreateMessage only).
	SessionTitle *string
}

func messageFromRow(r db.Message) Message {
	return Message{ID: r.ID, SessionID: r.SessionID, Seq: r.Seq, Role: r.Role, Content: json.RawMessage(r.Content),
		Metadata: object(r.Metadata), InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, Cost: r.Cost, CreatedAt: r.CreatedAt}
}

// NewMessage is a message to append; usage fields are filled by the chat endpoint.
type NewMessage struct {
	Role         string
	Content      json.RawMessage
	Metadata     map[string]any
	InputTokens  int64
	OutputTokens int64
	Cost         float64
}

func invalidContent(detail string) error {
	return apperr.New(apperr.Invalid, "validation_failed", detail).
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/content", Detail: detail})
}

// contentText extracts the searchable text of a message's content.
func contentText(content json.RawMessage) (string, error) {
	var text string
	if err := json.Unmarshal(content, &text); err == nil {
		return text, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(content, &parts); err != nil {
		return "", invalidContent("content must be a string or a list of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" && p.Text != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// CreateMessage adds a message to one of the user's sessions and to the session's totals, in
// one transaction; the session row lock orders concurrent appends. The clock is read before that
// lock, so InsertMessage keeps created_at from going before the previous message's.
func (s *Service) CreateMessage(ctx context.Context, userID, sessionID uuid.UUID, m NewMessage) (out Message, err error) {
	defer s.raise(ctx, &err, userID, events.MessageCreated, func() any {
		return map[string]any{"message_id": out.ID, "session_id": out.SessionID, "role": out.Role}
	})
	if len(m.Content) > s.maxMessageBytes {
		return Message{}, invalidContent("content is larger than the server accepts")
	}
	text, err := contentText(m.Content)
	if err != nil {
		return Message{}, err
	}
	// PostgreSQL text and jsonb cannot hold NUL; refuse it rather than alter the content.
	if strings.ContainsRune(text, 0) || strings.Contains(string(m.Content), `\u0000`) {
		return Message{}, invalidContent("content must not contain NUL characters")
	}
	metadata, err := freeform.Encode(m.Metadata, freeform.Metadata, "/metadata")
	if err != nil {
		return Message{}, err
	}
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		now := s.now()
		activity, err := q.RecordSessionActivity(ctx, db.RecordSessionActivityParams{InputTokens: m.InputTokens, OutputTokens: m.OutputTokens,
			Cost: m.Cost, Now: &now, ID: sessionID, UserID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("session")
		} else if err != nil {
			return err
		}
		row, err := q.InsertMessage(ctx, db.InsertMessageParams{SessionID: sessionID, UserID: userID, Seq: activity.MessageCount, Role: m.Role,
			Content: m.Content, ContentText: text, Metadata: metadata, InputTokens: m.InputTokens, OutputTokens: m.OutputTokens,
			Cost: m.Cost, Now: now})
		out = messageFromRow(row)
		out.SessionTitle = activity.Title
		return err
	})
	return out, err
}

// MessageQuery selects and orders a page of a session's messages.
type MessageQuery struct {
	Descending    bool
	Role          *string
	Before, After *uuid.UUID // message ids bounding the page
}

type messagePosition struct {
	Seq int64 `json:"s"`
}

// ListMessages pages through one of the user's sessions.
func (s *Service) ListMessages(ctx context.Context, userID, sessionID uuid.UUID, mq MessageQuery, req page.Request) (page.Page[Message], error) {
	q := s.store.Queries()
	if _, err := s.GetSession(ctx, userID, sessionID); err != nil {
		return page.Page[Message]{}, err
	}
	after, before := int64(0), int64(math.MaxInt64)
	bound := func(id *uuid.UUID, name string, into *int64) error {
		if id == nil {
			return nil
		}
		seq, err := q.MessageSeq(ctx, db.MessageSeqParams{ID: *id, SessionID: sessionID, UserID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.New(apperr.Invalid, "validation_failed", name+" is not a message of this session").
				WithFields(apperr.FieldError{Location: apperr.InQuery, Pointer: name, Detail: "not a message of this session"})
		}
		*into = seq
		return err
	}
	if err := bound(mq.After, "after", &after); err != nil {
		return page.Page[Message]{}, err
	}
	if err := bound(mq.Before, "before", &before); err != nil {
		return page.Page[Message]{}, err
	}
	// before/after are not part of the filter: they bound the page and combine with the cursor's
	// position (a client scrolls on from a page it fetched with either), as they always did.
	filter := struct {
		Session    uuid.UUID
		Descending bool
		Role       *string
	}{sessionID, mq.Descending, mq.Role}
	return page.Fetch(ctx, s.cursors, page.List[db.Message, messagePosition]{
		Name: "messages", Owner: userID, Filter: filter,
		Fetch: func(ctx context.Context, pos *messagePosition, limit int32) ([]db.Message, error) {
			after, before := after, before
			switch {
			case pos != nil && mq.Descending:
				before = min(before, pos.Seq)
			case pos != nil:
				after = max(after, pos.Seq)
			}
			if mq.Descending {
				return q.ListMessagesDesc(ctx, db.ListMessagesDescParams{SessionID: sessionID, Role: mq.Role, AfterSeq: after, BeforeSeq: before, MaxRows: limit})
			}
			return q.ListMessagesAsc(ctx, db.ListMessagesAscParams{SessionID: sessionID, Role: mq.Role, AfterSeq: after, BeforeSeq: before, MaxRows: limit})
		},
		Position: func(r db.Message) messagePosition { return messagePosition{r.Seq} },
		Size:     func(r db.Message) int { return page.ItemOverhead + len(r.Content) + len(r.Metadata) },
	}, req, messageFromRow)
}

// History returns every message of one of the user's sessions, oldest first.
func (s *Service) History(ctx context.Context, userID, sessionID uuid.UUID) ([]Message, error) {
	if _, err := s.GetSession(ctx, userID, sessionID); err != nil {
		return nil, err
	}
	rows, err := s.store.Queries().SessionMessages(ctx, db.SessionMessagesParams{SessionID: sessionID, UserID: userID})
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = messageFromRow(r)
	}
	return out, nil
}
