package mcp

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"code.dny.dev/ssrf"
)

// errAddressNotAllowed marks a dial the SSRF guard refused; it maps to mcp_address_not_allowed.
var errAddressNotAllowed = errors.New("mcp: address not allowed")

// guard decides, for every connection the pool's HTTP clients open (first request, redirects,
// reconnects), whether the resolved address may be dialled. It runs as the dialer's Control hook,
// so it sees the IP after DNS resolution and before the SYN: a name that resolves (or rebinds) to
// a private address is refused without a packet to it.
type guard struct {
	ssrf    *ssrf.Guardian
	allowed []netip.Prefix // CCB_MCP_ALLOWED_NETWORKS: opened on purpose, any port
}

func newGuard(allowed []netip.Prefix) *guard {
	// Any port: a public MCP server often listens on 3000 or 8000, and the danger SSRF guards
	// against is the address range, not the port.
	return &guard{ssrf: ssrf.New(ssrf.WithAnyPort()), allowed: allowed}
}

// control is a net.Dialer Control function.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", errAddressNotAllowed, err)
	}
	// ::ffff:127.0.0.1 is 127.0.0.1: the allowlist speaks of hosts, not of spellings.
	ip := ap.Addr().Unmap()
	for _, p := range g.allowed {
		if p.Contains(ip) {
			return nil
		}
	}
	if err := g.ssrf.Safe(network, address, nil); err != nil {
		return fmt.Errorf("%w: %v", errAddressNotAllowed, err)
	}
	return nil
}
