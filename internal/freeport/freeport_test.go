package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestGet(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if p < 1024 || p >= 32768 {
			t.Fatalf("port %d outside 1024–32767 (the default ephemeral range starts at 32768)", p)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		ln.Close()
		seen[p] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct ports in 20 picks", len(seen))
	}
}
