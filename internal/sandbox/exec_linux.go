package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// execMain is the exec stage: started by the init as root of the sandbox
// (or as uid 1000 with ambient capabilities), it gives up everything,
// hands the init a watch on its connect calls (over fd 3), and becomes the
// program. args: uid gid path argv...
func execMain(args []string) int {
	if err := dropPrivileges(args); err != nil {
		fmt.Fprintln(os.Stderr, "openzone sandbox:", err)
		return 126
	}
	if ctl := os.NewFile(3, "connect-watch"); ctl != nil {
		// Without the watch the sandbox still refuses every destination;
		// only the record of attempts is missing.
		if fd, err := watchConnects(); err == nil {
			sendFD(ctl, fd)
			unix.Close(fd)
		}
		ctl.Close()
	}
	err := unix.Exec(args[2], args[3:], os.Environ())
	fmt.Fprintf(os.Stderr, "openzone sandbox: cannot run %s: %v%s\n", args[2], err, execHint(err))
	return 127
}

// dropPrivileges leaves the calling thread (the one that will exec) as
// uid:gid with no capabilities, no way to gain any, and first in line for
// the OOM killer, so that the init outlives a program over its memory limit.
func dropPrivileges(args []string) error {
	if len(args) < 4 {
		return errors.New("exec stage: want uid gid path argv...")
	}
	uid, err1 := strconv.Atoi(args[0])
	gid, err2 := strconv.Atoi(args[1])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("exec stage: %w", err)
	}
	// Capabilities are per thread: the exec must come from this one.
	runtime.LockOSThread()
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0); err != nil {
		return fmt.Errorf("oom_score_adj: %w", err)
	}
	for c := 0; c < 64; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); errors.Is(err, unix.EINVAL) {
			break
		} else if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	// A rootless zone's user namespace forbids setgroups; its groups are
	// the zone user's own, which is what it could do anyway.
	if err := unix.Setgroups(nil); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := unix.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	var none [2]unix.CapUserData
	if err := unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &none[0]); err != nil {
		return fmt.Errorf("drop capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return nil
}

func execHint(err error) string {
	if errors.Is(err, unix.EACCES) {
		return " (the sandbox runs programs as an unprivileged user: the file and every folder above it must be readable and searchable by others)"
	}
	if errors.Is(err, unix.ENOENT) {
		return " (the sandbox hides the zone's data directory and has its own /tmp, /run and /dev: put the program elsewhere)"
	}
	return ""
}
