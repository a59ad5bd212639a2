package protocol

import (
	"encoding/json"
	"unicode/utf8"
)

// scanner walks JSON bytes. The match path validates as it goes (it accepts
// exactly what json.Valid accepts, which FuzzMatch checks), so a matching
// payload is read once. The compile path runs on bytes json.Valid has
// already accepted.
type scanner struct {
	data []byte
	pos  int
}

// errSyntax is returned up the match recursion when the payload is not
// valid JSON. It is shared: never add path segments to it.
var errSyntax = &mismatch{reason: "is not valid JSON"}

// at records that mm happened under seg, while the recursion unwinds.
func (mm *mismatch) at(s seg) *mismatch {
	if mm != errSyntax {
		mm.segs = append(mm.segs, s)
	}
	return mm
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// strSpecial marks the bytes a string scan must stop at: the quote, the
// backslash and control characters.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// str moves past the string whose opening quote is at pos, and reports
// whether it is valid (escapes, no raw control characters).
func (s *scanner) str() bool {
	d := s.data
	i := s.pos + 1
	for i < len(d) {
		c := d[i]
		if !strSpecial[c] {
			i++
			continue
		}
		switch c {
		case '"':
			s.pos = i + 1
			return true
		case '\\':
			if i+1 >= len(d) {
				return false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
		default: // control character
			return false
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// num moves past the number starting at pos and reports whether it follows
// the JSON grammar. What follows it is checked by the caller.
func (s *scanner) num() bool {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return false
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for ; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for ; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	s.pos = i
	return true
}

// lit moves past the literal word at pos and reports whether it is there.
func (s *scanner) lit(word string) bool {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return false
	}
	s.pos += len(word)
	return true
}

// scalar moves past the string, number or literal of kind k at pos and
// reports whether it is valid.
func (s *scanner) scalar(k kind) bool {
	switch k {
	case kString:
		return s.str()
	case kNumber:
		return s.num()
	case kNull:
		return s.lit("null")
	}
	if s.data[s.pos] == 't' {
		return s.lit("true")
	}
	return s.lit("false")
}

// valueKind returns the kind of the value starting at pos, or 0 if no JSON
// value can start there.
func (s *scanner) valueKind() kind {
	if s.pos >= len(s.data) {
		return 0
	}
	switch c := s.data[s.pos]; c {
	case '"':
		return kString
	case '{':
		return kObject
	case '[':
		return kArray
	case 't', 'f':
		return kBool
	case 'n':
		return kNull
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return kNumber
	}
	return 0
}

// match checks the value at pos against n, validating it; the value sits
// inside containers nested depth deep. On a mismatch it returns at once
// without reading further: Match then validates the whole payload with
// json.Valid, so that "not JSON" wins over "mismatch".
func (s *scanner) match(n *node, depth int) *mismatch {
	k := s.valueKind()
	switch {
	case k == 0:
		return errSyntax
	case k == kNull:
		if !s.lit("null") {
			return errSyntax
		}
		return nil
	case n.any:
		return s.skipValue(depth)
	case n.kinds&k == 0:
		return &mismatch{reason: "is " + k.article() + ", protocol wants " + n.kinds.describe()}
	case k != kObject && k != kArray:
		if !s.scalar(k) {
			return errSyntax
		}
		return nil
	}
	depth++
	if depth > MaxDepth { // unreachable: templates nest no deeper
		return tooDeep()
	}
	s.pos++
	s.ws()
	if k == kObject {
		if s.pos < len(s.data) && s.data[s.pos] == '}' {
			s.pos++
			return nil
		}
		for {
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return errSyntax
			}
			start := s.pos
			if !s.str() {
				return errSyntax
			}
			quoted := s.data[start:s.pos]
			raw := quoted[1 : len(quoted)-1]
			s.ws()
			if s.pos >= len(s.data) || s.data[s.pos] != ':' {
				return errSyntax
			}
			s.pos++
			s.ws()
			var child *node
			if plainRaw(raw) {
				child = n.fields[string(raw)]
			} else {
				child = n.fields[decodeKey(raw, quoted)]
			}
			if child == nil {
				mm := &mismatch{reason: "is not in the protocol"}
				return mm.at(seg{key: decodeKey(raw, quoted), isKey: true})
			}
			if mm := s.match(child, depth); mm != nil {
				return mm.at(seg{key: decodeKey(raw, quoted), isKey: true})
			}
			s.ws()
			if s.pos >= len(s.data) {
				return errSyntax
			}
			switch s.data[s.pos] {
			case ',':
				s.pos++
				s.ws()
			case '}':
				s.pos++
				return nil
			default:
				return errSyntax
			}
		}
	}
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if mm := s.match(n.elem, depth); mm != nil {
			return mm.at(seg{index: i})
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.ws()
		case ']':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// skipValue validates and moves past the value at pos, which sits inside
// containers nested depth deep and which the template accepts whatever it
// is. It needs no recursion: the open containers are a bit stack (1 for an
// object), at most MaxDepth deep.
func (s *scanner) skipValue(depth int) *mismatch {
	var stack uint64
	level := 0
	for {
		// A value starts at pos.
		k := s.valueKind()
		switch k {
		case 0:
			return errSyntax
		case kObject, kArray:
			level++
			if depth+level > MaxDepth {
				return tooDeep()
			}
			stack <<= 1
			if k == kObject {
				stack |= 1
			}
			s.pos++
			s.ws()
			if s.pos < len(s.data) && (s.data[s.pos] == '}' && k == kObject || s.data[s.pos] == ']' && k == kArray) {
				s.pos++
				level--
				stack >>= 1
				break // the container is a complete value
			}
			if k == kObject {
				if !s.objectKey() {
					return errSyntax
				}
			}
			continue // its first value
		default:
			if !s.scalar(k) {
				return errSyntax
			}
		}
		// A value ended: close containers until one goes on.
		for {
			if level == 0 {
				return nil
			}
			s.ws()
			if s.pos >= len(s.data) {
				return errSyntax
			}
			c := s.data[s.pos]
			s.pos++
			inObject := stack&1 == 1
			if c == ',' {
				s.ws()
				if inObject && !s.objectKey() {
					return errSyntax
				}
				break
			}
			if inObject && c == '}' || !inObject && c == ']' {
				level--
				stack >>= 1
				continue
			}
			return errSyntax
		}
	}
}

// objectKey reads a key and its colon, leaving pos on the value.
func (s *scanner) objectKey() bool {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' || !s.str() {
		return false
	}
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return false
	}
	s.pos++
	s.ws()
	return true
}

// plainRaw reports whether a raw key reads the same decoded: no escapes and
// valid UTF-8 (encoding/json replaces invalid bytes with U+FFFD).
func plainRaw(raw []byte) bool {
	ascii := true
	for _, c := range raw {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(raw)
}

// decodeKey returns the key whose raw bytes (between the quotes) and quoted
// bytes are given, decoded as encoding/json decodes it.
func decodeKey(raw, quoted []byte) string {
	if plainRaw(raw) {
		return string(raw)
	}
	var k string
	_ = json.Unmarshal(quoted, &k) // the string is valid: checked before
	return k
}

// compile compiles the value at pos, inside containers nested depth deep.
// The example is valid JSON (Compile checked it with json.Valid).
func (s *scanner) compile(depth int) (*node, *mismatch) {
	k := s.valueKind()
	switch k {
	case kNull:
		s.pos += 4
		return anyNode, nil
	case kString, kNumber, kBool:
		s.scalar(k)
		return &node{kinds: k}, nil
	}
	depth++
	if depth > MaxDepth {
		return nil, tooDeep()
	}
	s.pos++
	s.ws()
	if k == kObject {
		n := &node{kinds: kObject, fields: map[string]*node{}}
		if s.data[s.pos] == '}' {
			s.pos++
			return n, nil
		}
		for {
			start := s.pos
			s.str()
			quoted := s.data[start:s.pos]
			name := decodeKey(quoted[1:len(quoted)-1], quoted)
			s.ws()
			s.pos++ // ':'
			s.ws()
			child, mm := s.compile(depth)
			if mm != nil {
				return nil, mm.at(seg{key: name, isKey: true})
			}
			if prev, ok := n.fields[name]; ok {
				child = merge(prev, child)
			}
			n.fields[name] = child
			s.ws()
			if s.data[s.pos] == ',' {
				s.pos++
				s.ws()
				continue
			}
			s.pos++ // '}'
			return n, nil
		}
	}
	n := &node{kinds: kArray}
	if s.data[s.pos] == ']' {
		s.pos++
		n.elem = anyNode
		return n, nil
	}
	for i := 0; ; i++ {
		child, mm := s.compile(depth)
		if mm != nil {
			return nil, mm.at(seg{index: i})
		}
		if n.elem == nil {
			n.elem = child
		} else {
			n.elem = merge(n.elem, child)
		}
		s.ws()
		if s.data[s.pos] == ',' {
			s.pos++
			s.ws()
			continue
		}
		s.pos++ // ']'
		return n, nil
	}
}
