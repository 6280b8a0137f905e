package httpapi

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// TestSecurityHeadersMatchEchosSecure: securityHeadersMiddleware sends exactly the headers of the
// echo Secure configuration it replaced, over HTTP and behind an HTTPS proxy (HSTS), and a later
// Add to one of them leaves the others alone.
func TestSecurityHeadersMatchEchosSecure(t *testing.T) {
	t.Parallel()
	echoSecure := middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY", HSTSMaxAge: 63072000,
		ContentSecurityPolicy: contentSecurityPolicy, ReferrerPolicy: "no-referrer",
	})
	headersOf := func(mw echo.MiddlewareFunc, proto string) http.Header {
		e := echo.New()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if proto != "" {
			req.Header.Set(echo.HeaderXForwardedProto, proto)
		}
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		if err := mw(func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })(c); err != nil {
			t.Fatal(err)
		}
		return rec.Header()
	}
	for _, proto := range []string{"", "https"} {
		got, want := headersOf(securityHeadersMiddleware(), proto), headersOf(echoSecure, proto)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("X-Forwarded-Proto %q: headers\n got %v\nwant %v", proto, got, want)
		}
		got.Add("X-Frame-Options", "SAMEORIGIN")
		if got.Get("Content-Security-Policy") != contentSecurityPolicy || len(got.Values("X-Frame-Options")) != 2 {
			t.Errorf("an Add spilled into another header: %v", got)
		}
	}
}
