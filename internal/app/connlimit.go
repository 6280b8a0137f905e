package app

import (
	"net"
	"net/netip"
	"sync"
)

// perIPListener caps the open connections of each client address: an accepted connection over
// the cap is closed at once, before any byte of it is read, so one client cannot hold all the
// server's sockets and goroutines with idle or slow connections.
//
// Behind a reverse proxy every connection comes from the proxy, and the client's address is
// known only from X-Forwarded-For, after the request is read. Connections from CCB_TRUSTED_PROXIES
// are therefore not counted: the proxy is where per-client connection limits belong (nginx
// limit_conn), and counting it here would refuse everyone once the proxy holds the cap.
type perIPListener struct {
	net.Listener
	max     int
	exempt  []netip.Prefix
	mu      sync.Mutex
	open    map[netip.Addr]int
	refused func() // called for each refused connection (metrics, tests); may be nil
}

// limitPerIP wraps l; max 0 returns l unchanged.
func limitPerIP(l net.Listener, max int, exempt []netip.Prefix, refused func()) net.Listener {
	if max <= 0 {
		return l
	}
	return &perIPListener{Listener: l, max: max, exempt: exempt, open: map[netip.Addr]int{}, refused: refused}
}

// Accept returns the next connection within its address's cap, closing those over it.
func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, counted := l.key(c)
		if !counted {
			return c, nil
		}
		l.mu.Lock()
		ok := l.open[addr] < l.max
		if ok {
			l.open[addr]++
		}
		l.mu.Unlock()
		if ok {
			return &countedConn{Conn: c, release: func() { l.release(addr) }}, nil
		}
		_ = c.Close()
		if l.refused != nil {
			l.refused()
		}
	}
}

// key is the address a connection counts against, and whether it counts at all.
func (l *perIPListener) key(c net.Conn) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}, false // not TCP (a test pipe): nothing to count by
	}
	addr := ap.Addr().Unmap()
	for _, p := range l.exempt {
		if p.Contains(addr) {
			return addr, false
		}
	}
	return addr, true
}

func (l *perIPListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
	}
}

// countedConn gives its slot back when closed (once, however often Close is called).
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
