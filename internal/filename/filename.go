// Package filename makes ids (program ids, instance names) safe as one
// element of a path in the zone's data directory: logs/<id>.log,
// sandbox/programs/<id>/data.
package filename

import "strings"

// Safe returns id with every byte but ASCII letters, digits, '-', '_' and
// '.' replaced by '_'; "", "." and ".." become underscores too, so the
// result is never empty and never climbs.
func Safe(id string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, id)
	if s == "" || s == "." || s == ".." {
		s = strings.Repeat("_", len(s)+1)
	}
	return s
}
