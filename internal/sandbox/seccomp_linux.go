package sandbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The sandbox's network already refuses every destination; this watches
// the program's connect(2) calls so that the provider also sees where it
// tried to go. The exec stage installs a seccomp filter that turns connect
// into a user notification and hands the listener to the init, which reads
// the address, records it when it leads out of the sandbox, and lets the
// call go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the kernel then fails it
// as it would have. It only observes, so a program racing it gains
// nothing.

// connectNR is connect(2) on this architecture, and auditArch the
// architecture seccomp reports for it.
var connectNR, auditArch = func() (uint32, uint32) {
	switch goruntime.GOARCH {
	case "amd64":
		return 42, unix.AUDIT_ARCH_X86_64
	case "arm64":
		return 203, unix.AUDIT_ARCH_AARCH64
	}
	return 0, 0
}()

// notifyAvailable reports whether this kernel has seccomp user
// notification (an image's runtime is then asked for the watch too).
func notifyAvailable() bool {
	action := uint32(unix.SECCOMP_RET_USER_NOTIF)
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	return errno == 0 && auditArch != 0
}

// scmpArch names this architecture in an OCI seccomp profile.
func scmpArch() string {
	if goruntime.GOARCH == "arm64" {
		return "SCMP_ARCH_AARCH64"
	}
	return "SCMP_ARCH_X86_64"
}

// receiveWatch accepts the OCI runtime's connection on ln (the profile's
// listenerPath), takes the watch it hands over with the container's
// state, and serves it.
func (s *initState) receiveWatch(ln *net.UnixListener) {
	defer ln.Close()
	ln.SetDeadline(time.Now().Add(readyTimeoutInit))
	c, err := ln.AcceptUnix()
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(readyTimeoutInit))
	// The state (JSON) comes with the descriptor, in one message.
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 1<<16), oob)
	if err != nil {
		return
	}
	files, err := parseRights(oob[:oobn])
	if err != nil || len(files) == 0 {
		closeAll(files)
		return
	}
	fd, err := unix.Dup(int(files[0].Fd()))
	closeAll(files)
	if err == nil {
		s.serveConnects(fd)
	}
}

// readyTimeoutInit bounds how long the init waits for the OCI runtime to
// hand over the watch.
const readyTimeoutInit = 30 * time.Second

// watchConnects installs the connect filter on the calling thread (the one
// that will exec the program; no_new_privs is set) and returns the
// listener's descriptor.
func watchConnects() (int, error) {
	if auditArch == 0 {
		return -1, errors.New("no connect filter for " + goruntime.GOARCH)
	}
	const (
		ldArch = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret    = unix.BPF_RET | unix.BPF_K
	)
	filter := []unix.SockFilter{
		{Code: ldArch, K: 4},                    // seccomp_data.arch
		{Code: jeq, Jt: 0, Jf: 3, K: auditArch}, // another ABI: allow
		{Code: ldArch, K: 0},                    // seccomp_data.nr
		{Code: jeq, Jt: 0, Jf: 1, K: connectNR}, // connect: notify
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return -1, fmt.Errorf("seccomp: %w", errno)
	}
	return int(fd), nil
}

// seccompNotif and seccompNotifResp are struct seccomp_notif and
// seccomp_notif_resp.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	NR    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// serveConnects answers the connect notifications of the program (and
// whatever it starts) until the listener closes (they have all exited).
func (s *initState) serveConnects(fd int) {
	defer unix.Close(fd)
	for {
		var n seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			return
		}
		target := readSockaddr(int(n.PID), n.Args[1], n.Args[2])
		// The address is read; the process may be gone (its id reused).
		id := n.ID
		_, _, invalid := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id)))
		resp := seccompNotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
		if invalid == 0 && target.IsValid() && leavesSandbox(target) {
			s.ctl.send(&message{Op: opBlocked, Attempt: &Attempt{Kind: AttemptConnect, Target: target.String(), Count: 1}})
		}
	}
}

// readSockaddr reads the IPv4 or IPv6 address a process passed to
// connect; anything else (a Unix socket, AF_UNSPEC) is the zero AddrPort.
func readSockaddr(pid int, addr, size uint64) netip.AddrPort {
	if size < 8 || size > 128 {
		return netip.AddrPort{}
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return netip.AddrPort{}
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, int64(addr)); err != nil {
		return netip.AddrPort{}
	}
	port := binary.BigEndian.Uint16(b[2:4])
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		if size >= 24 {
			return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port)
		}
	}
	return netip.AddrPort{}
}

// leavesSandbox reports whether a connection to ap goes anywhere but to the
// sandbox itself: every address but loopback, and a loopback port where
// nothing in the sandbox listens (the host's loopback is not this one).
func leavesSandbox(ap netip.AddrPort) bool {
	if !ap.Addr().IsLoopback() {
		return true
	}
	switch ap.Port() {
	case APIPort, 53:
		return false
	}
	return !listening(ap.Port())
}

// listening reports whether a TCP socket of the sandbox listens on port.
func listening(port uint16) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st …; st 0A is LISTEN.
			if len(fields) > 3 && fields[3] == "0A" && strings.HasSuffix(fields[1], want) {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// sendFD hands fd over the socket c (one byte of data with it).
func sendFD(c *os.File, fd int) error {
	return unix.Sendmsg(int(c.Fd()), []byte{0}, unix.UnixRights(fd), nil, 0)
}

// recvFD receives the descriptor sendFD sent.
func recvFD(c *net.UnixConn) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return -1, err
	}
	files, err := parseRights(oob[:oobn])
	if err != nil || len(files) != 1 {
		closeAll(files)
		return -1, errors.New("no descriptor")
	}
	fd, err := unix.Dup(int(files[0].Fd()))
	files[0].Close()
	return fd, err
}
