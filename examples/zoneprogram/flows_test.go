package main

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/internal/wecomflows"
)

// TestFlows holds the Go example to the flows every port of WeCom's sample
// passes (internal/wecomflows), the Python, Java and C++ ones included.
func TestFlows(t *testing.T) {
	bin := testenv.Example(t)
	wecomflows.Run(t, wecomflows.Program{
		Deploy: func(name string) []string { return []string{bin, "--name", name} },
		Local: func(port int, name string) *exec.Cmd {
			return exec.Command(bin, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", name)
		},
	})
}
