package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// argv[0] of the zone's executable started again as a sandbox's init, and
// as the last step before a program (see init in hook_linux.go).
const (
	initArg0 = "openzone-sandbox:init"
	execArg0 = "openzone-sandbox:exec"
)

// initConfig is what the zone tells a sandbox's init to build and run.
type initConfig struct {
	// Probe sets everything up, reports, and exits without a program.
	Probe    bool   `json:"probe,omitempty"`
	Hostname string `json:"hostname"`
	// Root is an empty host directory where the new root is assembled.
	Root string `json:"root"`
	// Hide lists host paths covered by an empty read-only tmpfs (the zone's
	// data directory).
	Hide []string `json:"hide,omitempty"`
	// Expose lists host paths bound read-only at the same place after
	// hiding and the private /tmp: a command under /tmp still runs.
	Expose []string `json:"expose,omitempty"`
	// Data is the host directory bound read-write at /mnt/data.
	Data   string `json:"data,omitempty"`
	DiskMB int    `json:"disk_mb,omitempty"`
	TmpMB  int    `json:"tmp_mb,omitempty"`
	// UID and GID are the program's ids inside the sandbox.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// The program: executable (a host path, or inside an image), argv, env
	// and working directory.
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	// Image, when set, runs the program in an image through an OCI runtime.
	Image *imageRun `json:"image,omitempty"`
}

// initState is a sandbox's init at work.
type initState struct {
	cfg *initConfig
	ctl *ctlConn
	api *os.File // the listening socket of the program API (handed to the zone)

	dnsUDP *net.UDPConn
	dnsTCP *net.TCPListener
}

// initMain is the whole life of a sandbox's init: PID 1 of the sandbox.
func initMain() int {
	ctl, err := fileConn(os.NewFile(3, "control"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "openzone sandbox:", err)
		return 1
	}
	m, _, err := ctl.recv()
	if err != nil || m.Op != opConfig || m.Config == nil {
		fmt.Fprintln(os.Stderr, "openzone sandbox: no configuration from the zone:", err)
		return 1
	}
	s := &initState{cfg: m.Config, ctl: ctl}
	// The zone's stop signals come to the init's process group; PID 1 must
	// not die of one before the program is done, and passes each on (reap).
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	if err := s.setup(); err != nil {
		ctl.send(&message{Op: opFailed, Err: err.Error()})
		return 1
	}
	if s.cfg.Probe {
		ctl.send(&message{Op: opProbed})
		return 0
	}
	if err := ctl.send(&message{Op: opReady}, int(s.api.Fd())); err != nil {
		return 1
	}
	s.api.Close() // the zone holds it now
	go s.serveDNS()
	go s.serveControl()
	if s.cfg.Data != "" && s.cfg.DiskMB > 0 {
		go s.watchQuota()
	}
	pid, err := s.startProgram()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openzone sandbox:", err)
		ctl.send(&message{Op: opExit, Code: 127, Note: err.Error()})
		return 127
	}
	code, sig := s.reap(pid, sigs)
	ctl.send(&message{Op: opExit, Code: code, Signal: sig})
	if sig != 0 {
		return 128 + sig
	}
	return code
}

// setup builds the sandbox: network, filesystem, host name.
func (s *initState) setup() error {
	// Not dumpable: the program, whatever uid it runs as, cannot ptrace
	// or read the memory of its init.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if err := s.setupNetwork(); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := s.setupFS(); err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	if s.cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(s.cfg.Hostname)); err != nil {
			return fmt.Errorf("host name: %w", err)
		}
	}
	return nil
}

// setupNetwork brings up loopback, the only interface, and opens the
// program API's socket and the DNS stub on it.
func (s *initState) setupNetwork() error {
	if err := linkUp("lo"); err != nil {
		return err
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: APIPort})
	if err != nil {
		return fmt.Errorf("program API socket: %w", err)
	}
	if s.api, err = ln.File(); err != nil {
		return err
	}
	ln.Close()
	if s.dnsUDP, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}); err != nil {
		return fmt.Errorf("DNS stub: %w", err)
	}
	if s.dnsTCP, err = net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}); err != nil {
		return fmt.Errorf("DNS stub: %w", err)
	}
	return nil
}

func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	return nil
}

// serveControl answers the zone's requests until the control socket
// closes (the zone is gone: so is the sandbox).
func (s *initState) serveControl() {
	for {
		m, files, err := s.ctl.recv()
		if err != nil {
			os.Exit(1)
		}
		closeAll(files)
		if m.Op == opDial {
			go s.dial(m.ID)
		}
	}
}

// dial connects to the instance's port and hands the connection over.
func (s *initState) dial(id uint64) {
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(AppPort), 5*time.Second)
	if err != nil {
		s.ctl.send(&message{Op: opDialed, ID: id, Err: err.Error()})
		return
	}
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		s.ctl.send(&message{Op: opDialed, ID: id, Err: err.Error()})
		return
	}
	defer f.Close()
	s.ctl.send(&message{Op: opDialed, ID: id}, int(f.Fd()))
}

// serveDNS refuses every lookup, over UDP and TCP, and reports it.
func (s *initState) serveDNS() {
	go func() {
		for {
			c, err := s.dnsTCP.AcceptTCP()
			if err != nil {
				return
			}
			go s.dnsOverTCP(c)
		}
	}()
	buf := make([]byte, 4096)
	for {
		n, from, err := s.dnsUDP.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if reply := s.refuse(buf[:n]); reply != nil {
			s.dnsUDP.WriteToUDP(reply, from)
		}
	}
}

func (s *initState) dnsOverTCP(c *net.TCPConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var lenBuf [2]byte
	for {
		if _, err := readFull(c, lenBuf[:]); err != nil {
			return
		}
		q := make([]byte, int(lenBuf[0])<<8|int(lenBuf[1]))
		if _, err := readFull(c, q); err != nil {
			return
		}
		reply := s.refuse(q)
		if reply == nil {
			return
		}
		out := append([]byte{byte(len(reply) >> 8), byte(len(reply))}, reply...)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *initState) refuse(q []byte) []byte {
	reply, name, qtype, err := refuseDNS(q)
	if err != nil {
		return nil
	}
	s.ctl.send(&message{Op: opBlocked, Attempt: &Attempt{Kind: AttemptDNS, Target: name + " " + qtype, Count: 1}})
	return reply
}

// startProgram starts the program (through the exec stage, or the OCI
// runtime for an image) with the init's stdout and stderr, which the zone
// reads as the instance's log.
func (s *initState) startProgram() (int, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	files := []*os.File{null, os.Stdout, os.Stderr}
	if s.cfg.Image != nil {
		return s.startImage(files)
	}
	// The exec stage hands back a watch on the program's connect calls.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	watch, err := fileConn(os.NewFile(uintptr(fds[0]), "connect-watch"))
	if err != nil {
		unix.Close(fds[1])
		return 0, err
	}
	child := os.NewFile(uintptr(fds[1]), "connect-watch")
	argv := append([]string{execArg0, strconv.Itoa(s.cfg.UID), strconv.Itoa(s.cfg.GID), s.cfg.Path}, s.cfg.Args...)
	p, err := os.StartProcess("/proc/self/exe", argv, &os.ProcAttr{Dir: s.cfg.Dir, Env: s.cfg.Env, Files: append(files, child), Sys: ownGroup()})
	child.Close()
	if err != nil {
		watch.Close()
		return 0, fmt.Errorf("start %s: %w", s.cfg.Path, err)
	}
	go func() {
		defer watch.Close()
		watch.c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if fd, err := recvFD(watch.c); err == nil {
			s.serveConnects(fd)
		}
	}()
	return p.Pid, nil
}

// ownGroup starts the program in a process group of its own: the zone's
// stop signals come to the init alone, which passes each on (reap), also
// one that came before the program started.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// reap waits for the program as PID 1 must: it reaps every orphan too, and
// passes the stop signals the zone sends to the init's process group on to
// the program's group (once the program runs: a signal that came during
// setup waits in sigs). It returns how the program ended.
func (s *initState) reap(pid int, sigs <-chan os.Signal) (code, sig int) {
	for {
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				if ws.Signaled() {
					return -1, int(ws.Signal())
				}
				return ws.ExitStatus(), 0
			}
		}
		if sg := <-sigs; sg != syscall.SIGCHLD {
			// The group, as the zone signals a plain process's; the program
			// alone when it left its group (setsid).
			if unix.Kill(-pid, sg.(syscall.Signal)) != nil {
				unix.Kill(pid, sg.(syscall.Signal))
			}
		}
	}
}

// watchQuota measures /mnt/data every few seconds, reports its size, and
// makes it read-only while it is over the quota.
func (s *initState) watchQuota() {
	limit := float64(s.cfg.DiskMB)
	ro := false
	var last float64 = -1
	for {
		used := dirMB(DataPath)
		over := used > limit
		if over != ro {
			flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV)
			if over {
				flags |= unix.MS_RDONLY
			}
			if unix.Mount("", DataPath, "", flags, "") == nil {
				ro = over
			}
		}
		if used != last || over {
			s.ctl.send(&message{Op: opUsage, UsedMB: used, Over: ro})
			last = used
		}
		time.Sleep(quotaInterval)
	}
}

// quotaInterval is how often /mnt/data is measured.
const quotaInterval = 2 * time.Second

// dirMB returns the disk space taken by the files under dir, in MB.
func dirMB(dir string) float64 {
	var blocks int64
	seen := map[[2]uint64]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil {
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			k := [2]uint64{st.Dev, st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		blocks += st.Blocks
		return nil
	})
	return float64(blocks*512) / (1 << 20)
}
