package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openzone/openzone/internal/filename"
)

// cgroups are where a zone puts its sandboxes' cgroups: one folder per
// zone (openzone-<pid>-<random>) in the zone's own cgroup of each
// hierarchy, one per run below it. Memory, cpu and pids come from cgroup v2
// when the unified hierarchy has the memory controller, else from v1 (a
// host like this one: the v2 hierarchy is mounted but nearly empty).
type cgroups struct {
	version int               // 1 or 2; 0: none usable
	parents map[string]string // controller (or "" for v2) → this zone's folder
	names   []string          // the controllers in use
	why     string            // why none are usable
	seq     atomic.Uint64
}

// procSelfCgroup is read for the zone's own cgroups; tests replace it.
var procSelfCgroup = "/proc/self/cgroup"

// detectCgroups finds usable controllers under root and makes this zone's
// folders, sweeping those of zones that died without removing theirs.
func detectCgroups(root, id string) *cgroups {
	cg := &cgroups{parents: map[string]string{}}
	own, err := ownCgroups()
	if err != nil {
		cg.why = "cannot read " + procSelfCgroup + ": " + err.Error()
		return cg
	}
	unified := root
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		unified = filepath.Join(root, "unified")
	}
	var errs []string
	if ctrls := readWords(filepath.Join(unified, "cgroup.controllers")); slices.Contains(ctrls, "memory") {
		if err := cg.setupV2(unified, own[""], id, ctrls); err == nil {
			return cg
		} else {
			errs = append(errs, "cgroup v2: "+err.Error())
		}
	}
	if err := cg.setupV1(root, own, id); err == nil {
		return cg
	} else {
		errs = append(errs, "cgroup v1: "+err.Error())
	}
	cg.version, cg.parents, cg.names = 0, map[string]string{}, nil
	cg.why = strings.Join(errs, "; ")
	return cg
}

// ownCgroups maps each hierarchy's controllers ("" for v2) to the zone's
// path in it, from /proc/self/cgroup.
func ownCgroups() (map[string]string, error) {
	f, err := os.Open(procSelfCgroup)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, sc.Err()
}

func (cg *cgroups) setupV2(unified, own, id string, ctrls []string) error {
	base := filepath.Join(unified, own)
	want := []string{"memory"}
	for _, c := range []string{"cpu", "pids"} {
		if slices.Contains(ctrls, c) {
			want = append(want, c)
		}
	}
	enable := "+" + strings.Join(want, " +")
	if err := writeFile(filepath.Join(base, "cgroup.subtree_control"), enable); errors.Is(err, syscall.EBUSY) {
		// The zone's own cgroup has processes, so it may not hand
		// controllers down: move the zone into a leaf of its own first.
		leaf := filepath.Join(base, "openzone-"+id+"-zone")
		if err := os.Mkdir(leaf, 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
			os.Remove(leaf)
			return err
		}
		if err := writeFile(filepath.Join(base, "cgroup.subtree_control"), enable); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	sweep(base)
	parent := filepath.Join(base, "openzone-"+id)
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := writeFile(filepath.Join(parent, "cgroup.subtree_control"), enable); err != nil {
		os.Remove(parent)
		return err
	}
	cg.version, cg.names = 2, want
	cg.parents[""] = parent
	return nil
}

func (cg *cgroups) setupV1(root string, own map[string]string, id string) error {
	for _, c := range []string{"memory", "cpu", "pids"} {
		path, ok := own[c]
		hier := filepath.Join(root, c)
		if !ok || !isDir(hier) {
			if c == "memory" {
				return errors.New("no memory controller mounted")
			}
			continue
		}
		base := filepath.Join(hier, path)
		sweep(base)
		parent := filepath.Join(base, "openzone-"+id)
		if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			cg.close()
			return err
		}
		cg.parents[c] = parent
		cg.names = append(cg.names, c)
	}
	cg.version = 1
	return nil
}

// sweep removes the folders of zones whose process is gone.
func sweep(base string) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "openzone-")
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		dir := filepath.Join(base, e.Name())
		subs, _ := os.ReadDir(dir)
		for _, s := range subs {
			if s.IsDir() {
				os.Remove(filepath.Join(dir, s.Name()))
			}
		}
		os.Remove(dir)
	}
}

func (cg *cgroups) usable() bool { return cg != nil && cg.version != 0 }

func (cg *cgroups) describe() (string, bool) {
	if !cg.usable() {
		return "not enforced: " + cg.why, false
	}
	return fmt.Sprintf("cgroup v%d: %s", cg.version, strings.Join(cg.names, ", ")), true
}

// cgroup is one run's cgroup (a folder per v1 hierarchy, or one in v2).
type cgroup struct {
	version int
	dirs    map[string]string // controller ("" for v2) → folder
}

// maxPids bounds the processes of one instance (a fork bomb stays inside).
const maxPids = 4096

// create makes the cgroup of one run and sets its limits.
func (cg *cgroups) create(name string, l Limits) (*cgroup, error) {
	leaf := filename.Safe(name) + "-" + strconv.FormatUint(cg.seq.Add(1), 10)
	g := &cgroup{version: cg.version, dirs: map[string]string{}}
	for c, parent := range cg.parents {
		if c == "cpu" && l.CPUs == 0 {
			continue // no CPU limit: the instance is scheduled as a plain process is
		}
		dir := filepath.Join(parent, leaf)
		if err := os.Mkdir(dir, 0o755); err != nil {
			g.remove()
			return nil, err
		}
		g.dirs[c] = dir
	}
	for _, s := range limitFiles(g.version, l) {
		dir, ok := g.dirs[s[0]]
		if !ok {
			continue
		}
		path := filepath.Join(dir, s[1])
		if err := writeFile(path, s[2]); err != nil {
			if errors.Is(err, os.ErrNotExist) && s[1] != "memory.max" && s[1] != "memory.limit_in_bytes" {
				continue // no swap accounting, or no such controller file
			}
			g.remove()
			return nil, fmt.Errorf("%s: %w", s[1], err)
		}
	}
	return g, nil
}

// limitFiles says what to write where for limits l: controller ("" for
// v2), file, value. A missing file other than the memory limit is skipped
// (no swap accounting, say).
func limitFiles(version int, l Limits) [][3]string {
	mem := strconv.FormatInt(int64(l.MemoryMB)<<20, 10)
	pids := strconv.Itoa(maxPids)
	var sets [][3]string
	if version == 2 {
		sets = [][3]string{{"", "memory.max", mem}, {"", "memory.swap.max", "0"}, {"", "pids.max", pids}}
	} else {
		sets = [][3]string{{"memory", "memory.limit_in_bytes", mem}, {"memory", "memory.memsw.limit_in_bytes", mem}, {"pids", "pids.max", pids}}
	}
	if l.CPUs == 0 {
		return sets
	}
	quota := strconv.FormatInt(int64(l.CPUs*100000), 10)
	// A cgroup competes for the CPU as one task does; its weight is that of
	// as many busy threads as CPUs it may use, as the program's threads
	// would weigh outside it.
	if version == 2 {
		return append(sets, [3]string{"", "cpu.max", quota + " 100000"}, [3]string{"", "cpu.weight", strconv.Itoa(min(10000, max(1, int(l.CPUs*100))))})
	}
	return append(sets, [3]string{"cpu", "cpu.cfs_period_us", "100000"}, [3]string{"cpu", "cpu.cfs_quota_us", quota},
		[3]string{"cpu", "cpu.shares", strconv.Itoa(max(2, int(l.CPUs*1024)))})
}

// add moves pid (and so everything it starts) into the cgroup.
func (g *cgroup) add(pid int) error {
	for _, dir := range g.dirs {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// ooms counts the processes the kernel killed in the cgroup for memory.
func (g *cgroup) ooms() int {
	var path string
	if g.version == 2 {
		path = filepath.Join(g.dirs[""], "memory.events")
	} else {
		path = filepath.Join(g.dirs["memory"], "memory.oom_control")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// remove deletes the cgroup; its processes are gone, but the kernel may
// take a moment to agree.
func (g *cgroup) remove() {
	for _, dir := range g.dirs {
		for i := 0; i < 50; i++ {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) || !errors.Is(err, syscall.EBUSY) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// close removes this zone's folders (their runs are gone).
func (cg *cgroups) close() {
	for _, p := range cg.parents {
		os.Remove(p)
	}
}

func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readWords(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}
