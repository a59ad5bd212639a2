package sandbox

import "os"

// The zone starts its own executable again as a sandbox's init and as the
// last step before a program; argv[0] says which. Catching it here, before
// main, works for the openzone command and for test binaries alike.
func init() {
	if len(os.Args) == 0 {
		return
	}
	switch os.Args[0] {
	case initArg0:
		os.Exit(initMain())
	case execArg0:
		os.Exit(execMain(os.Args[1:]))
	}
}
