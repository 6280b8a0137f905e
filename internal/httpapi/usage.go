package httpapi

import (
	"bytes"
	"context"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/page"
)

// UsageHandlers serve the `usage` tag (the caller's own usage) and the `analytics` tag (everyone's,
// admitted by the spec's adminAuth requirement).
type UsageHandlers struct {
	usage *analytics.Service
}

// NewUsageHandlers returns the usage and analytics handlers.
func NewUsageHandlers(usage *analytics.Service) *UsageHandlers { return &UsageHandlers{usage: usage} }

// GetUsage answers the caller's usage in a window.
func (h *UsageHandlers) GetUsage(ctx context.Context, req api.GetUsageRequestObject) (api.GetUsageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	w, err := h.window(req.Params.From, req.Params.To)
	if err != nil {
		return nil, err
	}
	u, err := h.usage.GetUsage(ctx, p.UserID, w, orDefault(req.Params.GroupBy, api.GetUsageParamsGroupByDay), req.Params.ProjectId)
	if err != nil {
		return nil, err
	}
	if wantsCSV(ctx) {
		return api.GetUsage200TextcsvResponse(csvBody(u.CSV())), nil
	}
	return api.GetUsage200JSONResponse(usageReport(u)), nil
}

// ListUsageEvents pages through the caller's events, newest first.
func (h *UsageHandlers) ListUsageEvents(ctx context.Context, req api.ListUsageEventsRequestObject) (api.ListUsageEventsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	events, err := h.usage.ListUsageEvents(ctx, p.UserID, page.Params(req.Params.Limit, req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	if wantsCSV(ctx) {
		csv := csvBody(analytics.EventsCSV(events.Items))
		return api.ListUsageEvents200TextcsvResponse{Body: csv.Body, ContentLength: csv.ContentLength,
			Headers: api.ListUsageEvents200ResponseHeaders{XNextCursor: optionalCursor(events.Next)}}, nil
	}
	body, err := listOf(infallible(usageEventBody))(events, nil)
	return api.ListUsageEvents200JSONResponse{Body: api.UsageEventList(body)}, err
}

func (h *UsageHandlers) window(from, to *apitime.Time) (analytics.Window, error) {
	var f, t *time.Time
	if from != nil {
		f = &from.Time
	}
	if to != nil {
		t = &to.Time
	}
	return analytics.NewWindow(f, t, h.usage.Now())
}

// orDefault is an optional enum parameter's value, or the spec's default.
func orDefault[E ~string](v *E, def E) string {
	if v == nil {
		return string(def)
	}
	return string(*v)
}

func usageTotals(t analytics.Totals) api.UsageTotals {
	return api.UsageTotals{Requests: t.Requests, InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, CacheReadTokens: t.CacheReadTokens,
		CacheWriteTokens: t.CacheWriteTokens, TotalTokens: t.Tokens(), Cost: t.Cost, Errors: t.Errors}
}

func usageReport(u analytics.Usage) api.UsageReport {
	out := api.UsageReport{From: apitime.New(u.From), To: apitime.New(u.To), GroupBy: api.UsageReportGroupBy(u.GroupBy),
		Totals: usageTotals(u.Total), Groups: make([]api.UsageGroup, len(u.Groups))}
	for i, g := range u.Groups {
		key := &g.Key
		if g.Key == "" {
			key = nil // requests made without an API key
		}
		out.Groups[i] = api.UsageGroup{Key: key, Usage: usageTotals(g.Totals)}
	}
	return out
}

func usageEventBody(e analytics.Event) api.UsageEvent {
	return api.UsageEvent{Id: e.ID, CreatedAt: apitime.New(e.CreatedAt), Model: e.Model, Provider: e.Provider, ApiKeyId: e.APIKeyID,
		SessionId: e.SessionID, ProjectId: e.ProjectID, InputTokens: e.InputTokens, OutputTokens: e.OutputTokens,
		CacheReadTokens: e.CacheReadTokens, CacheWriteTokens: e.CacheWriteTokens, Cost: e.Cost, Status: api.UsageEventStatus(e.Status),
		StopReason: e.StopReason, TtftMs: e.TTFTMs, DurationMs: e.DurationMs}
}

// csvResponse is the body of every generated text/csv response type.
type csvResponse = struct {
	Body          io.Reader
	ContentLength int64
}

func csvBody(b []byte) csvResponse {
	return csvResponse{Body: bytes.NewReader(b), ContentLength: int64(len(b))}
}

type csvKey struct{}

// negotiateCSV marks the context of a request whose Accept names text/csv, for the operations
// that declare a CSV answer; strict handlers see only the context, not the request.
func negotiateCSV(f api.StrictHandlerFunc, _ string) api.StrictHandlerFunc {
	return func(c echo.Context, req any) (any, error) {
		if acceptsCSV(c.Request().Header.Values(echo.HeaderAccept)) {
			r := c.Request()
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), csvKey{}, true)))
		}
		return f(c, req)
	}
}

func acceptsCSV(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if mt, params, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" && params["q"] != "0" {
				return true
			}
		}
	}
	return false
}

func wantsCSV(ctx context.Context) bool { v, _ := ctx.Value(csvKey{}).(bool); return v }
