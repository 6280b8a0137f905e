package analytics

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Service answers usage questions: the caller's own (GetUsage, ListUsageEvents) and the
// administrators' over everyone (GetAnalyticsUsage, GetAnalyticsTimeseries, GetAnalyticsTop).
type Service struct {
	store   *store.Store
	cursors *page.Cursors
	now     func() time.Time
}

// New returns the usage service.
func New(st *store.Store, cursors *page.Cursors, now func() time.Time) *Service {
	return &Service{store: st, cursors: cursors, now: now}
}

// Now is the service's clock (the default end of a window).
func (s *Service) Now() time.Time { return s.now() }

// Totals are the summed usage of a group (or of the whole window).
type Totals struct {
	Requests, InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens, Errors int64
	Cost                                                                           float64 // US dollars
	ActiveUsers                                                                    int64   // only where asked for
}

// Tokens is every token processed: input, output, cache reads and cache writes.
func (t Totals) Tokens() int64 {
	return t.InputTokens + t.OutputTokens + t.CacheReadTokens + t.CacheWriteTokens
}

// Group is one group's key and totals. Keys: a day/week/month as YYYY-MM-DD (its first day),
// a model or provider name, a user or API key id ("" for requests made without an API key).
type Group struct {
	Key string
	Totals
}

// Usage is a window's totals and its non-empty groups, in key order.
type Usage struct {
	Window
	GroupBy string
	Total   Totals
	Groups  []Group
}

// Filter narrows a usage question; nil fields do not filter.
type Filter struct {
	UserID    *uuid.UUID
	ProjectID *uuid.UUID
	Model     *string
}

// GetUsage is the caller's own usage in w, grouped by day, model or api_key, optionally for one
// project.
func (s *Service) GetUsage(ctx context.Context, userID uuid.UUID, w Window, groupBy string, projectID *uuid.UUID) (Usage, error) {
	return s.usage(ctx, w, groupBy, Filter{UserID: &userID, ProjectID: projectID}, false)
}

// GetAnalyticsUsage is everyone's usage in w (administrators), grouped and optionally filtered.
func (s *Service) GetAnalyticsUsage(ctx context.Context, w Window, groupBy string, f Filter) (Usage, error) {
	return s.usage(ctx, w, groupBy, Filter{UserID: f.UserID, Model: f.Model}, false)
}

func (s *Service) usage(ctx context.Context, w Window, groupBy string, f Filter, countUsers bool) (Usage, error) {
	out := Usage{Window: w, GroupBy: groupBy, Groups: []Group{}}
	// Everyone's usage, no caller's own write: lag-tolerant (the replica when usable).
	err := s.store.ReadSnapshot(ctx, uuid.Nil, func(q *db.Queries) error {
		rows, err := groups(ctx, q, w, groupBy, f, countUsers)
		for _, r := range rows {
			t := totalsOf(r)
			if r.Total {
				out.Total = t
			} else {
				out.Groups = append(out.Groups, Group{Key: r.Key, Totals: t})
			}
		}
		return err
	})
	return out, err
}

// groups runs the one grouping query in the caller's snapshot, where the rollup watermark and
// the rollups agree. A question about time, models or providers alone (no user or project
// filter, no distinct users) reads the coarse rollup by (day, model, provider) instead of the
// fine one, which has nearly one row per event at scale.
func groups(ctx context.Context, q *db.Queries, w Window, groupBy string, f Filter, countUsers bool) ([]db.UsageGroupsRow, error) {
	until, err := rolledUntil(ctx, q)
	if err != nil {
		return nil, err
	}
	rollFrom, rollTo := w.split(until)
	coarse := f.UserID == nil && f.ProjectID == nil && !countUsers && coarseGroup(groupBy)
	return q.UsageGroups(ctx, db.UsageGroupsParams{CountUsers: countUsers, Coarse: coarse, RollupFrom: rollFrom, RollupTo: rollTo,
		UserID: f.UserID, ProjectID: f.ProjectID, Model: f.Model, RawFrom: w.From, RollupFromAt: rollFrom,
		RollupToAt: rollTo, RawTo: w.To, GroupBy: groupBy})
}

// coarseGroup says whether usage_daily_model can answer a grouping.
func coarseGroup(groupBy string) bool {
	switch groupBy {
	case "day", "week", "month", "model", "provider":
		return true
	}
	return false
}

// rolledUntil is the rollup watermark in the caller's snapshot (zero before the first rollup).
func rolledUntil(ctx context.Context, q *db.Queries) (time.Time, error) {
	until, err := q.GetRollupState(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return until, err
}

func totalsOf(r db.UsageGroupsRow) Totals {
	return Totals{Requests: r.Requests, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CacheReadTokens: r.CacheReadTokens,
		CacheWriteTokens: r.CacheWriteTokens, Errors: r.Errors, Cost: r.Cost, ActiveUsers: r.ActiveUsers}
}
