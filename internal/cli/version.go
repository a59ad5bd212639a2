package cli

import (
	rdebug "runtime/debug"

	"github.com/openzone/openzone/server"
)

func versionString() string {
	v := server.Version
	if bi, ok := rdebug.ReadBuildInfo(); ok {
		v += " (" + bi.GoVersion + ")"
	}
	return v
}
