package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The control socket joins the zone and a sandbox's init: a SOCK_SEQPACKET
// Unix socket pair, one JSON message per packet, with file descriptors
// (the program API's listening socket, connections to the instance) passed
// alongside as SCM_RIGHTS.

// Operations of control messages.
const (
	opConfig  = "config"  // zone → init: set up and start (Config)
	opReady   = "ready"   // init → zone: set up; carries the API listener
	opFailed  = "failed"  // init → zone: setup failed (Err)
	opDial    = "dial"    // zone → init: connect to the instance (ID)
	opDialed  = "dialed"  // init → zone: the connection (ID; Err, or one fd)
	opBlocked = "blocked" // init → zone: a refused attempt (Attempt)
	opUsage   = "usage"   // init → zone: /mnt/data usage (UsedMB, Over)
	opExit    = "exit"    // init → zone: the program exited (Status)
	opProbed  = "probed"  // init → zone: probe run done (Checks)
)

// maxMessage bounds one control message (the config is the largest).
const maxMessage = 1 << 20

type message struct {
	Op      string      `json:"op"`
	ID      uint64      `json:"id,omitempty"`
	Err     string      `json:"err,omitempty"`
	Config  *initConfig `json:"config,omitempty"`
	Attempt *Attempt    `json:"attempt,omitempty"`
	UsedMB  float64     `json:"used_mb,omitempty"`
	Over    bool        `json:"over,omitempty"`
	// Exit of the program: Code >= 0 for an exit status, else Signal.
	Code   int    `json:"code"`
	Signal int    `json:"signal,omitempty"`
	Note   string `json:"note,omitempty"`
}

type ctlConn struct{ c *net.UnixConn }

// socketPair returns the zone's end and the init's end of a new control
// socket.
func socketPair() (*ctlConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	zone, err := fileConn(os.NewFile(uintptr(fds[0]), "sandbox-control"))
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return zone, os.NewFile(uintptr(fds[1]), "sandbox-control"), nil
}

// fileConn makes a control connection of f (which it closes: the
// connection holds a duplicate).
func fileConn(f *os.File) (*ctlConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("control socket: %T is not a Unix socket", c)
	}
	return &ctlConn{uc}, nil
}

func (c *ctlConn) send(m *message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.c.WriteMsgUnix(b, oob, nil)
	return err
}

// recv reads one message and the descriptors that came with it, as files.
func (c *ctlConn) recv() (*message, []*os.File, error) {
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, err
	}
	files, ferr := parseRights(oob[:oobn])
	if n == 0 && oobn == 0 {
		return nil, nil, net.ErrClosed // the peer closed: SEQPACKET reads 0
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeAll(files)
		return nil, nil, fmt.Errorf("control message truncated")
	}
	if ferr != nil {
		return nil, nil, ferr
	}
	var m message
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeAll(files)
		return nil, nil, fmt.Errorf("control message: %w", err)
	}
	return &m, files, nil
}

func (c *ctlConn) Close() error { return c.c.Close() }

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "sandbox-fd"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
