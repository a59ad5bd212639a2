// Package python holds OpenZone's Python SDK, the drop-in `wwspecapisdk`
// module for programs written against WeCom's Python SDK (专区SDK), so that
// `openzone sdk export --lang python` can write it out of the binary. The
// module itself is the Python package in the wwspecapisdk folder beside this
// file; see its README.
package python

import "embed"

// Files is the wwspecapisdk package: wwspecapisdk/*.py and its README.
//
//go:embed wwspecapisdk/*.py wwspecapisdk/README.md
var Files embed.FS

// Package is the folder name of the package inside Files, and the name
// programs import.
const Package = "wwspecapisdk"
