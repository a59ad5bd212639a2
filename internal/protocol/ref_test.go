package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// This file holds a second, deliberately naive implementation of the
// matching rules, used as a differential oracle by TestMatch and FuzzMatch,
// and as a baseline by the benchmarks. It decodes with json.Decoder.Token
// into a tree that keeps duplicate keys, and matches a payload value against
// the *set* of example values found at its position (all elements of an
// example array, all values of a duplicated key) instead of a merged node.

type jv struct {
	kind kind
	keys []string
	vals []*jv // object values (parallel to keys) or array elements
}

func refParse(dec *json.Decoder) (*jv, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case nil:
		return &jv{kind: kNull}, nil
	case bool:
		return &jv{kind: kBool}, nil
	case json.Number:
		return &jv{kind: kNumber}, nil
	case string:
		return &jv{kind: kString}, nil
	case json.Delim:
		v := &jv{kind: kArray}
		if tok == '{' {
			v.kind = kObject
		}
		for dec.More() {
			if v.kind == kObject {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k.(string))
			}
			child, err := refParse(dec)
			if err != nil {
				return nil, err
			}
			v.vals = append(v.vals, child)
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
		return v, nil
	}
	return nil, errors.New("unexpected token")
}

func refDecode(data []byte) (*jv, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := refParse(dec)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

func (v *jv) depth() int {
	if v.kind != kObject && v.kind != kArray {
		return 0
	}
	d := 0
	for _, c := range v.vals {
		d = max(d, c.depth())
	}
	return d + 1
}

// refValue reports whether v matches the set of example values ex.
func refValue(v *jv, ex []*jv) bool {
	if v.kind == kNull {
		return true
	}
	var same []*jv
	for _, e := range ex {
		if e.kind == kNull {
			return true
		}
		if e.kind == v.kind {
			same = append(same, e)
		}
	}
	if len(same) == 0 {
		return false
	}
	switch v.kind {
	case kObject:
		for i, k := range v.keys {
			var sub []*jv
			for _, e := range same {
				for j, ek := range e.keys {
					if ek == k {
						sub = append(sub, e.vals[j])
					}
				}
			}
			if len(sub) == 0 || !refValue(v.vals[i], sub) {
				return false
			}
		}
	case kArray:
		var sub []*jv
		for _, e := range same {
			if len(e.vals) == 0 {
				return true // an empty example array accepts any elements
			}
			sub = append(sub, e.vals...)
		}
		for _, c := range v.vals {
			if !refValue(c, sub) {
				return false
			}
		}
	}
	return true
}

const (
	catMatch    = "match"
	catNotJSON  = "not JSON"
	catMismatch = "mismatch"
	catBadTpl   = "bad template"
)

func category(err error) string {
	switch {
	case err == nil:
		return catMatch
	case errors.Is(err, ErrNotJSON):
		return catNotJSON
	}
	var mm *MismatchError
	if errors.As(err, &mm) {
		return catMismatch
	}
	return "unexpected error " + err.Error()
}

// refCompile reports whether the reference accepts example as a protocol.
func refCompile(example []byte) (*jv, bool) {
	tv, ok := refDecode(example)
	if !ok || tv.kind != kObject || tv.depth() > MaxDepth {
		return nil, false
	}
	return tv, true
}

// refMatch returns the reference's category for (template, payload).
func refMatch(tb testing.TB, template, payload string) string {
	tb.Helper()
	tv, ok := refCompile([]byte(template))
	if !ok {
		return catBadTpl
	}
	pv, ok := refDecode([]byte(payload))
	if !ok {
		return catNotJSON
	}
	if pv.kind != kObject || pv.depth() > MaxDepth || !refValue(pv, []*jv{tv}) {
		return catMismatch
	}
	return catMatch
}
