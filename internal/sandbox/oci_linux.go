package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openzone/openzone"
	"golang.org/x/sys/unix"
)

// imageRun is how a sandbox's init runs an image.
type imageRun struct {
	Rootfs  string `json:"rootfs"`   // host path of the unpacked image
	SDK     string `json:"sdk"`      // host path of the drop-in SDK folder
	SDKPath string `json:"sdk_path"` // where the image loads the SDK from
	Runtime string `json:"runtime"`  // host path of crun or runc
	Name    string `json:"name"`     // the container's name
}

// Paths of an image's pieces inside the init's view (under its private /run).
const (
	ociBase   = "/run/openzone"
	ociLayer  = ociBase + "/layer" // tmpfs: the image's writable layer
	ociRootfs = ociBase + "/rootfs"
	ociSDK    = ociBase + "/sdk"
	ociBundle = ociBase + "/bundle"
	ociState  = ociBase + "/oci"
	ociHosts  = ociBase + "/hosts"
	ociWatch  = ociBase + "/connect-watch.sock" // the profile's listenerPath
)

// Image unpacks the image tarball at path (once per content) and returns
// its digest for Spec.Image. Errors name the file and what is wrong with
// it.
func (m *Manager) Image(path string) (string, error) {
	m.imageMu.Lock()
	defer m.imageMu.Unlock()
	fi, err := os.Stat(path)
	if err != nil {
		return "", imageError(path, err)
	}
	// A file seen before, unchanged, is not read again.
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	if d, ok := m.images[key]; ok && isDir(m.stateDir("images", d, "rootfs")) {
		return d, nil
	}
	owner := -1
	if m.euid == 0 {
		owner = m.cfg.HostUID // the image's root is the sandbox's uid 1000
	}
	d, err := unpackImage(path, m.stateDir("images"), owner)
	if err == nil {
		m.images[key] = d
	}
	return d, err
}

// sdk writes the drop-in SDK once per zone run, where images get it.
func (m *Manager) sdk() (string, error) {
	m.sdkOnce.Do(func() {
		dir := m.stateDir("sdk")
		os.RemoveAll(dir)
		if m.sdkErr = os.MkdirAll(dir, 0o755); m.sdkErr != nil {
			return
		}
		if m.cfg.SDKFunc != nil {
			m.sdkErr = m.cfg.SDKFunc(dir)
		}
		m.sdkDir = dir
	})
	return m.sdkDir, m.sdkErr
}

func (m *Manager) imageRun(req Request) (*imageRun, error) {
	rootfs := m.stateDir("images", req.Spec.Image, "rootfs")
	if !isDir(rootfs) {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "deploy.image of %s: image %s is not unpacked (deploy it again)", req.ProgramID, req.Spec.Image)
	}
	sdk, err := m.sdk()
	if err != nil {
		return nil, fmt.Errorf("drop-in SDK: %w", err)
	}
	sdkPath := req.Spec.SDKPath
	if sdkPath == "" {
		sdkPath = DefaultSDKPath
	}
	return &imageRun{Rootfs: rootfs, SDK: sdk, SDKPath: sdkPath, Runtime: m.runtime, Name: hostname(req.Instance)}, nil
}

// findRuntime looks for an OCI runtime, crun first (it starts faster and
// runs rootless inside a user namespace without help).
func findRuntime() (path, name string) {
	for _, n := range []string{"crun", "runc"} {
		p, err := exec.LookPath(n)
		if err != nil {
			continue
		}
		out, _ := exec.Command(p, "--version").Output()
		v := n
		if f := strings.Fields(firstLine(string(out))); len(f) >= 3 {
			v = n + " " + f[2]
		}
		return p, v
	}
	return "", ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// setupImage mounts, before the pivot, what the OCI runtime needs: the
// image under a writable layer that dies with the sandbox, and the SDK.
func (s *initState) setupImage(root string) error {
	img := s.cfg.Image
	at := func(p string) string { return filepath.Join(root, p) }
	for _, d := range []string{ociLayer, ociRootfs, ociSDK, ociBundle, ociState} {
		if err := os.MkdirAll(at(d), 0o755); err != nil {
			return err
		}
	}
	if err := tmpfs(at(ociLayer), "mode=0755,size="+strconv.Itoa(max(s.cfg.TmpMB, 16))+"m"); err != nil {
		return fmt.Errorf("writable layer: %w", err)
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(filepath.Join(at(ociLayer), d), 0o755); err != nil {
			return err
		}
	}
	// The top of the upper layer is the root folder of the container: its
	// root (the sandbox's uid) must own it, as it owns the image's files.
	if err := os.Chown(filepath.Join(at(ociLayer), "upper"), s.cfg.UID, s.cfg.GID); err != nil {
		return err
	}
	opts := "lowerdir=" + img.Rootfs + ",upperdir=" + at(ociLayer+"/upper") + ",workdir=" + at(ociLayer+"/work")
	// A user namespace's overlay keeps its metadata in user.* xattrs.
	err := unix.Mount("overlay", at(ociRootfs), "overlay", 0, opts+",userxattr")
	if errors.Is(err, unix.EINVAL) {
		err = unix.Mount("overlay", at(ociRootfs), "overlay", 0, opts)
	}
	if err != nil {
		return fmt.Errorf("overlay on %s: %w", img.Rootfs, err)
	}
	if img.SDK != "" {
		if err := unix.Mount(img.SDK, at(ociSDK), "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("SDK: %w", err)
		}
		if err := harden(at(ociSDK), false); err != nil {
			return err
		}
	}
	return os.WriteFile(at(ociHosts), hostsFile(s.cfg.Hostname), 0o644)
}

// startImage writes the OCI bundle and starts the runtime in the
// foreground: its exit is the program's.
func (s *initState) startImage(files []*os.File) (int, error) {
	img := s.cfg.Image
	spec := ociSpec(s.cfg)
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(ociBundle, "config.json"), b, 0o644); err != nil {
		return 0, err
	}
	argv := []string{filepath.Base(img.Runtime), "--root", ociState}
	if strings.HasPrefix(filepath.Base(img.Runtime), "crun") {
		// The init already put the sandbox in its cgroup.
		argv = append(argv, "--cgroup-manager=disabled")
	}
	argv = append(argv, "run", "--bundle", ociBundle, "--no-new-keyring", img.Name)
	if spec["linux"].(map[string]any)["seccomp"] != nil {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: ociWatch, Net: "unix"})
		if err != nil {
			return 0, fmt.Errorf("connect watch: %w", err)
		}
		go s.receiveWatch(ln)
	}
	p, err := os.StartProcess(img.Runtime, argv, &os.ProcAttr{Dir: "/", Env: initEnv(), Files: files, Sys: ownGroup()})
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", img.Runtime, err)
	}
	return p.Pid, nil
}

// ociSpec is the container's configuration: the image's root under a
// writable layer, its own user namespace (its root is the sandbox's uid
// 1000), the sandbox's network (loopback only), /mnt/data, the SDK at the
// image's SDK path, and nothing to gain privileges with.
func ociSpec(c *initConfig) map[string]any {
	img := c.Image
	tmp := strconv.Itoa(max(c.TmpMB, 1)) + "m"
	ro := []string{"rbind", "ro", "nosuid", "nodev"}
	mounts := []map[string]any{
		{"destination": "/proc", "type": "proc", "source": "proc", "options": []string{"nosuid", "noexec", "nodev"}},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{"destination": "/sys", "type": "bind", "source": "/sys", "options": []string{"rbind", "ro", "nosuid", "noexec", "nodev"}},
		{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "nodev", "mode=1777", "size=" + tmp}},
		{"destination": DataPath, "type": "bind", "source": DataPath, "options": []string{"rbind", "rw", "nosuid", "nodev"}},
		{"destination": "/etc/resolv.conf", "type": "bind", "source": ociBase + "/resolv.conf", "options": ro},
		{"destination": "/etc/hosts", "type": "bind", "source": ociHosts, "options": ro},
	}
	if img.SDK != "" {
		mounts = append(mounts, map[string]any{"destination": img.SDKPath, "type": "bind", "source": ociSDK, "options": ro})
	}
	id := []map[string]int{{"containerID": 0, "hostID": c.UID, "size": 1}}
	gid := []map[string]int{{"containerID": 0, "hostID": c.GID, "size": 1}}
	none := []string{}
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal":        false,
			"user":            map[string]int{"uid": 0, "gid": 0},
			"args":            append([]string{c.Path}, c.Args[min(1, len(c.Args)):]...),
			"env":             c.Env,
			"cwd":             "/",
			"noNewPrivileges": true,
			"oomScoreAdj":     1000,
			"capabilities":    map[string][]string{"bounding": none, "effective": none, "permitted": none, "inheritable": none, "ambient": none},
		},
		"root":     map[string]any{"path": ociRootfs, "readonly": false},
		"hostname": c.Hostname,
		"mounts":   mounts,
		"linux": map[string]any{
			// No network namespace: the container stays in the sandbox's.
			"namespaces":  []map[string]string{{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "user"}},
			"uidMappings": id,
			"gidMappings": gid,
			"maskedPaths": []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
				"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"},
			"readonlyPaths": []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	if p := watchProfile(); p != nil {
		spec["linux"].(map[string]any)["seccomp"] = p
	}
	return spec
}

// watchProfile is the seccomp profile that hands the program's connect
// calls to the init (as the exec stage does for a command): the runtime
// sends the notification descriptor to listenerPath. Nil where the kernel
// has no user notification: destinations are refused all the same.
func watchProfile() map[string]any {
	if !notifyAvailable() {
		return nil
	}
	return map[string]any{
		"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": []string{scmpArch()},
		"listenerPath":  ociWatch,
		"syscalls":      []map[string]any{{"names": []string{"connect"}, "action": "SCMP_ACT_NOTIFY"}},
	}
}
