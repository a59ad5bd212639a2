package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// benchTemplate is an output protocol shaped like a sync_msg reply.
var benchTemplate = []byte(`{
	"errcode": 0, "errmsg": "", "next_cursor": "", "has_more": false,
	"msg_list": [{
		"msgid": "", "send_time": 0, "msgtype": 0, "chatid": "",
		"sender": {"type": 0, "id": ""},
		"receiver_list": [{"type": 0, "id": ""}],
		"text": {"content": ""},
		"encrypted_secret_key": "",
		"extra": null
	}]
}`)

// benchPayload returns a matching payload of about 1 KB.
func benchPayload() []byte {
	var b bytes.Buffer
	b.WriteString(`{"errcode":0,"errmsg":"ok","next_cursor":"Q0FSU09SMTIzNDU2","has_more":true,"msg_list":[`)
	for i := range 4 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"msgid":"msg%04d-7f3a9c","send_time":%d,"msgtype":1,`+
			`"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer%d"},{"type":1,"id":"lisi"}],`+
			`"text":{"content":"hello \"world\" \u4f60\u597d #%d"},"encrypted_secret_key":"c2VjcmV0LWtleS0xMjM0NTY3ODkw","extra":{"a":[1,2.5]}}`,
			i, 1700000000+i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkMatch measures the production matcher (json.Valid, then a walk
// of the validated bytes) on a ~1 KB payload.
func BenchmarkMatch(b *testing.B) {
	tpl, err := Compile(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	payload := benchPayload()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := tpl.Match(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchMismatch measures a payload that fails at its last key.
func BenchmarkMatchMismatch(b *testing.B) {
	tpl, err := Compile(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	payload := benchPayload()
	payload = append(payload[:len(payload)-1], []byte(`,"unknown":1}`)...)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if tpl.Match(payload) == nil {
			b.Fatal("matched")
		}
	}
}

// BenchmarkMatchAlternatives measures the designs not chosen, on the same
// payload: json.Valid alone (the floor of the chosen design), Unmarshal into
// any and a walk of the compiled template, and json.Decoder.Token streaming
// (the reference implementation).
func BenchmarkMatchAlternatives(b *testing.B) {
	tpl, err := Compile(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	payload := benchPayload()
	b.Run("valid-only", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(payload) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("unmarshal-any", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(payload, &v); err != nil {
				b.Fatal(err)
			}
			if !matchAny(tpl.root, v) {
				b.Fatal("mismatch")
			}
		}
	})
	b.Run("token-stream", func(b *testing.B) {
		tv, _ := refCompile(benchTemplate)
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			pv, ok := refDecode(payload)
			if !ok || !refValue(pv, []*jv{tv}) {
				b.Fatal("mismatch")
			}
		}
	})
}

// matchAny is the Unmarshal-into-any variant, for the benchmark only.
func matchAny(n *node, v any) bool {
	if v == nil || n.any {
		return true
	}
	switch v := v.(type) {
	case string:
		return n.kinds&kString != 0
	case float64:
		return n.kinds&kNumber != 0
	case bool:
		return n.kinds&kBool != 0
	case map[string]any:
		if n.kinds&kObject == 0 {
			return false
		}
		for k, c := range v {
			f := n.fields[k]
			if f == nil || !matchAny(f, c) {
				return false
			}
		}
		return true
	case []any:
		if n.kinds&kArray == 0 {
			return false
		}
		for _, c := range v {
			if !matchAny(n.elem, c) {
				return false
			}
		}
		return true
	}
	return false
}
