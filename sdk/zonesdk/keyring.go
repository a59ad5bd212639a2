package zonesdk

import (
	"cmp"
	"slices"
	"sync"

	"github.com/openzone/openzone/sdk/zonewire"
)

// A keyring holds the secrets of a Program by version: the production
// secret (optional) and the debug secrets, one per (corpid, agentid).
// A call opens with the secret its ww-secret-ver names; an invoke picks
// one as Program.invokeKeys says.
type keyring struct {
	mu    sync.RWMutex
	prod  *secretEntry            // nil: no production secret
	byVer map[int]*secretEntry    // every secret, production included
	byApp map[appKey]*secretEntry // debug secrets
	last  *secretEntry            // the debug secret installed last
}

// appKey names the corp and app a debug secret is bound to.
type appKey struct {
	corpID  string
	agentID int64
}

// secretEntry is one secret of the keyring, with its keys derived once.
// session is set for debug secrets only; entries are never modified once
// published, so they may be read without the lock.
type secretEntry struct {
	keys    *zonewire.Keys
	session *DebugSession
}

func (e *secretEntry) ver() int    { return e.keys.Secret.Ver }
func (e *secretEntry) debug() bool { return e.session != nil }

// boundTo reports whether a debug entry may serve corp corpID and app
// agentID; a production entry serves every corp and app.
func (e *secretEntry) boundTo(corpID string, agentID int64) bool {
	return e.session == nil || e.session.CorpID == corpID && e.session.AgentID == agentID
}

func newKeyring(prod zonewire.Secret) *keyring {
	kr := &keyring{byVer: make(map[int]*secretEntry), byApp: make(map[appKey]*secretEntry)}
	if prod.Ver > 0 {
		kr.prod = &secretEntry{keys: zonewire.NewKeys(prod)}
		kr.byVer[prod.Ver] = kr.prod
	}
	return kr
}

// byVersion returns the secret of version ver, or nil.
func (kr *keyring) byVersion(ver int) *secretEntry {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.byVer[ver]
}

// debugFor returns the debug secret of corp corpID and app agentID, or nil.
func (kr *keyring) debugFor(corpID string, agentID int64) *secretEntry {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.byApp[appKey{corpID, agentID}]
}

// production returns the production secret, or nil.
func (kr *keyring) production() *secretEntry {
	return kr.prod // set once by newKeyring
}

// installDebug adds a debug secret for s.CorpID and s.AgentID, replacing
// the earlier one of that corp and app: the zone has killed it. A secret
// of another app that has the same version is dropped too (it can only be
// left from an earlier life of the zone, which issues each version once).
// It refuses the version of the production secret.
func (kr *keyring) installDebug(sec zonewire.Secret, s DebugSession) bool {
	e := &secretEntry{keys: zonewire.NewKeys(sec), session: &s}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.prod != nil && kr.prod.ver() == sec.Ver {
		return false
	}
	k := appKey{s.CorpID, s.AgentID}
	if old := kr.byApp[k]; old != nil {
		delete(kr.byVer, old.ver())
	}
	if old := kr.byVer[sec.Ver]; old != nil && old.session != nil {
		delete(kr.byApp, appKey{old.session.CorpID, old.session.AgentID})
	}
	kr.byVer[sec.Ver] = e
	kr.byApp[k] = e
	kr.last = e
	return true
}

// any returns a secret the zone accepts from the program, whatever the
// corp and app: the production secret, else the debug secret installed
// last; nil when the program holds none. Log batches, which belong to no
// app, are sealed with it.
func (kr *keyring) any() *secretEntry {
	if kr.prod != nil {
		return kr.prod
	}
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.last != nil && kr.byVer[kr.last.ver()] == kr.last {
		return kr.last
	}
	for _, e := range kr.byApp {
		return e
	}
	return nil
}

// sessions returns the debug sessions, by corpid then agentid.
func (kr *keyring) sessions() []DebugSession {
	kr.mu.RLock()
	out := make([]DebugSession, 0, len(kr.byApp))
	for _, e := range kr.byApp {
		out = append(out, *e.session)
	}
	kr.mu.RUnlock()
	slices.SortFunc(out, func(a, b DebugSession) int {
		return cmp.Or(cmp.Compare(a.CorpID, b.CorpID), cmp.Compare(a.AgentID, b.AgentID))
	})
	return out
}
