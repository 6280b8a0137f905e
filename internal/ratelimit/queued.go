package ratelimit

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// queuedScript is one script call queued on a pipeline (or made at once on a client). A pipeline
// can only send a script by its SHA; when Redis no longer caches it (after a restart or SCRIPT
// FLUSH), reply sends it in full, on a round trip of its own, which also caches it again.
type queuedScript struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

func queueScript(ctx context.Context, pipe redis.Scripter, script *redis.Script, keys []string, args ...any) *queuedScript {
	return &queuedScript{script: script, keys: keys, args: args, cmd: script.EvalSha(ctx, pipe, keys, args...)}
}

// reply is the call's answer once its pipeline ran.
func (q *queuedScript) reply(ctx context.Context, rdb redis.Scripter) *redis.Cmd {
	if q.cmd.Err() != nil && redis.HasErrorPrefix(q.cmd.Err(), "NOSCRIPT") {
		q.cmd = q.script.Eval(ctx, rdb, q.keys, q.args...)
	}
	return q.cmd
}
