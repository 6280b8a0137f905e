package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// AppAssociations are the native apps this domain vouches for: they may use its passkeys and
// open its links.
type AppAssociations struct {
	AppleAppIDs []string // TEAMID.bundle.id
	AndroidApps []AndroidApp
}

// AndroidApp is an Android package and its signing certificates' SHA-256 fingerprints.
type AndroidApp struct {
	Package      string
	Fingerprints []string
}

// GetAppleAppSiteAssociation serves the file iOS fetches (through Apple's CDN) before it lets an
// app use this domain's passkeys (webcredentials) or open its links (applinks).
func (h *PasskeyHandlers) GetAppleAppSiteAssociation(context.Context, api.GetAppleAppSiteAssociationRequestObject) (api.GetAppleAppSiteAssociationResponseObject, error) {
	ids := h.apps.AppleAppIDs
	if len(ids) == 0 {
		return nil, apperr.New(apperr.NotFound, "not_found", "no iOS app is associated with this domain")
	}
	var body api.AppleAppSiteAssociation
	body.Webcredentials.Apps = ids
	body.Applinks.Details = []api.AppleAppLinksDetail{{AppIDs: ids, Components: []map[string]string{{"/": "/*"}}}}
	return api.GetAppleAppSiteAssociation200JSONResponse(body), nil
}

// assetRelations are what an Android app may do for this domain: open its links, use its
// credentials (passkeys and passwords).
var assetRelations = []string{"delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"}

// GetAssetLinks serves the Digital Asset Links statements Android checks before it lets an app
// use this domain's passkeys.
func (h *PasskeyHandlers) GetAssetLinks(context.Context, api.GetAssetLinksRequestObject) (api.GetAssetLinksResponseObject, error) {
	out := make(api.GetAssetLinks200JSONResponse, len(h.apps.AndroidApps))
	for i, app := range h.apps.AndroidApps {
		out[i] = api.AssetLinkStatement{Relation: assetRelations, Target: api.AssetLinkTarget{
			Namespace: api.AssetLinkTargetNamespaceAndroidApp, PackageName: app.Package, Sha256CertFingerprints: app.Fingerprints}}
	}
	return out, nil
}
