package openzone

import (
	"fmt"
	"slices"
	"time"
)

// Authorisation states of a corp's data zone (数据与智能专区授权), as
// get_corp_auth_info reports them.
const (
	AuthTrial        = 1 // 试用中
	AuthTrialExpired = 2 // 试用已到期
	AuthPaid         = 3 // 付费使用中
	AuthPaidExpired  = 4 // 付费使用已到期
	AuthFree         = 5 // 免费使用中: the default of a self-hosted zone
	AuthFreeExpired  = 6 // 免费使用已到期
	AuthPaidPending  = 7 // 付费待生效
)

// Editions (版本) a member can be authorised for; each includes the ones
// below it.
const (
	EditionInternal = 1 // 内部会话
	EditionExternal = 2 // 内外部会话
	EditionVoice    = 3 // 内外部会话以及语音通话
)

// DefaultEditions are a member's editions when the seed names none: all of
// them, as a zone run for development should archive everything.
var DefaultEditions = []int{EditionInternal, EditionExternal, EditionVoice}

// Auth is a corp's authorisation of the zone: its state and period. The
// zero Auth is AuthFree without an end.
type Auth struct {
	Status int       `json:"status"`
	Begin  time.Time `json:"begin_time,omitzero"`
	End    time.Time `json:"end_time,omitzero"`
}

// ExpiredGrace is how long after its end an expired authorisation still
// lets programs read what was archived (WeCom's errcodes 710653 and 710654
// speak of "more than 30 days").
const ExpiredGrace = 30 * 24 * time.Hour

// State is the status at now: a period that ended is expired, a pending
// paid period that began is paid.
func (a Auth) State(now time.Time) int {
	s := a.Status
	if s == 0 {
		s = AuthFree
	}
	if s == AuthPaidPending && !a.Begin.IsZero() && !now.Before(a.Begin) {
		s = AuthPaid
	}
	if !a.End.IsZero() && !now.Before(a.End) {
		switch s {
		case AuthTrial:
			s = AuthTrialExpired
		case AuthPaid:
			s = AuthPaidExpired
		case AuthFree:
			s = AuthFreeExpired
		}
	}
	return s
}

// Archiving reports whether new messages are archived at now: only while
// the authorisation is in use (trial, paid or free, not expired).
func (a Auth) Archiving(now time.Time) bool {
	switch a.State(now) {
	case AuthTrial, AuthPaid, AuthFree:
		return true
	}
	return false
}

// ReadRefusal is the error a program reading the corp's archive gets at
// now, nil when it may: a pending paid edition has nothing yet (710651);
// an authorisation expired more than ExpiredGrace ago has no archive to
// read (710653 for a trial, 710654 for a paid period, 710652 otherwise).
func (a Auth) ReadRefusal(corpID string, now time.Time) error {
	switch st := a.State(now); {
	case st == AuthPaidPending:
		return Errorf(ErrNoPaidEdition, "corp %s has no paid edition in effect yet (付费待生效)", corpID)
	case (st == AuthTrialExpired || st == AuthPaidExpired || st == AuthFreeExpired) && now.Sub(a.End) > ExpiredGrace:
		code := map[int]int{AuthTrialExpired: ErrTrialEnded, AuthPaidExpired: ErrPaidEnded, AuthFreeExpired: ErrArchiveExpired}[st]
		return Errorf(code, "the zone authorisation of corp %s ended on %s, more than 30 days ago", corpID, a.End.UTC().Format(time.DateOnly))
	}
	return nil
}

// Check checks an authorisation set by a seed or the admin API.
func (a Auth) Check(path string) error {
	if a.Status < 0 || a.Status > AuthPaidPending {
		return fieldErr(Field(path, "status"), "%d is not from 1 to 7", a.Status)
	}
	if !a.Begin.IsZero() && !a.End.IsZero() && !a.End.After(a.Begin) {
		return fieldErr(Field(path, "end_time"), "is not after begin_time")
	}
	return nil
}

// MemberEditions are a member's authorised editions: DefaultEditions when
// none were set (nil); an empty list means not authorised.
func (m *Member) MemberEditions() []int {
	if m.Editions == nil {
		return DefaultEditions
	}
	return m.Editions
}

// Covers reports whether editions include need (an edition includes the
// ones below it).
func Covers(editions []int, need int) bool {
	return slices.ContainsFunc(editions, func(e int) bool { return e >= need })
}

// CheckEditions checks a member's edition list.
func CheckEditions(path string, es []int) error {
	for i, e := range es {
		if e < EditionInternal || e > EditionVoice {
			return fieldErr(fmt.Sprintf("%s[%d]", path, i), "edition %d is not 1 (internal), 2 (internal and external) or 3 (with voice calls)", e)
		}
	}
	return nil
}
