// Command sbxprog is the program the sandbox tests run: it listens on
// $PORT (8080 in a sandbox) and reports what it can and cannot do.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

var hog [][]byte // kept, so the memory stays in use

func main() {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		cwd, _ := os.Getwd()
		reply(w, map[string]any{"uid": os.Getuid(), "gid": os.Getgid(), "pid": os.Getpid(), "ppid": os.Getppid(),
			"hostname": host, "cwd": cwd, "api": os.Getenv("OPENZONE_API"), "port": os.Getenv("PORT"),
			"instance": os.Getenv("OPENZONE_INSTANCE"), "extra": os.Getenv("SBX_EXTRA")})
	})
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", r.FormValue("addr"), 3*time.Second)
		if err == nil {
			c.Close()
		}
		reply(w, map[string]string{"err": errText(err)})
	})
	mux.HandleFunc("/lookup", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, r.FormValue("name"))
		reply(w, map[string]any{"addrs": addrs, "err": errText(err)})
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(r.FormValue("url"))
		if err != nil {
			reply(w, map[string]any{"err": err.Error()})
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		reply(w, map[string]any{"status": resp.StatusCode, "body": string(b)})
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.FormValue("path"))
		if fi, serr := os.Stat(r.FormValue("path")); serr == nil && fi.IsDir() {
			ents, derr := os.ReadDir(r.FormValue("path"))
			b, err = []byte(fmt.Sprint(len(ents), " entries")), derr
		}
		reply(w, map[string]any{"data": string(b), "err": errText(err)})
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.FormValue("size"))
		data := []byte(r.FormValue("data"))
		if size > 0 {
			data = make([]byte, size)
		}
		err := os.WriteFile(r.FormValue("path"), data, 0o644)
		reply(w, map[string]string{"err": errText(err)})
	})
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.FormValue("mb"))
		for i := 0; i < mb; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			hog = append(hog, b)
		}
		reply(w, map[string]int{"held_mb": len(hog)})
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.FormValue("code"))
		os.Exit(code)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fmt.Println("sbxprog listening on", port)
	if err := http.ListenAndServe(os.Getenv("HOST")+":"+port, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
