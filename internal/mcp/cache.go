package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// toolCache shares each server's live tool list between instances through Redis. The key carries
// the server's version, so an edited server never sees the list of its former self; the full list
// is stored and the allowlist applied on the way out.
type toolCache struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

func (c *toolCache) key(s Server) string {
	return c.prefix + s.ID.String() + ":" + strconv.FormatInt(s.Version.UnixNano(), 10)
}

// get returns the cached list; a Redis failure is a miss (the live list still works).
func (c *toolCache) get(ctx context.Context, s Server) ([]Tool, bool) {
	if c.rdb == nil {
		return nil, false
	}
	raw, err := c.rdb.Get(ctx, c.key(s)).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.log.WarnContext(ctx, "mcp: tool cache read failed", "server_id", s.ID, "err", err)
		}
		return nil, false
	}
	var tools []Tool
	if err := json.Unmarshal(raw, &tools); err != nil {
		return nil, false
	}
	return tools, true
}

func (c *toolCache) set(ctx context.Context, s Server, tools []Tool) {
	if c.rdb == nil {
		return
	}
	raw, err := json.Marshal(tools)
	if err == nil {
		err = c.rdb.Set(ctx, c.key(s), raw, c.ttl).Err()
	}
	if err != nil {
		c.log.WarnContext(ctx, "mcp: tool cache write failed", "server_id", s.ID, "err", err)
	}
}

// allowedTools applies the server's allowlist.
func allowedTools(s Server, tools []Tool) []Tool {
	out := make([]Tool, 0, len(tools))
	for _, t := range tools {
		if s.allowed(t.Name) {
			out = append(out, t)
		}
	}
	return out
}
