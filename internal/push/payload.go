package push

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/events"
)

// previewRunes bounds the reply text a preview shows (APNs payloads are at most 4 KiB).
const previewRunes = 180

// generationData is what push reads of a generation.completed / generation.failed event.
type generationData struct {
	GenerationID string `json:"generation_id"`
	SessionID    string `json:"session_id"`
}

// alert is the aps dictionary's alert, plus the ids the app opens the right screen with.
type payload struct {
	APS struct {
		Alert struct {
			Title string `json:"title"`
			Body  string `json:"body,omitempty"`
		} `json:"alert"`
		Sound    string `json:"sound"`
		ThreadID string `json:"thread-id,omitempty"`
	} `json:"aps"`
	Type         events.Type `json:"type"`
	SessionID    string      `json:"session_id,omitempty"`
	GenerationID string      `json:"generation_id,omitempty"`
}

// buildPayload says what happened and in which session. The reply's text is shown only when
// the user opted into previews: a lock screen is not private.
func buildPayload(typ events.Type, d generationData, c db.PushContextRow) []byte {
	var p payload
	title := "Your chat"
	if c.Title != nil && strings.TrimSpace(*c.Title) != "" {
		title = *c.Title
	}
	switch {
	case typ == events.GenerationFailed:
		p.APS.Alert.Title, p.APS.Alert.Body = "Reply failed", title
	case c.Previews && strings.TrimSpace(c.LastReply) != "":
		p.APS.Alert.Title, p.APS.Alert.Body = title, preview(c.LastReply)
	default:
		p.APS.Alert.Title, p.APS.Alert.Body = "Reply ready", title
	}
	p.APS.Sound = "default"
	p.APS.ThreadID = d.SessionID // the device groups one session's notifications
	p.Type, p.SessionID, p.GenerationID = typ, d.SessionID, d.GenerationID
	b, _ := json.Marshal(p) // strings and structs only: cannot fail
	return b
}

// preview is the start of text, cut at a rune boundary.
func preview(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= previewRunes {
		return text
	}
	r := []rune(text)
	return string(r[:previewRunes-1]) + "…"
}
