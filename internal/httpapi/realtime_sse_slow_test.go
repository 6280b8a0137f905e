package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestRealtimeSSESlowConsumer: an SSE client that stops reading (a raw connection that reads
// nothing) is ended as a slow consumer once a write exceeds its per-write timeout, even
// with a buffer too large to overflow first.
func TestRealtimeSSESlowConsumer(t *testing.T) {
	t.Parallel()
	s := realtimeServer(t, func(c *testutil.Config) { c.Events.Buffer = 100000; c.Events.Heartbeat = time.Second })
	u := s.Register(t, "rt-sse-slow@example.com")
	host, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", host.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", host.Host, u.AccessToken)

	big := strings.Repeat("x", 16<<10)
	user := uuid.MustParse(u.UserID)
	deadline := time.Now().Add(60 * time.Second)
	for !sseSlowLogged(s) && time.Now().Before(deadline) {
		for range 20 {
			if err := s.App.Events.Publish(context.Background(), user, events.MessageCreated, map[string]string{"pad": big}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sseSlowLogged(s) {
		for _, l := range s.Info.Lines() {
			if strings.Contains(l, "events") {
				t.Log(l)
			}
		}
		t.Fatal("an SSE client that stopped reading was not disconnected as a slow consumer")
	}
}

func sseSlowLogged(s *testutil.Server) bool {
	for _, l := range s.Info.Lines() {
		if strings.Contains(l, "slow consumer disconnected") && strings.Contains(l, "write timed out") {
			return true
		}
	}
	return false
}
