// Command echoserver is the benchmark's baseline program: a plain HTTP
// server doing the example program's echo work with no zone around it. It
// reads {"text":...} from a POST body and answers {"text":...,"served_by":
// <name>} as JSON, with encoding/json like the example program, and prints
// "listening on http://ADDR" once it accepts connections.
//
// Usage:
//
//	echoserver [--addr 127.0.0.1:0] [--name bench]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	name := flag.String("name", "bench", "returned as served_by")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var in struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, "request is not JSON", http.StatusBadRequest)
			return
		}
		out, _ := json.Marshal(struct {
			Text     string `json:"text"`
			ServedBy string `json:"served_by"`
		}{in.Text, *name})
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.Serve(ln))
}
