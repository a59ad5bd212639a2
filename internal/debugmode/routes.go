package debugmode

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/wire"
)

// Routes is debug mode as every call reads it: is this (corp, app,
// program) in debug mode, and where does its traffic go; and which debug
// secret opens an SDK invoke. Service changes the state; Routes reads it.
type Routes struct {
	cfg RoutesConfig

	mu   sync.Mutex
	keys map[string]*wire.Keys // program id + "/" + ver → keys of a debug secret

	// Route cache (Exclusive only): entries carry the generation they were
	// read at; every change bumps gen, so a stale entry is never used.
	gen    atomic.Uint64
	routes sync.Map // routeKey → routeEntry
}

// RoutesConfig configures Routes.
type RoutesConfig struct {
	Store store.Executor
	Now   func() time.Time
	// Exclusive says this process is the only writer of debug state (one
	// SQLite zone): Route then answers from memory, invalidated by every
	// change (Changed). With a store shared by several nodes every Route
	// reads the store.
	Exclusive bool
}

type routeKey struct {
	corpID    string
	agentID   int64
	programID string
}

type routeEntry struct {
	gen  uint64
	sess *openzone.DebugSession // nil: no session
	dp   *openzone.DebugProgram // nil: no debug page state
	// outside is set when the session's app is no longer in a test
	// scenario (or no longer exists): debug mode is off for it, whatever
	// the halves say, until Service.EndOutsideScenario closes them.
	outside bool
}

// NewRoutes returns Routes.
func NewRoutes(cfg RoutesConfig) *Routes {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Routes{cfg: cfg, keys: map[string]*wire.Keys{}}
}

// Changed drops cached routes: debug state changed (through Service, or a
// debug listener connected or was lost).
func (s *Routes) Changed() { s.gen.Add(1) }

// Route says where traffic for (corp, app, program) goes in debug mode:
// nil when debug mode is off.
type Route struct {
	ReceiverURL string // "" when none is set (calls fail with 710674)
	Keys        *wire.Keys
	// Listener, when set, replaces the receiver URL: the program is in
	// listener mode (connected or lost).
	Listener *openzone.DebugListener
}

// Route returns the debug route of (corp, app, program), or nil. It is on
// every call's path, so with an exclusive store it answers from memory;
// expiry is judged at each call.
func (s *Routes) Route(ctx context.Context, corpID string, agentID int64, programID string) (*Route, error) {
	k := routeKey{corpID, agentID, programID}
	gen := s.gen.Load()
	var e routeEntry
	if v, ok := s.routes.Load(k); ok && s.cfg.Exclusive && v.(routeEntry).gen == gen {
		e = v.(routeEntry)
	} else {
		var err error
		if e, err = s.load(ctx, k); err != nil {
			return nil, err
		}
		e.gen = gen
		if s.cfg.Exclusive {
			s.routes.Store(k, e)
		}
	}
	if e.sess == nil || e.dp == nil || e.outside || !e.sess.AppHalf || !e.sess.SDKHalf || !on(e.sess, e.dp, s.cfg.Now()) {
		return nil, nil
	}
	r := &Route{ReceiverURL: e.dp.ReceiverURL, Keys: s.keysOf(e.sess)}
	if e.dp.Listener.State != "" {
		l := e.dp.Listener
		r.Listener = &l
	}
	return r, nil
}

func (s *Routes) load(ctx context.Context, k routeKey) (routeEntry, error) {
	var e routeEntry
	sess, err := s.cfg.Store.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: k.corpID, AgentID: k.agentID, ProgramID: k.programID})
	if openzone.IsNotFound(err) {
		return e, nil
	}
	if err != nil {
		return e, err
	}
	e.sess = sess
	if !sess.AppHalf || !sess.SDKHalf {
		return e, nil
	}
	dp, err := s.cfg.Store.DebugProgramGet(ctx, k.programID)
	if openzone.IsNotFound(err) {
		return e, nil
	}
	if err != nil {
		return e, err
	}
	e.dp = dp
	e.outside, err = s.outside(ctx, k.corpID, k.agentID)
	return e, err
}

// outside reports whether the app of a session is gone or out of its test
// scenario as things stand now (docs/decisions.md, "Debug mode").
func (s *Routes) outside(ctx context.Context, corpID string, agentID int64) (bool, error) {
	app, err := s.cfg.Store.AppGet(ctx, corpID, agentID)
	if openzone.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	err = TestScenario(ctx, s.cfg.Store, app)
	if openzone.ErrorKind(err) == openzone.Internal {
		return false, err
	}
	return err != nil, nil
}

func (s *Routes) keysOf(sess *openzone.DebugSession) *wire.Keys {
	k := fmt.Sprintf("%s/%d", sess.ProgramID, sess.SecretVer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if keys, ok := s.keys[k]; ok {
		return keys
	}
	sec := wire.Secret{Ver: sess.SecretVer}
	copy(sec.Key[:], sess.Secret)
	keys := wire.NewKeys(sec)
	s.keys[k] = keys
	return keys
}

// InvokeKeys returns the keys of a live debug secret of the program with
// version ver, and the session it belongs to (whose corp and app bound what
// the secret may do). It returns nil when there is none: the caller
// answers ww-exception -10008.
func (s *Routes) InvokeKeys(ctx context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error) {
	sess, err := s.cfg.Store.DebugSessionBySecretVer(ctx, programID, ver)
	if openzone.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	dp, err := s.cfg.Store.DebugProgramGet(ctx, programID)
	if err != nil && !openzone.IsNotFound(err) {
		return nil, nil, err
	}
	if !sdkAlive(sess, dp, s.cfg.Now()) {
		return nil, nil, nil
	}
	if out, err := s.outside(ctx, sess.CorpID, sess.AgentID); out || err != nil {
		return nil, nil, err
	}
	return s.keysOf(sess), sess, nil
}

// On returns the program's sessions in debug mode now, ordered by corpid,
// agentid.
func (s *Routes) On(ctx context.Context, programID string) ([]*openzone.DebugSession, error) {
	dp, err := s.cfg.Store.DebugProgramGet(ctx, programID)
	if openzone.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sessions, err := s.cfg.Store.DebugSessionList(ctx, programID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var out []*openzone.DebugSession
	for _, sess := range sessions {
		if !on(sess, dp, now) {
			continue
		}
		if outside, err := s.outside(ctx, sess.CorpID, sess.AgentID); err != nil {
			return nil, err
		} else if !outside {
			out = append(out, sess)
		}
	}
	return out, nil
}

// on reports whether a session is in debug mode at now under dp.
func on(sess *openzone.DebugSession, dp *openzone.DebugProgram, now time.Time) bool {
	return sess != nil && sess.AppHalf && sess.SDKHalf && dp.TokenValid(now) && sess.Token == dp.Token
}

// sdkAlive reports whether the session's debug secret may still be used.
func sdkAlive(sess *openzone.DebugSession, dp *openzone.DebugProgram, now time.Time) bool {
	return sess != nil && sess.SDKHalf && sess.SecretVer != 0 && dp.TokenValid(now) && sess.Token == dp.Token
}
