package kbtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean normalizes extracted text: lines trimmed, runs of spaces and tabs
// made one space, blank lines dropped, control characters removed.
func Clean(text string) string {
	var out strings.Builder
	for line := range strings.Lines(text) {
		var b strings.Builder
		space := false
		for _, r := range line {
			switch {
			case r == '\n' || r == '\r':
			case unicode.IsSpace(r):
				space = b.Len() > 0
			case unicode.IsControl(r) || r == utf8.RuneError || r == '\u200b' || r == '\ufeff':
			default:
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteRune(r)
			}
		}
		if b.Len() > 0 {
			if out.Len() > 0 {
				out.WriteByte('\n')
			}
			out.WriteString(b.String())
		}
	}
	return out.String()
}

// sentenceEnd reports whether a sentence ends after r.
func sentenceEnd(r rune) bool {
	switch r {
	case '。', '！', '？', '；', '!', '?', ';', '\n', '…':
		return true
	}
	return false
}

// sentences cuts cleaned text after each sentence end (and after a '.'
// followed by a space), keeping the punctuation; a line break between
// sentences is dropped, a space kept.
func sentences(text string) []string {
	var out []string
	rs := []rune(text)
	start := 0
	for i, r := range rs {
		end := sentenceEnd(r) || r == '.' && (i+1 == len(rs) || rs[i+1] == ' ' || rs[i+1] == '\n')
		if !end {
			continue
		}
		s := strings.TrimSpace(string(rs[start : i+1]))
		if s != "" {
			out = append(out, s)
		}
		start = i + 1
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

// Split cuts cleaned text into fragments of at most ChunkRunes characters
// made of whole sentences (a longer sentence is cut into pieces of
// ChunkRunes); each fragment after the first starts with the last whole
// sentences of the one before it that fit in OverlapRunes.
func Split(text string) []string {
	var units []string
	for _, s := range sentences(text) {
		rs := []rune(s)
		for len(rs) > ChunkRunes {
			units = append(units, string(rs[:ChunkRunes]))
			rs = rs[ChunkRunes:]
		}
		units = append(units, string(rs))
	}
	var out []string
	for i := 0; i < len(units); {
		n := Len(units[i])
		j := i + 1
		for j < len(units) && n+1+Len(units[j]) <= ChunkRunes {
			n += 1 + Len(units[j])
			j++
		}
		out = append(out, join(units[i:j]))
		if j == len(units) {
			break
		}
		// Carry the tail that fits the overlap into the next fragment.
		next, tail := j, 0
		for k := j - 1; k > i; k-- {
			tail += Len(units[k]) + 1
			if tail > OverlapRunes || tail+Len(units[j]) > ChunkRunes {
				break
			}
			next = k
		}
		i = next
	}
	return out
}

// join joins sentences with a space, none between CJK ones.
func join(units []string) string {
	var b strings.Builder
	for i, u := range units {
		if i > 0 {
			last, _ := utf8.DecodeLastRuneInString(units[i-1])
			first, _ := utf8.DecodeRuneInString(u)
			if !((cjk(last) || cjkPunct(last)) && cjk(first)) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(u)
	}
	return b.String()
}

// cjkPunct reports whether r is CJK or full-width punctuation.
func cjkPunct(r rune) bool {
	return r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFFEF && !unicode.IsLetter(r) && !unicode.IsDigit(r)
}
