package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// MaxAttempts is the default number of attempts of every job (the first run
// plus 78 retries). With the Backoff schedule the last retry starts at least
// 72 h 21 min 21 s after the first failure, so a delivery outlives a debug
// credential (72 h). A job kind may set its own through InsertOpts.
const MaxAttempts = 79

// backoffSteps are the waits after failed attempts 1..7; later ones wait the
// last step.
var backoffSteps = [...]time.Duration{
	1 * time.Second,
	5 * time.Second,
	15 * time.Second,
	1 * time.Minute,
	5 * time.Minute,
	15 * time.Minute,
	1 * time.Hour,
}

// Backoff returns how long a job waits, without jitter, after its attempt-th
// attempt failed before attempt+1 runs: 1s, 5s, 15s, 1m, 5m, 15m, 1h, then 1h
// for every later attempt. An attempt below 1 counts as 1.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > len(backoffSteps) {
		return backoffSteps[len(backoffSteps)-1]
	}
	return backoffSteps[attempt-1]
}

// RetryPolicy is a river.ClientRetryPolicy that waits Backoff(attempt) after
// a failed attempt, stretched by a random 0..Jitter fraction. The jitter is
// only ever added, so Backoff is a lower bound and the 72 h guarantee of
// MaxAttempts holds.
type RetryPolicy struct {
	// Backoff gives the wait after a failed attempt (1-based); nil means
	// the package's Backoff.
	Backoff func(attempt int) time.Duration
	// Jitter is the largest fraction added to a wait (0.1 = up to +10 %).
	Jitter float64
}

// DefaultRetryPolicy is the policy a Runner uses unless Config.RetryPolicy
// is set: Backoff with up to +10 % jitter.
func DefaultRetryPolicy() *RetryPolicy { return &RetryPolicy{Backoff: Backoff, Jitter: 0.1} }

var _ river.ClientRetryPolicy = (*RetryPolicy)(nil)

// NextRetry implements river.ClientRetryPolicy. job.Attempt is the attempt
// that just failed (River also asks when it rescues a stuck job).
func (p *RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	attempt := job.Attempt
	if attempt < 1 {
		attempt = len(job.Errors) + 1
	}
	backoff := p.Backoff
	if backoff == nil {
		backoff = Backoff
	}
	d := backoff(attempt)
	if p.Jitter > 0 {
		d += time.Duration(float64(d) * p.Jitter * rand.Float64())
	}
	return time.Now().UTC().Add(d)
}

// Cancel marks err as permanent: returned from Work, the job is cancelled
// at once (state "cancelled", no further attempts) instead of retried. It is
// river.JobCancel.
func Cancel(err error) error { return river.JobCancel(err) }

// Snooze returned from Work runs the job again after d without using up an
// attempt (River does not count snoozes). It is river.JobSnooze.
func Snooze(d time.Duration) error { return river.JobSnooze(d) }
