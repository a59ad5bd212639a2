// Package fold matches text ignoring ASCII case without allocating: it runs
// on hot paths (every traffic payload, every line a program writes).
package fold

import "strings"

// Contains reports whether s contains word, ignoring ASCII case; word must
// be lower case.
func Contains(s, word string) bool {
	if word == "" {
		return true
	}
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 == word[0] && strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}
