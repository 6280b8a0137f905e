package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/apitime"
)

// GetAnalyticsUsage answers everyone's usage in a window (administrators).
func (h *UsageHandlers) GetAnalyticsUsage(ctx context.Context, req api.GetAnalyticsUsageRequestObject) (api.GetAnalyticsUsageResponseObject, error) {
	p := req.Params
	w, err := h.window(p.From, p.To)
	if err != nil {
		return nil, err
	}
	u, err := h.usage.GetAnalyticsUsage(ctx, w, orDefault(p.GroupBy, api.GetAnalyticsUsageParamsGroupByDay), analytics.Filter{UserID: p.UserId, Model: p.Model})
	if err != nil {
		return nil, err
	}
	if wantsCSV(ctx) {
		return api.GetAnalyticsUsage200TextcsvResponse(csvBody(u.CSV())), nil
	}
	return api.GetAnalyticsUsage200JSONResponse(usageReport(u)), nil
}

// GetAnalyticsTimeseries answers one metric over time (administrators).
func (h *UsageHandlers) GetAnalyticsTimeseries(ctx context.Context, req api.GetAnalyticsTimeseriesRequestObject) (api.GetAnalyticsTimeseriesResponseObject, error) {
	p := req.Params
	w, err := h.window(p.From, p.To)
	if err != nil {
		return nil, err
	}
	s, err := h.usage.GetAnalyticsTimeseries(ctx, w, orDefault(p.Metric, api.GetAnalyticsTimeseriesParamsMetricRequests),
		orDefault(p.Interval, api.GetAnalyticsTimeseriesParamsIntervalDay))
	if err != nil {
		return nil, err
	}
	if wantsCSV(ctx) {
		return api.GetAnalyticsTimeseries200TextcsvResponse(csvBody(s.CSV())), nil
	}
	out := api.UsageTimeseries{From: apitime.New(s.From), To: apitime.New(s.To), Metric: api.UsageTimeseriesMetric(s.Metric),
		Interval: api.UsageTimeseriesInterval(s.Interval), Points: make([]api.UsagePoint, len(s.Points))}
	for i, pt := range s.Points {
		out.Points[i] = api.UsagePoint{Start: apitime.New(pt.Start), Value: pt.Value}
	}
	return api.GetAnalyticsTimeseries200JSONResponse(out), nil
}

// GetAnalyticsTop ranks users, API keys and models (administrators).
func (h *UsageHandlers) GetAnalyticsTop(ctx context.Context, req api.GetAnalyticsTopRequestObject) (api.GetAnalyticsTopResponseObject, error) {
	p := req.Params
	w, err := h.window(p.From, p.To)
	if err != nil {
		return nil, err
	}
	limit := 10
	if p.Limit != nil {
		limit = *p.Limit
	}
	t, err := h.usage.GetAnalyticsTop(ctx, w, orDefault(p.By, api.GetAnalyticsTopParamsByCost), limit)
	if err != nil {
		return nil, err
	}
	if wantsCSV(ctx) {
		return api.GetAnalyticsTop200TextcsvResponse(csvBody(t.CSV())), nil
	}
	return api.GetAnalyticsTop200JSONResponse(api.UsageTop{From: apitime.New(t.From), To: apitime.New(t.To), By: api.UsageTopBy(t.By),
		Users: ranked(t.Users), ApiKeys: ranked(t.APIKeys), Models: ranked(t.Models)}), nil
}

func ranked(gs []analytics.Group) []api.UsageRanked {
	out := make([]api.UsageRanked, len(gs))
	for i, g := range gs {
		out[i] = api.UsageRanked{Key: g.Key, Requests: g.Requests, TotalTokens: g.Tokens(), Cost: g.Cost}
	}
	return out
}
