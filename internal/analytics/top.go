package analytics

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
)

// Top is the largest users, API keys and models of a window by cost or tokens.
type Top struct {
	Window
	By                     string
	Users, APIKeys, Models []Group
}

// GetAnalyticsTop ranks users, API keys (requests without a key are left out) and models of w
// by cost or tokens, largest first (ties by key), at most limit of each. Users and keys are
// ranked in one query over the user rollups, models over the coarse rollup.
func (s *Service) GetAnalyticsTop(ctx context.Context, w Window, by string, limit int) (Top, error) {
	out := Top{Window: w, By: by, Users: []Group{}, APIKeys: []Group{}}
	// Everyone's usage, no caller's own write: lag-tolerant (the replica when usable).
	err := s.store.ReadSnapshot(ctx, uuid.Nil, func(q *db.Queries) error {
		until, err := rolledUntil(ctx, q)
		if err != nil {
			return err
		}
		if err := q.SetRankingWorkMem(ctx); err != nil {
			return err
		}
		rollFrom, rollTo := w.split(until)
		monthFrom, monthTo := months(rollFrom, rollTo)
		rows, err := q.UsageTopUsersKeys(ctx, db.UsageTopUsersKeysParams{MaxRows: int64(limit), MonthFrom: monthFrom, MonthTo: monthTo,
			RollupFrom: rollFrom, RollupTo: rollTo, RawFrom: w.From, RollupFromAt: rollFrom, RollupToAt: rollTo, RawTo: w.To, By: by})
		if err != nil {
			return err
		}
		for _, r := range rows {
			g := Group{Key: r.Key, Totals: Totals{Requests: r.Requests, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
				CacheReadTokens: r.CacheReadTokens, CacheWriteTokens: r.CacheWriteTokens, Errors: r.Errors, Cost: r.Cost}}
			if r.IsUser {
				out.Users = append(out.Users, g)
			} else {
				out.APIKeys = append(out.APIKeys, g)
			}
		}
		models, err := groups(ctx, q, w, "model", Filter{}, false)
		out.Models = rank(models, by, limit)
		return err
	})
	return out, err
}

func rank(rows []db.UsageGroupsRow, by string, limit int) []Group {
	gs := make([]Group, 0, len(rows))
	for _, r := range rows {
		if !r.Total && r.Key != "" {
			gs = append(gs, Group{Key: r.Key, Totals: totalsOf(r)})
		}
	}
	value := func(g Group) float64 {
		if by == "tokens" {
			return float64(g.Tokens())
		}
		return g.Cost
	}
	slices.SortFunc(gs, func(a, b Group) int {
		if va, vb := value(a), value(b); va != vb {
			if va > vb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	return gs[:min(limit, len(gs))]
}
