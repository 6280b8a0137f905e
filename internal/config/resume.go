package config

import "time"

// Resume are the settings of resumable chat streams (internal/resume): every streamed
// generation's SSE events are kept in a Redis Stream, so a client that lost its connection
// replays what it missed on any instance.
type Resume struct {
	// Retention (CCB_RESUME_RETENTION) is how long a finished generation stays replayable.
	Retention time.Duration
	// MaxChunks (CCB_RESUME_MAX_CHUNKS) bounds one generation's recording (XADD MAXLEN ~); a
	// resume from before what is left answers 410.
	MaxChunks int64
	// LiveTTL (CCB_RESUME_LIVE_TTL) is how long a running generation's recording outlives its
	// last heartbeat (refreshed every third of it): an instance that died takes its recording
	// along after this, and the streams replaying it end.
	LiveTTL time.Duration
	// MaxReaders (CCB_RESUME_MAX_READERS) caps the replay reads (XRANGE) one instance runs at
	// once: each holds a Redis pool connection for its round trip, never a blocking one.
	MaxReaders int64
	// Poll (CCB_RESUME_POLL_INTERVAL) is how often a waiting replay reads again without a
	// nudge (pub/sub is at-most-once; this bounds the delay of a lost one).
	Poll time.Duration
}

// resume reads the resumable stream settings.
func (r *reader) resume() Resume {
	return Resume{
		Retention:  r.duration("CCB_RESUME_RETENTION", 10*time.Minute),
		MaxChunks:  r.positiveInt("CCB_RESUME_MAX_CHUNKS", 20000),
		LiveTTL:    r.duration("CCB_RESUME_LIVE_TTL", time.Minute),
		MaxReaders: r.positiveInt("CCB_RESUME_MAX_READERS", 32),
		Poll:       r.duration("CCB_RESUME_POLL_INTERVAL", time.Second),
	}
}
