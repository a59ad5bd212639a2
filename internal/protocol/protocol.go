// Package protocol matches JSON payloads against an ability's input and
// output protocols (输入协议 / 输出协议, docs/wecom.md).
//
// A protocol is a JSON example. A payload matches it when it is a subset of
// the example: every key present in the payload exists in the example, and
// its value has the same JSON type. Missing keys are allowed. The rules WeCom
// leaves open are decided here (and in docs/decisions.md, "Protocol
// matching"):
//
//   - Objects are matched recursively, at every depth.
//   - Arrays: every element of a payload array must match the element
//     shape of the example array. When the example array has several
//     elements, their shapes are merged into one (objects: union of their
//     keys, recursively; different types: either type). An empty example
//     array accepts any elements.
//   - null in the payload is accepted wherever a value is allowed (a key
//     present in the example, or an array element): it counts as "absent".
//     A key that is not in the example is refused even when its value is
//     null. The top-level payload itself must be an object, never null.
//   - null in the example accepts any value, of any type and shape.
//   - Integers and floats are both JSON numbers: 1 matches 0.5.
//   - The top level of both example and payload must be a JSON object.
//   - Duplicate keys in the example are merged like array elements;
//     duplicate keys in the payload are each checked.
//   - Nesting is limited to MaxDepth objects and arrays: a deeper example is
//     refused by Compile (790012), a deeper payload does not match.
//
// A Template is compiled once and is safe for concurrent use. Match does not
// allocate when the payload matches.
package protocol

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/openzone/openzone"
)

// MaxDepth is how many objects and arrays may nest in a protocol or a
// payload. The top-level object is depth 1.
const MaxDepth = 64

// ErrNotJSON is returned by Match when the payload is not valid JSON. Callers
// map it to 790015 (request_data) or 790013 (response_data), and a
// *MismatchError to 790016 or 790014.
var ErrNotJSON = errors.New("protocol: payload is not valid JSON")

// IsJSON reports whether payload is one valid JSON value (surrounding white
// space allowed), by the rules of encoding/json.
func IsJSON(payload []byte) bool { return json.Valid(payload) }

// MismatchError says where and why a valid JSON payload does not match its
// protocol.
type MismatchError struct {
	// Path locates the offending value from the top-level object, like
	// "items[2].name". Keys other than letters, digits, '_', '-' and '$'
	// are quoted: `["a.b"].c`. Path is "" when the payload as a whole is
	// at fault (it is not an object).
	Path string
	// Reason completes the sentence that starts with the path: "is not in
	// the protocol", "is a string, protocol wants a number", "is nested too
	// deep (more than 64 levels)".
	Reason string
}

// Error returns "<path> <reason>", or "payload <reason>" for the whole
// payload. Callers that know the payload's name may prefer to build their
// own message from Path and Reason (e.g. "request_data.items[2].name …").
func (e *MismatchError) Error() string {
	if e.Path == "" {
		return "payload " + e.Reason
	}
	return e.Path + " " + e.Reason
}

// Template is a compiled protocol. Create it with Compile.
type Template struct {
	root *node
}

// Compile compiles a protocol example. The example must be a valid JSON
// object nested at most MaxDepth deep; otherwise Compile returns an
// *openzone.Error with code 790012 (openzone.ErrBadProtocol).
func Compile(example []byte) (*Template, error) {
	if !json.Valid(example) {
		var raw json.RawMessage // Unmarshal says where the syntax breaks
		return nil, openzone.Errorf(openzone.ErrBadProtocol, "protocol is not valid JSON: %s", syntaxDetail(json.Unmarshal(example, &raw)))
	}
	s := scanner{data: example}
	s.ws()
	if c := example[s.pos]; c != '{' {
		return nil, openzone.Errorf(openzone.ErrBadProtocol, "protocol must be a JSON object, not %s", kindOf(c).article())
	}
	root, mm := s.compile(0)
	if mm != nil {
		return nil, openzone.Errorf(openzone.ErrBadProtocol, "protocol %s", mm.public().Error())
	}
	return &Template{root: root}, nil
}

func syntaxDetail(err error) string {
	if err == nil {
		return "invalid JSON"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// Match checks payload against the template. It returns nil when the payload
// matches, ErrNotJSON when it is not valid JSON, and a *MismatchError
// naming the first offending value otherwise.
func (t *Template) Match(payload []byte) error {
	s := scanner{data: payload}
	s.ws()
	if s.pos >= len(payload) {
		return ErrNotJSON
	}
	if c := payload[s.pos]; c != '{' {
		if !json.Valid(payload) {
			return ErrNotJSON
		}
		return &MismatchError{Reason: "is " + kindOf(c).article() + ", protocol wants an object"}
	}
	mm := s.match(t.root, 0)
	if mm == nil {
		s.ws()
		if s.pos != len(payload) {
			return ErrNotJSON // trailing data
		}
		return nil
	}
	// match stops at the first mismatch; the rest must still be JSON.
	if mm == errSyntax || !json.Valid(payload) {
		return ErrNotJSON
	}
	return mm.public()
}

// kind is a set of JSON types.
type kind uint8

const (
	kString kind = 1 << iota
	kNumber
	kBool
	kObject
	kArray
	kNull
)

// kindOf returns the type of the JSON value starting with byte c.
func kindOf(c byte) kind {
	switch c {
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
	}
	return kNumber
}

var kindNames = [...]string{"a string", "a number", "a boolean", "an object", "an array", "null"}

func (k kind) article() string { return kindNames[bitIndex(k)] }

func bitIndex(k kind) int {
	for i := 0; i < len(kindNames); i++ {
		if k&(1<<i) != 0 {
			return i
		}
	}
	return 0
}

// describe renders a kind set: "a number", "a string or a number".
func (k kind) describe() string {
	var parts []string
	for i := range kindNames {
		if k&(1<<i) != 0 {
			parts = append(parts, kindNames[i])
		}
	}
	switch len(parts) {
	case 0:
		return "nothing"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// node is the compiled shape of one example value.
type node struct {
	any    bool             // example null: accepts anything
	kinds  kind             // accepted types
	fields map[string]*node // kinds has kObject: the keys of the example object(s)
	elem   *node            // kinds has kArray: the merged element shape
}

// anyNode accepts any value. It is shared and never modified.
var anyNode = &node{any: true}

// merge merges b into a and returns the result. Both are freshly compiled
// and b is consumed; a is modified unless either is anyNode.
func merge(a, b *node) *node {
	if a.any || b.any {
		return anyNode
	}
	a.kinds |= b.kinds
	if b.fields != nil {
		if a.fields == nil {
			a.fields = b.fields
		} else {
			for k, bv := range b.fields {
				if av, ok := a.fields[k]; ok {
					a.fields[k] = merge(av, bv)
				} else {
					a.fields[k] = bv
				}
			}
		}
	}
	if b.elem != nil {
		if a.elem == nil {
			a.elem = b.elem
		} else {
			a.elem = merge(a.elem, b.elem)
		}
	}
	return a
}

// seg is one step of a path: an object key or an array index.
type seg struct {
	key   string
	index int
	isKey bool
}

// mismatch is the internal form of a MismatchError: segs are innermost
// first, appended while the recursion unwinds.
type mismatch struct {
	segs   []seg
	reason string
}

func (m *mismatch) public() *MismatchError {
	return &MismatchError{Path: formatPath(m.segs), Reason: m.reason}
}

// maxKeyShown bounds how much of a key a path shows.
const maxKeyShown = 64

func formatPath(segs []seg) string {
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if !s.isKey {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		k := s.key
		if len(k) > maxKeyShown {
			cut := maxKeyShown
			for cut > 0 && !utf8.RuneStart(k[cut]) {
				cut--
			}
			k = k[:cut] + "…"
		}
		if plainKey(k) {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Quote(k))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '$') {
			return false
		}
	}
	return true
}

func tooDeep() *mismatch {
	return &mismatch{reason: "is nested too deep (more than " + strconv.Itoa(MaxDepth) + " levels)"}
}

// compiled caches Cached's templates by the protocol's exact bytes, so an
// edited protocol is compiled afresh and nothing needs invalidating. A
// template depends on its bytes alone, so one cache serves every zone in
// the process.
var compiled sync.Map // string(example) → *Template

// Cached is Compile with a process-wide cache: the call path compiles each
// ability's protocols once.
func Cached(example []byte) (*Template, error) {
	if t, ok := compiled.Load(string(example)); ok {
		return t.(*Template), nil
	}
	t, err := Compile(example)
	if err != nil {
		return nil, err
	}
	compiled.Store(string(example), t)
	return t, nil
}
