// Package freeport picks a loopback TCP port for a process that will bind
// it later (a program started with --addr, a receiver URL set in advance).
//
// It picks below the kernel's ephemeral range: a port from that range,
// once released, can be taken at any moment as the local port of some
// outgoing connection or by another bind to port 0, and a test that
// picked it would then fail with "address already in use".
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Get returns a port on 127.0.0.1 that was free a moment ago.
func Get() (int, error) {
	lo := 20000
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				lo = n
			}
		}
	}
	// Below the ephemeral range, above the well-known and registered ports
	// most services use.
	from, to := 10000, lo
	if to-from < 1000 {
		from, to = 1024, lo
	}
	for range 200 {
		p := from + rand.IntN(to-from)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("freeport: no free port in %d–%d", from, to)
}
