package sharedconn_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/sharedconn"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// echo answers its key and argument, so that a reply handed to the wrong caller shows.
var echo = redis.NewScript(`return {KEYS[1], ARGV[1]}`)

// sharedClient is a standalone client of a private Redis, built as the service builds one.
func sharedClient(t *testing.T) (*testutil.PrivateRedis, redis.UniversalClient, sharedconn.Conn) {
	t.Helper()
	r := testutil.StartRedis(t)
	rdb, err := store.NewRedisClient(r.URL, config.Redis{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	conn := sharedconn.Of(rdb)
	if !conn.Shared() {
		t.Fatal("a standalone client built by store.NewRedisClient does not share a connection")
	}
	return r, rdb, conn
}

// clients counts the connections Redis has, less the one asking.
func clients(t *testing.T, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	list, err := c.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(strings.TrimSpace(list), "\n") // one line per connection
}

// checkPipeline sends a pipeline of an INCR, a script and a GET on caller's own key and checks
// that each reply is that caller's, in order.
func checkPipeline(ctx context.Context, conn sharedconn.Conn, caller, round int) error {
	key := fmt.Sprintf("sharedconn:%d", caller)
	p := conn.Pipeline()
	incr := p.Incr(ctx, key)
	script := echo.EvalSha(ctx, p, []string{key}, round)
	get := p.Get(ctx, key)
	if _, err := p.Exec(ctx); err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return err
	}
	if redis.HasErrorPrefix(script.Err(), "NOSCRIPT") {
		script = echo.Eval(ctx, conn.Scripter(), []string{key}, round)
	}
	got, err := script.StringSlice()
	switch {
	case err != nil:
		return err
	case incr.Val() != int64(round+1) || get.Val() != fmt.Sprint(round+1):
		return fmt.Errorf("caller %d round %d: INCR %d, GET %q", caller, round, incr.Val(), get.Val())
	case len(got) != 2 || got[0] != key || got[1] != fmt.Sprint(round):
		return fmt.Errorf("caller %d round %d: the script answered %q", caller, round, got)
	}
	return nil
}

// Concurrent callers' pipelines leave on the one shared connection, and every caller gets its
// own replies in its own order.
func TestConcurrentPipelinesShareOneConnectionAndKeepTheirReplies(t *testing.T) {
	r, _, conn := sharedClient(t)
	const callers, rounds = 64, 100
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := range rounds {
				if err := checkPipeline(t.Context(), conn, c, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A pool would have opened a connection per concurrent pipeline, up to its size (20 here);
	// the shared connection, plus the one the first script's EVAL may have taken, is all there is.
	if n := clients(t, r.Addr); n > 2 {
		t.Errorf("%d callers' pipelines used %d connections; want the shared one (and at most one more)", callers, n)
	}
}

// A Redis restart drops the shared connection and Redis's script cache; the next pipelines and
// scripts work again, on a new connection.
func TestSharedConnectionRecoversFromARedisRestart(t *testing.T) {
	r, _, conn := sharedClient(t)
	if err := checkPipeline(t.Context(), conn, 1, 0); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	r.Start() // every key and script gone
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := checkPipeline(t.Context(), conn, 1, 0)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pipeline succeeded within 10 s of the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, err := echo.Run(t.Context(), conn.Scripter(), []string{"sharedconn:run"}, "after").StringSlice()
	if err != nil || len(got) != 2 || got[1] != "after" {
		t.Fatalf("a script after the restart: %q, %v", got, err)
	}
}

// Only a standalone client built for it shares a connection; a cluster client, or a client built
// without the options, keeps its ordinary pipelines.
func TestOnlyAStandaloneClientBuiltForItShares(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	for name, rdb := range map[string]redis.UniversalClient{"plain client": plain, "cluster client": cluster} {
		conn := sharedconn.Of(rdb)
		if conn.Shared() {
			t.Errorf("a %s shares a connection", name)
		}
		if conn.Scripter() != redis.Scripter(rdb) {
			t.Errorf("a %s's scripts do not run on the client itself", name)
		}
		if _, ok := conn.Pipeline().(*redis.Pipeline); !ok {
			t.Errorf("a %s's pipeline is a %T", name, conn.Pipeline())
		}
	}
}
