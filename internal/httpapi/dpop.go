package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
)

// DPoPVerifier verifies the DPoP proof (RFC 9449) of a token-issuing request and returns the
// thumbprint of its key.
type DPoPVerifier interface {
	VerifyDPoPProof(ctx context.Context, req auth.DPoPRequest) (string, error)
}

// dpopHeader carries proofs; dpopScheme is the Authorization scheme of bound tokens.
const (
	dpopHeader = "DPoP"
	dpopScheme = "DPoP"
)

var errDPoPUnsupported = apperr.New(apperr.Unauthenticated, "invalid_dpop_proof", "this server does not accept DPoP proofs")

// dpopBindingRoutes are the operations marked `x-dpop-binding: true`: those that issue tokens,
// which a proof binds to its key.
func dpopBindingRoutes(spec *openapi3.T) map[string]bool {
	return routesWhere(spec, func(_ *openapi3.PathItem, op *openapi3.Operation) bool {
		v, _ := op.Extensions["x-dpop-binding"].(bool)
		return v
	})
}

// dpopBinding verifies the proof a token-issuing request sends (none: nothing changes, the
// client gets bearer tokens) and puts its key's thumbprint into the request context, where the
// sign-in paths of internal/auth bind the new tokens to it. A bad proof refuses the request:
// silently issuing bearer tokens instead would hand the client weaker tokens than it asked for.
func dpopBinding(routes map[string]bool, v DPoPVerifier, publicBase string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			proofs := r.Header.Values(dpopHeader)
			if len(proofs) == 0 || !routes[r.Method+" "+c.Path()] {
				return next(c)
			}
			if v == nil {
				return errDPoPUnsupported
			}
			jkt, err := v.VerifyDPoPProof(r.Context(), auth.DPoPRequest{Proofs: proofs, Method: r.Method, URL: requestHTU(r, publicBase)})
			if err != nil {
				return err
			}
			c.SetRequest(r.WithContext(auth.WithDPoPThumbprint(r.Context(), jkt)))
			return next(c)
		}
	}
}

// requestHTU is the URL the client addressed, without query: publicBase (CCB_PUBLIC_BASE_URL)
// plus the path when configured, else the connection's own scheme and Host. X-Forwarded-Proto
// is not consulted: anyone can send it, and the htu check exists to pin where a proof may be used.
func requestHTU(r *http.Request, publicBase string) string {
	if publicBase == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		publicBase = scheme + "://" + r.Host
	}
	return publicBase + r.URL.EscapedPath()
}

// dpopCredentials fills the DPoP part of creds when the request sends a token in the DPoP scheme.
func dpopCredentials(creds *auth.Credentials, r *http.Request, publicBase string) {
	scheme, token, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, dpopScheme) {
		return
	}
	creds.Bearer = strings.TrimSpace(token)
	creds.DPoPScheme = true
	creds.DPoP = auth.DPoPRequest{Proofs: r.Header.Values(dpopHeader), Method: r.Method, URL: requestHTU(r, publicBase)}
}

// authChallenges are the WWW-Authenticate values of a 401 (RFC 9449 §7.1): the DPoP challenge
// names the error when DPoP caused it, and is offered beside Bearer otherwise.
func authChallenges(code string, dpopRequest bool) []string {
	const bearer, dpop = `Bearer realm="ccbackend"`, `DPoP realm="ccbackend", algs="` + auth.DPoPAlgorithms + `"`
	switch {
	case code == "invalid_dpop_proof":
		return []string{`DPoP realm="ccbackend", error="invalid_dpop_proof", algs="` + auth.DPoPAlgorithms + `"`}
	case code == "dpop_bound_token" || (dpopRequest && code == "invalid_token"):
		return []string{`DPoP realm="ccbackend", error="invalid_token", algs="` + auth.DPoPAlgorithms + `"`}
	}
	return []string{bearer, dpop}
}

// usesDPoPScheme reports whether r sends its token as `Authorization: DPoP`.
func usesDPoPScheme(r *http.Request) bool {
	scheme, _, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	return ok && strings.EqualFold(scheme, dpopScheme)
}
