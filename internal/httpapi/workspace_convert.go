package httpapi

import (
	"strconv"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// sent reads a PATCH field that may be absent, null or a value.
func sent[T any](n nullable.Nullable[T]) (value *T, specified bool) {
	if !n.IsSpecified() {
		return nil, false
	}
	if n.IsNull() {
		return nil, true
	}
	v := n.MustGet()
	return &v, true
}

// etag renders a resource version as the entity tag of its ETag header.
func etag(version int64) *string {
	t := `"` + strconv.FormatInt(version, 10) + `"`
	return &t
}

// parseIfMatch turns an If-Match header into the version it demands: nil when absent or `*`
// (any current version). A value that is not one of our tags can never match: -1.
func parseIfMatch(header *string) *int64 {
	if header == nil || strings.TrimSpace(*header) == "" || strings.TrimSpace(*header) == "*" {
		return nil
	}
	tag := strings.TrimPrefix(strings.TrimSpace(*header), "W/")
	v, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
	if err != nil || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) {
		v = -1
	}
	return &v
}

func projectBody(p workspace.Project) api.Project {
	return api.Project{Id: p.ID, Name: p.Name, Description: p.Description, Path: p.Path, Settings: p.Settings,
		Version: p.Version, CreatedAt: apitime.New(p.CreatedAt), UpdatedAt: apitime.New(p.UpdatedAt)}
}

func sessionBody(s workspace.Session) api.Session {
	return api.Session{Id: s.ID, ProjectId: s.ProjectID, Title: s.Title, Model: s.Model, SystemPrompt: s.SystemPrompt,
		Status: api.SessionStatus(s.Status), MessageCount: s.MessageCount, InputTokens: s.InputTokens, OutputTokens: s.OutputTokens,
		TotalCost: s.TotalCost, Version: s.Version, CreatedAt: apitime.New(s.CreatedAt), UpdatedAt: apitime.New(s.UpdatedAt),
		LastActivityAt: optionalTime(s.LastActivityAt)}
}

func messageBody(m workspace.Message) (api.Message, error) {
	var content api.MessageContent
	if err := content.UnmarshalJSON(m.Content); err != nil {
		return api.Message{}, err
	}
	return api.Message{Id: m.ID, SessionId: m.SessionID, Seq: m.Seq, Role: api.MessageRole(m.Role), Content: content,
		Metadata: m.Metadata, InputTokens: m.InputTokens, OutputTokens: m.OutputTokens, Cost: m.Cost,
		CreatedAt: apitime.New(m.CreatedAt)}, nil
}

func changeBody(c workspace.Change) (api.SyncChange, error) {
	out := api.SyncChange{Seq: c.Seq, Entity: api.SyncChangeEntity(c.Entity), Id: c.ID, Op: api.SyncChangeOpUpsert,
		ChangedAt: apitime.New(c.ChangedAt)}
	if c.Deleted {
		out.Op = api.SyncChangeOpDelete
		return out, nil
	}
	switch {
	case c.Project != nil:
		p := projectBody(*c.Project)
		out.Project = &p
	case c.Session != nil:
		s := sessionBody(*c.Session)
		out.Session = &s
	case c.Message != nil:
		m, err := messageBody(*c.Message)
		if err != nil {
			return out, err
		}
		out.Message = &m
	case c.File != nil:
		f := fileBody(*c.File)
		out.File = &f
	}
	return out, nil
}
