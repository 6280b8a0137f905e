package config

import "time"

// MFA holds the settings of multi-factor authentication and step-up.
type MFA struct {
	// StepUpMaxAge (CCB_STEP_UP_MAX_AGE, default 10m): how recent a sign-in or re-authentication
	// the critical operations (`x-step-up` in the spec) need from an account with MFA.
	StepUpMaxAge time.Duration
	// Clock, when set, replaces the wall clock of the account service. Never read from the
	// environment: tests set it to move time (a TOTP step, an mfa_token's expiry) without sleeping.
	Clock Clock
}

// Clock is a source of the current time.
type Clock func() time.Time

// String keeps the redacted configuration printable (a func is not JSON).
func (c Clock) String() string {
	if c == nil {
		return "wall"
	}
	return "injected"
}

func (r *reader) mfa() MFA {
	return MFA{StepUpMaxAge: r.duration("CCB_STEP_UP_MAX_AGE", 10*time.Minute)}
}
