package analytics

import (
	"context"
	"slices"
	"strings"

	"github.com/ccbackend/ccbackend/gen/db"
)

// Top is the largest users, API keys and models of a window by cost or tokens.
type Top struct {
	Window
	By                     string
	Users, APIKeys, Models []Group
}

// GetAnalyticsTop ranks users, API keys (requests without a key are left out) and models of w
// by cost or tokens, largest first (ties by key), at most limit of each.
func (s *Service) GetAnalyticsTop(ctx context.Context, w Window, by string, limit int) (Top, error) {
	out := Top{Window: w, By: by}
	err := s.store.InSnapshot(ctx, func(q *db.Queries) error {
		for _, dim := range []struct {
			groupBy string
			into    *[]Group
		}{{"user", &out.Users}, {"api_key", &out.APIKeys}, {"model", &out.Models}} {
			rows, err := groups(ctx, q, w, dim.groupBy, Filter{}, false)
			if err != nil {
				return err
			}
			*dim.into = rank(rows, by, limit)
		}
		return nil
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
