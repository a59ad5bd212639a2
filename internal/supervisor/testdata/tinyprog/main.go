// Command tinyprog is the test program of package runtime: a minimal
// "deployed program" that listens on $PORT and reports what it was given.
//
//	GET /       JSON: program id, pid, zone env, child pid
//	GET /crash  exits with status 3
//	GET /long?n=N            writes one stdout line of N bytes
//	GET /spam?lines=N&size=S writes N stdout lines of S bytes
//	GET /alloc?mb=N          takes N MB of memory and keeps it
//
// Environment switches: TINYPROG_NO_LISTEN=1 (never listen),
// TINYPROG_IGNORE_TERM=1 (ignore SIGTERM), TINYPROG_SPAWN=1 (start a
// sleeping child in the same process group), TINYPROG_BINDFAIL_MARK=FILE
// (the first run, while FILE does not exist, fails like a lost bind race).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sleeper" {
		time.Sleep(time.Hour)
		return
	}
	pid := os.Getpid()
	fmt.Printf("tinyprog stdout hello pid=%d\n", pid)
	fmt.Fprintf(os.Stderr, "tinyprog stderr hello pid=%d\n", pid)

	if os.Getenv("TINYPROG_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if mark := os.Getenv("TINYPROG_BINDFAIL_MARK"); mark != "" {
		if _, err := os.Stat(mark); err != nil {
			os.WriteFile(mark, []byte("x"), 0o644)
			fmt.Fprintf(os.Stderr, "listen tcp 127.0.0.1:%s: bind: address already in use\n", os.Getenv("PORT"))
			os.Exit(1)
		}
	}
	childPID := 0
	if os.Getenv("TINYPROG_SPAWN") == "1" {
		self, _ := os.Executable()
		c := exec.Command(self, "sleeper")
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			os.Exit(1)
		}
		childPID = c.Process.Pid
	}
	if os.Getenv("TINYPROG_NO_LISTEN") == "1" {
		time.Sleep(time.Hour)
		return
	}

	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		cwd, _ := os.Getwd()
		_, adminSet := os.LookupEnv("OPENZONE_ADMIN_TOKEN")
		json.NewEncoder(w).Encode(map[string]any{
			"program_id":  os.Getenv("OPENZONE_PROGRAM_ID"),
			"pid":         pid,
			"child_pid":   childPID,
			"api":         os.Getenv("OPENZONE_API"),
			"secret":      os.Getenv("OPENZONE_SECRET"),
			"port":        os.Getenv("PORT"),
			"extra":       os.Getenv("TINY_EXTRA"),
			"admin_token": adminSet,
			"cwd":         cwd,
		})
	})
	mux.HandleFunc("GET /crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("tinyprog crashing")
		os.Exit(3)
	})
	mux.HandleFunc("GET /long", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		fmt.Println(strings.Repeat("x", n))
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /spam", func(w http.ResponseWriter, r *http.Request) {
		lines, _ := strconv.Atoi(r.URL.Query().Get("lines"))
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		line := strings.Repeat("s", size)
		for i := range lines {
			fmt.Printf("%d %s\n", i, line)
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		for range mb {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			held = append(held, b)
		}
		fmt.Fprintln(w, "ok")
	})
	http.Serve(ln, mux)
}

var held [][]byte // memory /alloc keeps
