package httpapi

// SetRateLimitHeaders exposes the RateLimit header rendering to the external tests.
var SetRateLimitHeaders = setRateLimitHeaders
