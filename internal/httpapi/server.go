// Package httpapi is the HTTP edge: Echo setup, middleware, spec-driven authentication, the one
// problem+json renderer and the StrictServerInterface implementation, one file per spec tag.
package httpapi

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/idempotency"
)

// Server implements the generated StrictServerInterface by embedding one handler set per tag.
type Server struct {
	*MetaHandlers
	*AuthHandlers
	*AdminHandlers
	*WorkspaceHandlers
	*ModelHandlers
	*ChatHandlers
	*DebugHandlers
	*MCPHandlers
	*FileHandlers
	*UsageHandlers
	*PasskeyHandlers
	*DeviceHandlers
	*RealtimeHandlers
}

var _ api.StrictServerInterface = (*Server)(nil)

// Deps are what the router needs; the composition root builds them.
type Deps struct {
	Log           *slog.Logger
	Metrics       *Metrics
	Authenticator Authenticator // nil denies every non-public operation
	CORSOrigins   []string
	MaxBodyBytes  int64
	// TrustedProxies may set X-Forwarded-For; nobody else's is believed.
	TrustedProxies []*net.IPNet
	RateLimits     RateLimits
	Idempotency    *idempotency.Store // keeps Idempotency-Key responses; nil turns the header off
	DPoP           DPoPVerifier       // proofs at x-dpop-binding operations; nil refuses them
	PublicBaseURL  string             // CCB_PUBLIC_BASE_URL: the URL DPoP proofs name (htu); "" the request's own
	Meta           *MetaHandlers
	Auth           *AuthHandlers
	Admin          *AdminHandlers
	Workspace      *WorkspaceHandlers
	Models         *ModelHandlers
	Chat           *ChatHandlers
	Debug          *DebugHandlers
	MCP            *MCPHandlers
	Files          *FileHandlers
	Usage          *UsageHandlers
	Passkeys       *PasskeyHandlers
	Realtime       *RealtimeHandlers // the event feed; also adds the realtimeTicket scheme
	Devices        *DeviceHandlers
	// Writes records who wrote, for the read replica's routing; nil when there is no replica.
	Writes WriteRecorder
}

// contentSecurityPolicy fits both the JSON API and the Swagger UI page: everything from this
// origin only, no inline script (the UI's styles need inline style attributes).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

var emailFormat sync.Once

// Spec returns the embedded contract prepared for request validation.
func Spec() (*openapi3.T, error) {
	// kin-openapi validates `format: email` only once the format is defined (process-wide).
	emailFormat.Do(func() {
		openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	})
	spec, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: embedded spec: %w", err)
	}
	// The validator would otherwise match the Host header against `servers`.
	spec.Servers = nil
	return spec, nil
}

// New builds the production router.
func New(d Deps) (*echo.Echo, error) {
	spec, err := Spec()
	if err != nil {
		return nil, err
	}
	authn := d.Authenticator
	if authn == nil {
		authn = denyAll{}
	}
	if d.Realtime != nil {
		authn = ticketAuthenticator{Authenticator: authn, tickets: d.Realtime.tickets, valid: d.Realtime.valid}
	}
	streaming := newStreamMatcher(spec)
	routes, err := newSpecRoutes(spec)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = newErrorHandler(d.Log)
	e.IPExtractor = ipExtractor(d.TrustedProxies)

	// Pre runs before routing: what must wrap every answer, including 404s and preflights.
	e.Pre(
		requestIDMiddleware(),
		observeMiddleware(d.Log, d.Metrics),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				d.Log.Error("panic", slog.String("request_id", requestID(c)), slog.String("error", err.Error()), slog.String("stack", string(stack)))
				return err
			},
		}),
		securityHeadersMiddleware(),
		// CORS answers preflights itself, so they never reach authentication.
		middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  d.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "X-API-Key", echo.HeaderXRequestID, "If-Match", "If-None-Match", "Idempotency-Key", "DPoP"},
			ExposeHeaders: []string{echo.HeaderXRequestID, "X-Response-Time", "ETag", "RateLimit", "RateLimit-Policy", "Retry-After", "Location", "Idempotent-Replayed", "WWW-Authenticate"},
			MaxAge:        600,
		}),
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.FormatInt(d.MaxBodyBytes, 10) + "B", Skipper: streaming.matches}),
		// Streams must reach the client event by event; a compressor would hold them back.
		gzipMiddleware(func(c echo.Context) bool {
			return c.Request().URL.Path == "/v1/chat/completions" || streaming.matches(c)
		}),
	)

	server := &Server{MetaHandlers: d.Meta, AuthHandlers: d.Auth, AdminHandlers: d.Admin, WorkspaceHandlers: d.Workspace, ModelHandlers: d.Models, ChatHandlers: d.Chat,
		DebugHandlers: d.Debug, MCPHandlers: d.MCP, FileHandlers: d.Files, UsageHandlers: d.Usage,
		PasskeyHandlers: d.Passkeys, RealtimeHandlers: d.Realtime, DeviceHandlers: d.Devices}
	api.RegisterHandlers(e, api.NewStrictHandler(server, []api.StrictMiddlewareFunc{negotiateCSV, withRawRequest}))
	limits := &requestLimits{rl: d.RateLimits, byRoute: withoutUnlimited(spec, policiesByRoute(spec, d.RateLimits)), log: d.Log,
		clear: newClearAddresses(time.Now)}
	if d.Chat != nil && d.Chat.chat != nil {
		limits.chat = d.Chat.chat
	}
	// Refused-credential throttling comes early (it spends no lookup); the body guard goes before the
	// validator so that the validator checks what the binder binds.
	streamed := streamedRoutes(spec)
	e.Use(markMatched(routeLabels(e.Routes())), noStoreMiddleware(noStoreRoutes(spec)), limits.throttleFailures, bodyGuard(bodiesByRoute(spec)),
		rawUploads(streamed), chatAttempts, specValidator(routes, authn, limits, streamed, d.PublicBaseURL), limits.middleware, attachPrincipal, recordWrites(d.Writes),
		dpopBinding(dpopBindingRoutes(spec), d.DPoP, d.PublicBaseURL),
		stepUpMiddleware(stepUpRoutes(spec), d.Authenticator),
		idempotencyMiddleware(d.Idempotency, idempotentRoutes(spec), secretBearingRoutes(spec), streamed, d.Log))
	return e, nil
}

// ipExtractor believes X-Forwarded-For only from the configured proxies (by default none:
// Echo's own defaults would trust every private address).
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
