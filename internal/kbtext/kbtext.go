// Package kbtext is the text side of knowledge sets (知识集): how a
// document's text is cut into fragments, how text becomes index terms,
// how a term's weight in a fragment is computed and stored, and how a
// query scores fragments. It knows no database: the store keeps what it
// encodes, byte for byte the same on SQLite and PostgreSQL, so retrieval
// answers the same on both. The choices are in docs/decisions.md
// ("Knowledge sets").
//
// Neither database segments Chinese out of the box, so terms are made
// here: each CJK character is a term and so is each pair of adjacent CJK
// characters (bigrams find words without a dictionary; single characters
// keep one-character words and queries); runs of other letters and digits
// are words, lower-cased. Scoring is BM25: a term's weight in a fragment
// (its frequency, damped, against the fragment's length) is fixed when the
// fragment is learned; a query multiplies it by the term's IDF in the set,
// so very common terms weigh little.
package kbtext

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fragment sizes, in characters (runes).
const (
	// ChunkRunes is the most characters a fragment holds (a sentence
	// longer than that is cut).
	ChunkRunes = 400
	// OverlapRunes is the most characters of whole sentences a fragment
	// repeats from the end of the one before it, so a passage cut at a
	// fragment boundary is found whole in one of the two.
	OverlapRunes = 80
)

// BM25 parameters (the usual ones). A fragment's length is counted in
// characters against ChunkRunes, the length of a full fragment, so the
// weights do not depend on how many fragments a set holds.
const (
	k1 = 1.2
	b  = 0.75
)

// Weight is a term's BM25 frequency part in a fragment of dl characters
// that holds it tf times, scaled to 1..255.
func Weight(tf, dl int) byte {
	w := float64(tf) * (k1 + 1) / (float64(tf) + k1*(1-b+b*float64(dl)/ChunkRunes))
	q := math.Round(w / (k1 + 1) * 255)
	return byte(max(1, min(255, q)))
}

// weightValue is the BM25 value a stored weight stands for.
func weightValue(q byte) float64 { return float64(q) / 255 * (k1 + 1) }

// IDF is BM25's inverse document frequency of a term held by df of n
// fragments: always positive, small for terms most fragments hold.
func IDF(df, n int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// fold maps full-width ASCII (ｆｕｌｌ, １２３) to ASCII and lower-cases.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

// cjk reports whether r is written without spaces between words.
func cjk(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r)
}

// maxWordRunes cuts very long words (hashes, base64) so they make one
// bounded term.
const maxWordRunes = 32

// Terms calls fn with each term of text, in order, repeats included.
func Terms(text string, fn func(term string)) {
	var word strings.Builder
	wordLen := 0
	flush := func() {
		if word.Len() > 0 {
			fn(word.String())
			word.Reset()
			wordLen = 0
		}
	}
	var prev rune // the previous CJK character, 0 after anything else
	var pair [2 * utf8.UTFMax]byte
	for _, r := range text {
		r = fold(r)
		switch {
		case cjk(r):
			flush()
			n := utf8.EncodeRune(pair[:], r)
			fn(string(pair[:n]))
			if prev != 0 {
				m := utf8.EncodeRune(pair[:], prev)
				m += utf8.EncodeRune(pair[m:], r)
				fn(string(pair[:m]))
			}
			prev = r
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			prev = 0
			if wordLen < maxWordRunes {
				word.WriteRune(r)
				wordLen++
			}
		default:
			prev = 0
			flush()
		}
	}
	flush()
}

// Counts returns each term of text with how often it occurs.
func Counts(text string) map[string]int {
	m := map[string]int{}
	Terms(text, func(t string) { m[t]++ })
	return m
}

// Hasher turns terms into the int64 ids the index stores: a keyed hash
// (HMAC-SHA256 under the zone's key, first 8 bytes), so the index of a
// set reveals no words to whoever reads the database without the key.
type Hasher struct{ key []byte }

// NewHasher returns a hasher keyed with key.
func NewHasher(key []byte) *Hasher { return &Hasher{key: key} }

// Term returns the id of term.
func (h *Hasher) Term(term string) int64 {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(term))
	return int64(binary.BigEndian.Uint64(m.Sum(nil)))
}

// Len is the length of text as fragments count it, in characters.
func Len(text string) int { return utf8.RuneCountInString(text) }

// Format writes fragments as {knowledge} receives them, WeCom's way: one
// line each, numbered "文档1：…"; a Q&A fragment reads "问题：…，回答：…".
func Format(texts []string) string {
	var b strings.Builder
	for i, t := range texts {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("文档" + strconv.Itoa(i+1) + "：" + t)
	}
	return b.String()
}
