package wwspec

import (
	"sync"
	"sync/atomic"
)

// Handles maps the int64 handles a face hands out (the `long` pointers
// WeCom's Java wrappers keep in specCallbackSDKptr and specSDKptr) to the
// objects behind them. Handles count up from 1 and are never reused, so a
// handle that was freed, or never handed out, finds nothing. It is safe for
// concurrent use.
type Handles struct {
	mu   sync.RWMutex
	m    map[int64]any
	next int64
}

// Put stores v and returns its handle.
func (t *Handles) Put(v any) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[int64]any)
	}
	t.next++
	t.m[t.next] = v
	return t.next
}

// Get returns the object of handle h, or nil.
func (t *Handles) Get(h int64) any {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[h]
}

// Delete frees handle h and reports whether it was live.
func (t *Handles) Delete(h int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.m[h]
	delete(t.m, h)
	return ok
}

// Len returns the number of live handles.
func (t *Handles) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// Reaper frees the handles of objects the garbage collector has taken.
// WeCom's Java wrappers have no close: the JNI face tracks each handle with
// a weak reference to the Java object holding it, and sweeps the tracked
// handles when their number has doubled since the last sweep (at least
// MinSweep), so a sweep costs O(1) per handle made. It is safe for
// concurrent use; one sweep runs at a time.
//
// R is the type of the weak references (jweak in the JNI face).
type Reaper[R any] struct {
	mu       sync.Mutex
	refs     map[int64]R
	lastLive int
	sweeping atomic.Bool
}

// MinSweep is the number of tracked handles below which Reaper does not
// sweep.
const MinSweep = 1024

// Track records that handle h is held by the object weakly referenced by
// ref, and reports whether a sweep is due.
func (r *Reaper[R]) Track(h int64, ref R) (due bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs == nil {
		r.refs = make(map[int64]R)
	}
	r.refs[h] = ref
	return len(r.refs) >= max(2*r.lastLive, MinSweep)
}

// Sweep calls cleared for every tracked reference, and free for each one it
// reports cleared, after forgetting it. It returns at once when another
// sweep runs. cleared and free are called without the Reaper's lock held.
func (r *Reaper[R]) Sweep(cleared func(ref R) bool, free func(h int64, ref R)) {
	if !r.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer r.sweeping.Store(false)
	type entry struct {
		h   int64
		ref R
	}
	r.mu.Lock()
	all := make([]entry, 0, len(r.refs))
	for h, ref := range r.refs {
		all = append(all, entry{h, ref})
	}
	r.mu.Unlock()
	var dead []entry
	for _, e := range all {
		if cleared(e.ref) {
			dead = append(dead, e)
		}
	}
	r.mu.Lock()
	for _, e := range dead {
		delete(r.refs, e.h)
	}
	r.lastLive = len(r.refs)
	r.mu.Unlock()
	for _, e := range dead {
		free(e.h, e.ref)
	}
}

// Len returns the number of tracked handles.
func (r *Reaper[R]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.refs)
}
