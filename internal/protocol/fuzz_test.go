package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/openzone/openzone"
)

// FuzzMatch checks, for any template and payload: no panic; a template that
// compiles matches itself; Compile and Match agree with the reference
// implementation in ref_test.go; Match says ErrNotJSON exactly when IsJSON
// is false; and a matching payload still matches after a round trip through
// encoding/json.
func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.template, tc.payload)
	}
	f.Add(string(benchTemplate), string(benchPayload()))
	f.Fuzz(func(t *testing.T, template, payload string) {
		tpl, err := Compile([]byte(template))
		_, refOK := refCompile([]byte(template))
		if err != nil {
			var oe *openzone.Error
			if !errors.As(err, &oe) || oe.Code != openzone.ErrBadProtocol {
				t.Fatalf("Compile error %v is not a 790012 *openzone.Error", err)
			}
			if refOK {
				t.Fatalf("Compile(%q) = %v, reference accepts it", template, err)
			}
			return
		}
		if !refOK {
			t.Fatalf("Compile(%q) succeeds, reference refuses it", template)
		}
		if err := tpl.Match([]byte(template)); err != nil {
			t.Fatalf("template %q does not match itself: %v", template, err)
		}

		err = tpl.Match([]byte(payload))
		got := category(err)
		if want := refMatch(t, template, payload); got != want {
			t.Fatalf("Match(%q) against %q: %s (%v), reference says %s", payload, template, got, err, want)
		}
		if (got == catNotJSON) == IsJSON([]byte(payload)) {
			t.Fatalf("Match says %s but IsJSON = %v", got, IsJSON([]byte(payload)))
		}
		if got != catMatch {
			return
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("matching payload %q does not decode: %v", payload, err)
		}
		re, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %q: %v", payload, err)
		}
		if err := tpl.Match(re); err != nil {
			t.Fatalf("payload %q matches, re-encoded %q does not: %v", payload, re, err)
		}
	})
}
