package httpapi

import "github.com/labstack/echo/v4"

// securityHeaders are set on every answer, keys in canonical form so that setting them
// canonicalizes nothing.
var securityHeaders = []struct{ key, value string }{
	{"X-Xss-Protection", "0"}, // the browsers' XSS auditor did more harm than good; CSP replaces it
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Content-Security-Policy", contentSecurityPolicy},
	{"Referrer-Policy", "no-referrer"},
}

// strictTransportSecurity pins HTTPS for two years, subdomains included; it is sent only over
// HTTPS (directly or as the proxy's X-Forwarded-Proto says), where a browser heeds it.
const strictTransportSecurity = "max-age=63072000; includeSubdomains"

// securityHeadersMiddleware sets securityHeaders (and HSTS over HTTPS) with one allocation for
// all their values rather than one per header, as Header.Set would: it runs on every request.
func securityHeadersMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			values := make([]string, len(securityHeaders)+1)
			for i, sh := range securityHeaders {
				values[i] = sh.value
				// Capacity one: a later Add to the same header copies rather than writes into a neighbour.
				h[sh.key] = values[i : i+1 : i+1]
			}
			if c.Scheme() == "https" {
				last := len(securityHeaders)
				values[last] = strictTransportSecurity
				h["Strict-Transport-Security"] = values[last : last+1 : last+1]
			}
			return next(c)
		}
	}
}
