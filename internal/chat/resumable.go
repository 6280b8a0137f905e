package chat

import (
	"strings"

	"github.com/google/uuid"
)

// GenerationID is the generation's id without the chat.completion prefix: the id a stream
// announces and is resumed by (internal/resume).
func (g *Generation) GenerationID() uuid.UUID {
	id, err := uuid.Parse(strings.TrimPrefix(g.ID, "chatcmpl-"))
	if err != nil { // every id is made from a UUID (CreateChatCompletion); never here
		return uuid.Nil
	}
	return id
}
