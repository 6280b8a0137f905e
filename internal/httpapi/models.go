package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/catalog"
)

// ModelHandlers serve the `models` tag from the catalog.
type ModelHandlers struct {
	catalog *catalog.Catalog
}

// NewModelHandlers returns the model handlers.
func NewModelHandlers(c *catalog.Catalog) *ModelHandlers { return &ModelHandlers{catalog: c} }

func modelBody(m catalog.Model) api.Model {
	return api.Model{Id: m.ID, Object: api.ModelObjectModel, Created: m.Created, OwnedBy: m.Provider}
}

// ListModels lists the catalog in OpenAI's shape.
func (h *ModelHandlers) ListModels(context.Context, api.ListModelsRequestObject) (api.ListModelsResponseObject, error) {
	ms := h.catalog.ListModels()
	body := api.ModelList{Object: api.ModelListObjectList, Data: make([]api.Model, len(ms))}
	for i, m := range ms {
		body.Data[i] = modelBody(m)
	}
	return api.ListModels200JSONResponse(body), nil
}

// GetModel returns one model; unknown ids are 404.
func (h *ModelHandlers) GetModel(_ context.Context, req api.GetModelRequestObject) (api.GetModelResponseObject, error) {
	m, ok := h.catalog.GetModel(req.ModelId)
	if !ok {
		return nil, apperr.New(apperr.NotFound, "model_not_found", "no such model: "+req.ModelId)
	}
	return api.GetModel200JSONResponse(modelBody(m)), nil
}

// ListModelCapabilities lists what each model can do and costs.
func (h *ModelHandlers) ListModelCapabilities(context.Context, api.ListModelCapabilitiesRequestObject) (api.ListModelCapabilitiesResponseObject, error) {
	ms := h.catalog.ListModels()
	body := api.ModelCapabilitiesList{Object: api.ModelCapabilitiesListObjectList, Data: make([]api.ModelCapabilities, len(ms))}
	for i, m := range ms {
		body.Data[i] = api.ModelCapabilities{Id: m.ID, Provider: m.Provider, ContextWindow: m.ContextWindow, MaxOutputTokens: m.MaxOutputTokens,
			Streaming: m.Streaming, Tools: m.Tools, Vision: m.Vision,
			Pricing: api.ModelPricing{Input: m.Pricing.Input, Output: m.Pricing.Output, CacheRead: m.Pricing.CacheRead, CacheWrite: m.Pricing.CacheWrite}}
	}
	return api.ListModelCapabilities200JSONResponse(body), nil
}
