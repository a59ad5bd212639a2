package sandbox

import (
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/filename"
)

// Manager starts sandboxes for a zone. Its methods are safe for concurrent
// use.
type Manager struct {
	cfg  Config
	euid int
	egid int
	id   string // names this zone's cgroups and staging folders

	probeOnce sync.Once
	support   Support
	cg        *cgroups
	runtime   string // OCI runtime path
	rtName    string // "crun 1.8.1"

	imageMu sync.Mutex        // one extraction at a time
	images  map[string]string // path, size, mtime → digest
	sdkOnce sync.Once
	sdkDir  string
	sdkErr  error

	attempts attemptSet
	dataMu   sync.Mutex
	dataUsed map[string]float64 // program id → MB, last reported

	closeOnce sync.Once
}

// New returns a Manager; it does no I/O until Probe or Prepare.
func New(cfg Config) *Manager {
	cfg.fill()
	var b [4]byte
	rand.Read(b[:])
	return &Manager{
		cfg:      cfg,
		euid:     os.Geteuid(),
		egid:     os.Getegid(),
		id:       strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]),
		dataUsed: map[string]float64{},
		images:   map[string]string{},
	}
}

// Probe finds out, once, what this host supports: it starts a sandbox
// that sets everything up and exits, looks for cgroup controllers it may
// use, and for an OCI runtime.
func (m *Manager) Probe() Support {
	m.probeOnce.Do(func() {
		m.support = m.probe()
		m.cleanStaging()
	})
	return m.support
}

func (m *Manager) probe() Support {
	s := Support{}
	add := func(name string, ok bool, note string) { s.Checks = append(s.Checks, Check{name, ok, note}) }
	add("kernel", true, kernelRelease())
	if m.euid == 0 {
		s.UID = fmt.Sprintf("the zone runs as root: programs run as host uid %d (uid %d inside)", m.cfg.HostUID, ProgramUID)
	} else {
		s.UID = fmt.Sprintf("rootless: programs run as the zone's uid %d (uid %d inside)", m.euid, ProgramUID)
	}
	if err := m.probeSandbox(); err != nil {
		s.Reason = err.Error()
		add("namespaces (user, mount, pid, net, uts, ipc)", false, err.Error())
	} else {
		s.Sandbox = true
		add("namespaces (user, mount, pid, net, uts, ipc)", true, "a probe sandbox started, set up loopback, the DNS stub and the filesystem, and pivoted")
	}
	m.cg = detectCgroups(m.cfg.CgroupRoot, m.id)
	s.Limits, s.LimitsEnforce = m.cg.describe()
	add("limits (cgroups)", s.LimitsEnforce, s.Limits)
	m.runtime, m.rtName = findRuntime()
	if m.runtime == "" {
		s.Runtime = "no OCI runtime: install crun (apt-get install crun) or runc to run deploy.image"
	} else {
		s.Runtime, s.RuntimeOK = m.rtName, true
	}
	add("OCI runtime for deploy.image", s.RuntimeOK, s.Runtime)
	return s
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "unknown"
	}
	return "Linux " + unix.ByteSliceToString(u.Release[:])
}

// probes caches, per executable, whether a sandbox can be set up here:
// every zone of a process (tests start many) shares one probe.
var probes struct {
	sync.Mutex
	done map[string]error
}

// probeSandbox starts a sandbox that only sets itself up (once per
// executable and process).
func (m *Manager) probeSandbox() error {
	probes.Lock()
	defer probes.Unlock()
	if err, ok := probes.done[m.cfg.Executable]; ok {
		return err
	}
	err := m.runProbe()
	if probes.done == nil {
		probes.done = map[string]error{}
	}
	probes.done[m.cfg.Executable] = err
	return err
}

func (m *Manager) runProbe() error {
	dir, err := os.MkdirTemp("", "openzone-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return err
	}
	ctl, child, err := socketPair()
	if err != nil {
		return err
	}
	defer ctl.Close()
	cmd := &exec.Cmd{Path: m.cfg.Executable, Args: []string{initArg0, "probe"}, Env: initEnv(), ExtraFiles: []*os.File{child}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	m.initAttr(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		child.Close()
		return fmt.Errorf("cannot create namespaces: %w", explainClone(err))
	}
	child.Close()
	done := make(chan error, 1)
	go func() {
		if err := ctl.send(&message{Op: opConfig, Config: &initConfig{Probe: true, Root: root, Hostname: "probe", TmpMB: 1}}); err != nil {
			done <- err
			return
		}
		r, files, err := ctl.recv()
		closeAll(files)
		switch {
		case err != nil:
			done <- fmt.Errorf("the probe sandbox died: %v %s", err, strings.TrimSpace(stderr.String()))
		case r.Op == opFailed:
			done <- errors.New(r.Err)
		default:
			done <- nil
		}
	}()
	var res error
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		res = errors.New("the probe sandbox did not answer in 20 s")
	}
	cmd.Process.Kill()
	cmd.Wait()
	return res
}

// explainClone turns the errors of creating namespaces into advice.
func explainClone(err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w (unprivileged user namespaces are off: sysctl kernel.unprivileged_userns_clone=1, or a container that allows them)", err)
	case errors.Is(err, unix.ENOSPC):
		return fmt.Errorf("%w (user.max_user_namespaces is 0)", err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w (this kernel lacks a namespace the sandbox needs)", err)
	}
	return err
}

// initAttr sets how the init is started: in new namespaces, with its ids
// mapped (docs/decisions.md: "Sandboxes").
func (m *Manager) initAttr(a *syscall.SysProcAttr) {
	a.Cloneflags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC
	if m.euid == 0 {
		// The init is root of the namespace as the zone is root of the
		// host, so it can reach what it mounts; the program runs as uid
		// 1000, a host uid no one else has.
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: ProgramUID, HostID: m.cfg.HostUID, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: ProgramUID, HostID: m.cfg.HostUID, Size: 1}}
		a.GidMappingsEnableSetgroups = true
		a.Credential = &syscall.Credential{Uid: 0, Gid: 0}
		return
	}
	// Rootless: only the zone's own ids can be mapped. Init and program
	// both are uid 1000; the init holds capabilities (ambient, inside the
	// namespace only) that the exec stage drops.
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: ProgramUID, HostID: m.euid, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: ProgramUID, HostID: m.egid, Size: 1}}
	a.Credential = &syscall.Credential{Uid: ProgramUID, Gid: ProgramUID, NoSetGroups: true}
	for c := uintptr(0); c <= uintptr(lastCap()); c++ {
		a.AmbientCaps = append(a.AmbientCaps, c)
	}
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// initEnv is the init's own environment; the program's travels in the
// configuration.
func initEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
}

// stateDir is DataDir/sandbox.
func (m *Manager) stateDir(parts ...string) string {
	return filepath.Join(append([]string{m.cfg.DataDir, "sandbox"}, parts...)...)
}

// stagingRoot makes an empty folder for a sandbox's new root.
func (m *Manager) stagingRoot(name string) (string, error) {
	var b [4]byte
	rand.Read(b[:])
	dir := m.stateDir("run", filename.Safe(name)+"-"+hex.EncodeToString(b[:]))
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("sandbox staging folder: %w", err)
	}
	return root, nil
}

// DataDir returns the host folder behind a program's /mnt/data.
func (m *Manager) DataDir(programID string) string {
	return m.stateDir("programs", filename.Safe(programID), "data")
}

// dataDir makes the program's data folder, owned by the uid its programs
// run as (nothing else may enter it).
func (m *Manager) dataDir(programID string) (string, error) {
	dir := m.DataDir(programID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("%s of %s: %w", DataPath, programID, err)
	}
	if m.euid == 0 {
		if err := os.Chown(dir, m.cfg.HostUID, m.cfg.HostUID); err != nil {
			return "", fmt.Errorf("%s of %s: %w", DataPath, programID, err)
		}
	}
	return dir, nil
}

// Status describes the sandbox of an instance (nil when none ran).
func (m *Manager) Status(programID, instance string, spec Spec) *Status {
	sup := m.Probe()
	l := WithDefaults(spec.Limits)
	st := &Status{
		Isolation: fmt.Sprintf("user, mount, pid, net, uts and ipc namespaces; uid %d without capabilities; loopback only, the program API at %s", ProgramUID, APIURL),
		Limits:    l,
		Enforced:  sup.Limits,
	}
	if spec.Image != "" {
		st.Image = spec.Image
		st.Runtime = m.rtName
	}
	st.Blocked, st.Attempts = m.attempts.get(instance).snapshot()
	m.dataMu.Lock()
	st.DataUsedMB = m.dataUsed[programID]
	m.dataMu.Unlock()
	return st
}

// Close removes what the Manager left on the host (its cgroups, staging
// folders). Sandboxes must be gone first.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		if m.cg != nil {
			m.cg.close()
		}
	})
}

// APIURL is OPENZONE_API inside a sandbox.
var APIURL = "http://127.0.0.1:" + strconv.Itoa(APIPort)

// Prepare readies one run of an instance: it checks the host, makes the
// program's data folder and a staging root, and opens the instance's
// host-side endpoint. The runtime then starts the init with Command and
// calls Start with its pid.
func (m *Manager) Prepare(req Request) (*Run, error) {
	sup := m.Probe()
	if !sup.Sandbox {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "isolation is on but this host cannot sandbox: %s", sup.Reason)
	}
	if req.Spec.Image != "" && m.runtime == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "deploy.image needs an OCI runtime: %s", sup.Runtime)
	}
	data, err := m.dataDir(req.ProgramID)
	if err != nil {
		return nil, err
	}
	root, err := m.stagingRoot(req.Instance)
	if err != nil {
		return nil, err
	}
	l := WithDefaults(req.Spec.Limits)
	cfg := &initConfig{
		Hostname: hostname(req.Instance),
		Root:     root,
		Hide:     []string{m.cfg.DataDir},
		Data:     data,
		DiskMB:   l.DiskMB,
		TmpMB:    min(l.MemoryMB/4, 256),
		UID:      ProgramUID,
		GID:      ProgramUID,
		Path:     req.Path,
		Args:     req.Args,
		Env:      req.Env,
		Dir:      DataPath,
	}
	if req.Spec.Image == "" {
		cfg.Expose = m.exposed(req)
		if req.Dir != "" && !within(req.Dir, m.cfg.DataDir) {
			cfg.Dir = req.Dir
		}
	} else {
		img, err := m.imageRun(req)
		if err != nil {
			os.RemoveAll(filepath.Dir(root))
			return nil, err
		}
		cfg.Image = img
		cfg.Dir = "/"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.cfg.Host, "0"))
	if err != nil {
		os.RemoveAll(filepath.Dir(root))
		return nil, fmt.Errorf("instance endpoint: %w", err)
	}
	ctl, child, err := socketPair()
	if err != nil {
		ln.Close()
		os.RemoveAll(filepath.Dir(root))
		return nil, err
	}
	r := &Run{
		m:        m,
		req:      req,
		cfg:      cfg,
		limits:   l,
		ctl:      ctl,
		child:    child,
		endpoint: ln,
		url:      "http://" + ln.Addr().String(),
		attempts: m.attempts.get(req.Instance),
		pending:  map[uint64]chan dialResult{},
		ready:    make(chan error, 1),
		done:     make(chan struct{}),
	}
	return r, nil
}

// hostname is a sandbox's host name: the instance name, made valid.
func hostname(instance string) string {
	h := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return '-'
	}, instance)
	return strings.Trim(h[:min(len(h), 63)], "-")
}

// privateDirs are replaced by empty ones in a sandbox.
var privateDirs = []string{"/tmp", "/var/tmp", "/run", "/dev", "/mnt"}

// exposed lists what the command needs from folders the sandbox hides or
// replaces: the folder of its executable and the folders of its run path
// (libraries), the folder of any argument that names an existing absolute
// path (a script, -Djava.library.path=DIR), and its working directory. The
// zone's data directory is never exposed.
func (m *Manager) exposed(req Request) []string {
	var cands []string
	if req.Path != "" {
		cands = append(cands, filepath.Dir(req.Path))
		cands = append(cands, libDirs(req.Path)...)
	}
	for _, a := range pathArgs(req.Args) {
		if fi, err := os.Stat(a); err == nil {
			if fi.IsDir() {
				cands = append(cands, a)
			} else {
				cands = append(cands, filepath.Dir(a))
			}
		}
	}
	if req.Dir != "" {
		cands = append(cands, req.Dir)
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cands {
		c = filepath.Clean(c)
		if seen[c] || !m.exposable(c) {
			continue
		}
		for _, p := range m.hiddenDirs() {
			if within(c, p) && c != p {
				seen[c] = true
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// hiddenDirs are the folders a sandbox does not show as the host has them.
func (m *Manager) hiddenDirs() []string { return append(slices.Clip(privateDirs), m.cfg.DataDir) }

// exposable reports whether a folder a command needs may be bound into
// its sandbox: anything but the zone's data directory itself and the zone's
// state in it (sandbox/, logs/). A folder of programs kept in the data
// directory (the demo's bin/) may.
func (m *Manager) exposable(dir string) bool {
	if !within(dir, m.cfg.DataDir) {
		return true
	}
	rel, err := filepath.Rel(m.cfg.DataDir, dir)
	if err != nil || rel == "." {
		return false
	}
	top, _, _ := strings.Cut(rel, string(filepath.Separator))
	return top != "sandbox" && top != "logs"
}

// pathArgs returns the absolute paths the arguments (after argv[0]) name:
// "/x/start.sh"; the value of "NAME=/x/sdk" (what env(1) takes) and of an
// option ("-Djava.library.path=/x/lib", "--config=/x/c.yaml"); each one
// of a list ("/x/a.jar:/x/b.jar").
func pathArgs(args []string) []string {
	var out []string
	for _, a := range args[min(1, len(args)):] {
		if _, v, ok := strings.Cut(a, "="); ok && !filepath.IsAbs(a) {
			a = v
		}
		for _, p := range filepath.SplitList(a) {
			if filepath.IsAbs(p) {
				out = append(out, filepath.Clean(p))
			}
		}
	}
	return out
}

// libDirs returns the folders of an ELF executable's run path (DT_RUNPATH
// or DT_RPATH, $ORIGIN made the executable's folder) that hold a library
// it needs: a program built against an SDK in a folder of its own (g++
// -Wl,-rpath,DIR) loads it from there.
func libDirs(exe string) []string {
	f, err := elf.Open(exe)
	if err != nil {
		return nil // not ELF (a script), or unreadable: nothing to add
	}
	defer f.Close()
	needed, _ := f.ImportedLibraries()
	origin := strings.NewReplacer("${ORIGIN}", filepath.Dir(exe), "$ORIGIN", filepath.Dir(exe))
	var out []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for _, d := range filepath.SplitList(origin.Replace(v)) {
				if !filepath.IsAbs(d) {
					continue
				}
				d = filepath.Clean(d)
				if slices.ContainsFunc(needed, func(lib string) bool { return isFile(filepath.Join(d, lib)) }) && !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// CheckCommand reports, before a deploy, whether a sandboxed program could
// run the command: a zone running as root runs programs as HostUID, which
// must be able to reach the executable and the files its arguments name.
// The error names the path and says what to do.
func (m *Manager) CheckCommand(command []string) error {
	if m.euid != 0 || len(command) == 0 {
		return nil
	}
	exe := command[0]
	if !strings.ContainsRune(exe, '/') {
		p, err := exec.LookPath(exe)
		if err != nil {
			return nil // the runtime says it is not found
		}
		exe = p
	}
	paths := append(append([]string{exe}, pathArgs(command)...), libDirs(exe)...)
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		// A path the sandbox binds (under a folder it replaces) hangs from
		// folders of the sandbox's own: only the bound folder and below count.
		top := "/"
		for _, d := range m.hiddenDirs() {
			if within(p, d) && p != d {
				if top = filepath.Dir(p); fi.IsDir() {
					top = p
				}
			}
		}
		if bad := unreachable(p, top, i == 0); bad != "" {
			return openzone.Errorf(openzone.ErrInvalidParam, "deploy.command: a sandboxed program runs as host uid %d, which cannot reach %s (%s): make it readable by others (chmod o+rx on it and each folder above), or set deploy.isolation: off", m.cfg.HostUID, p, bad)
		}
	}
	return nil
}

// unreachable returns which folder (up to top) or permission keeps an
// unprivileged user (not the owner, not in the group) from path, or "".
func unreachable(path, top string, exe bool) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	need := fs.FileMode(0o004)
	if exe || fi.IsDir() {
		need = 0o005
	}
	if fi.Mode().Perm()&need != need {
		return fmt.Sprintf("%s is mode %04o", path, fi.Mode().Perm())
	}
	if path == top {
		return ""
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Sprintf("folder %s is mode %04o", dir, fi.Mode().Perm())
		}
		if dir == top || dir == "/" || dir == "." {
			return ""
		}
	}
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// cleanStaging removes staging folders left by an earlier run of the zone
// (a crash leaves them; they hold no data).
func (m *Manager) cleanStaging() {
	dir := m.stateDir("run")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// removeAll removes a staging folder once its sandbox is gone.
func removeStaging(root string) {
	dir := filepath.Dir(root)
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A mount left behind cannot be (the sandbox's mounts die with
		// its namespace); retry once, later.
		time.AfterFunc(time.Second, func() { os.RemoveAll(dir) })
	}
}

// setDataUsed records a program's /mnt/data usage.
func (m *Manager) setDataUsed(programID string, mb float64) {
	m.dataMu.Lock()
	m.dataUsed[programID] = mb
	m.dataMu.Unlock()
}
