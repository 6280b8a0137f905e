package auth

import "context"

type dpopThumbprintKey struct{}

// WithDPoPThumbprint returns ctx carrying jkt, the RFC 7638 thumbprint of the key whose DPoP
// proof (RFC 9449) the HTTP layer verified on a token-issuing request. Every token pair minted
// under ctx is bound to that key (cnf.jkt in the access token, dpop_jkt on the refresh family);
// "" means unbound, so passing "" clears a binding for the calls below.
func WithDPoPThumbprint(ctx context.Context, jkt string) context.Context {
	return context.WithValue(ctx, dpopThumbprintKey{}, jkt)
}

// DPoPThumbprintFrom returns the thumbprint ctx carries, "" when the request sent no proof.
func DPoPThumbprintFrom(ctx context.Context) string {
	jkt, _ := ctx.Value(dpopThumbprintKey{}).(string)
	return jkt
}
