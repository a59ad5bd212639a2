package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// devices are the device files a sandbox gets, bound from the host's (a
// user namespace may not create device files).
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// setupFS assembles the sandbox's filesystem at cfg.Root and pivots into
// it: the host's files read-only (no setuid, no device files), the zone's
// data directory hidden, private /tmp, /var/tmp, /run and /dev, a fresh
// /proc for the sandbox's PID namespace, the program's data at /mnt/data,
// a resolv.conf naming the DNS stub, and for an image its root filesystem
// and the SDK. The staging paths are host paths until the pivot.
func (s *initState) setupFS() error {
	c := s.cfg
	root := c.Root
	// Nothing mounted from here on may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("/", root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind the host's root: %w", err)
	}
	if err := harden(root, true); err != nil {
		return fmt.Errorf("make the host's files read-only: %w", err)
	}
	tmpSize := "size=" + strconv.Itoa(max(c.TmpMB, 1)) + "m"
	for _, p := range []struct{ path, opts string }{
		{"/tmp", "mode=1777," + tmpSize},
		{"/var/tmp", "mode=1777," + tmpSize},
		{"/run", "mode=0755,size=16m"},
	} {
		if t := filepath.Join(root, p.path); isDir(t) {
			if err := tmpfs(t, p.opts); err != nil {
				return fmt.Errorf("private %s: %w", p.path, err)
			}
		}
	}
	var scratch []string // tmpfs made read-only once everything is mounted on them
	for _, h := range c.Hide {
		t := filepath.Join(root, h)
		if !isDir(t) {
			continue // under a private folder: hidden already
		}
		if err := tmpfs(t, "mode=0755,size=1m"); err != nil {
			return fmt.Errorf("hide %s: %w", h, err)
		}
		scratch = append(scratch, t)
	}
	if err := setupDev(root); err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("/proc: %w", err)
	}
	// A sysfs of the sandbox's own network namespace; the host's, read-only,
	// where the kernel refuses it.
	if err := unix.Mount("sysfs", filepath.Join(root, "sys"), "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err == nil {
		// An empty, read-only /sys/fs/cgroup, as in a container without
		// cgroup access (an OCI runtime looks for one): the host's cgroup
		// tree stays out of sight.
		if err := unix.Mount("tmpfs", filepath.Join(root, "sys/fs/cgroup"), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=4k"); err != nil {
			return fmt.Errorf("/sys/fs/cgroup: %w", err)
		}
	} else if !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("/sys: %w", err)
	}
	if err := s.setupData(root); err != nil {
		return fmt.Errorf("%s: %w", DataPath, err)
	}
	if err := writeResolvConf(root); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	if err := writeHosts(root, c.Hostname); err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	for _, p := range c.Expose {
		if err := expose(root, p); err != nil {
			return fmt.Errorf("expose %s: %w", p, err)
		}
	}
	if c.Image != nil {
		if err := s.setupImage(root); err != nil {
			return fmt.Errorf("image: %w", err)
		}
	}
	for _, t := range scratch {
		if err := harden(t, false); err != nil {
			return fmt.Errorf("make %s read-only: %w", t, err)
		}
	}
	return pivot(root)
}

// harden makes the mount at path read-only, without setuid or device files
// (recursively: every mount below it too).
func harden(path string, recursive bool) error {
	var flags uint
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	return unix.MountSetattr(unix.AT_FDCWD, path, flags, &unix.MountAttr{
		Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
	})
}

func tmpfs(path, opts string) error {
	return unix.Mount("tmpfs", path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// setupDev gives the sandbox a /dev of its own: a few device files bound
// from the host's, the usual symlinks, and a private /dev/shm.
func setupDev(root string) error {
	dev := filepath.Join(root, "dev")
	if err := tmpfs(dev, "mode=0755,size=1m"); err != nil {
		return err
	}
	for _, d := range devices {
		t := filepath.Join(dev, d)
		if err := os.WriteFile(t, nil, 0o666); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		if err := unix.Mount("/dev/"+d, t, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o755); err != nil {
		return err
	}
	return tmpfs(shm, "mode=1777,size=64m")
}

// setupData binds the program's data directory at /mnt/data, on a /mnt of
// the sandbox's own.
func (s *initState) setupData(root string) error {
	mnt := filepath.Join(root, "mnt")
	if !isDir(mnt) {
		// A host without /mnt: the read-only root cannot get one, so
		// /mnt/data goes on a tmpfs under /run (documented limitation).
		return errors.New("the host has no /mnt directory to mount on")
	}
	if err := tmpfs(mnt, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("/mnt: %w", err)
	}
	t := filepath.Join(mnt, "data")
	if err := os.Mkdir(t, 0o755); err != nil {
		return err
	}
	if s.cfg.Data != "" {
		if err := unix.Mount(s.cfg.Data, t, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", s.cfg.Data, err)
		}
		if err := unix.MountSetattr(unix.AT_FDCWD, t, 0, &unix.MountAttr{
			Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		}); err != nil {
			return fmt.Errorf("nosuid: %w", err)
		}
	}
	return harden(mnt, false)
}

// resolvConf sends every lookup to the DNS stub, once, with no search
// domains: a refused name fails at once.
const resolvConf = "# OpenZone sandbox: no route out; lookups are refused and shown to the provider.\nnameserver 127.0.0.1\noptions attempts:1 timeout:1\n"

// writeResolvConf writes resolvConf under the private /run (an image
// binds it) and puts it where the host's /etc/resolv.conf is (a file, or a
// symlink into /run).
func writeResolvConf(root string) error {
	src := filepath.Join(root, ociBase, "resolv.conf")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(src, []byte(resolvConf), 0o644); err != nil {
		return err
	}
	etc := filepath.Join(root, "etc", "resolv.conf")
	fi, err := os.Lstat(etc)
	if err != nil {
		return nil // no resolver configured: lookups fail anyway
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(etc)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join("/etc", target)
		}
		t := filepath.Join(root, filepath.Clean(target))
		if strings.HasPrefix(filepath.Clean(target), "/run/") {
			if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
				return err
			}
			return os.WriteFile(t, []byte(resolvConf), 0o644)
		}
		etc = t
	}
	if err := unix.Mount(src, etc, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind over %s: %w", etc, err)
	}
	return nil
}

// hostsFile names the sandbox itself, so that a program looking up its
// own host name (Python's http.server does) finds it without DNS.
func hostsFile(hostname string) []byte {
	return []byte("127.0.0.1\tlocalhost\n127.0.1.1\t" + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n")
}

// writeHosts binds the sandbox's hosts file over /etc/hosts.
func writeHosts(root, hostname string) error {
	etc := filepath.Join(root, "etc", "hosts")
	if fi, err := os.Lstat(etc); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	src := filepath.Join(root, ociHosts)
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(src, hostsFile(hostname), 0o644); err != nil {
		return err
	}
	if err := unix.Mount(src, etc, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind over %s: %w", etc, err)
	}
	return nil
}

// expose binds the host path p read-only at the same place in the
// sandbox, making its mount point in the tmpfs that hid it.
func expose(root, p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	t := filepath.Join(root, p)
	if fi.IsDir() {
		err = os.MkdirAll(t, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(t), 0o755); err == nil {
		if _, serr := os.Stat(t); serr != nil {
			err = os.WriteFile(t, nil, 0o644)
		}
	}
	if err != nil {
		return err
	}
	if err := unix.Mount(p, t, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return harden(t, true)
}

// pivot makes root the sandbox's root and lets go of the host's.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("enter the new root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching it
	// leaves the new one alone (runc does the same).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	return unix.Chdir("/")
}
