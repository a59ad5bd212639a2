package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

// matchCases are the matching rules, one or more cases each. want is "" for
// a match, "NOT JSON" for ErrNotJSON, else the MismatchError text.
var matchCases = []struct {
	name     string
	template string
	payload  string
	want     string
}{
	// WeCom's own example of the rule
	{"spec/subset", `{"cursor":"","limit":0}`, `{"limit":200}`, ""},
	{"spec/all keys", `{"cursor":"","limit":0}`, `{"cursor":"c","limit":1}`, ""},
	{"spec/empty object", `{"cursor":"","limit":0}`, `{}`, ""},
	{"spec/wrong type", `{"cursor":"","limit":0}`, `{"limit":"200"}`, "limit is a string, protocol wants a number"},
	{"spec/unknown key", `{"cursor":"","limit":0}`, `{"foo":1}`, "foo is not in the protocol"},
	{"empty template/empty payload", `{}`, `{}`, ""},
	{"empty template/any key", `{}`, `{"a":1}`, "a is not in the protocol"},

	// every JSON type
	{"string", `{"s":""}`, `{"s":"x"}`, ""},
	{"number", `{"n":0}`, `{"n":-1.5e3}`, ""},
	{"bool true", `{"b":false}`, `{"b":true}`, ""},
	{"bool not number", `{"b":false}`, `{"b":0}`, "b is a number, protocol wants a boolean"},
	{"number not bool", `{"n":0}`, `{"n":true}`, "n is a boolean, protocol wants a number"},
	{"string not object", `{"o":{}}`, `{"o":"{}"}`, "o is a string, protocol wants an object"},
	{"object not array", `{"a":[]}`, `{"a":{}}`, "a is an object, protocol wants an array"},
	{"array not string", `{"s":""}`, `{"s":["x"]}`, "s is an array, protocol wants a string"},

	// numbers: integers and floats are one type
	{"int template, float payload", `{"n":1}`, `{"n":0.25}`, ""},
	{"float template, int payload", `{"n":0.5}`, `{"n":7}`, ""},
	{"huge number", `{"n":0}`, `{"n":123456789012345678901234567890e400}`, ""},
	{"negative zero", `{"n":0}`, `{"n":-0}`, ""},

	// nested objects are matched recursively
	{"nested/ok", `{"a":{"b":{"c":""}}}`, `{"a":{"b":{"c":"x"}}}`, ""},
	{"nested/wrong type", `{"a":{"b":{"c":""}}}`, `{"a":{"b":{"c":1}}}`, "a.b.c is a number, protocol wants a string"},
	{"nested/unknown key", `{"a":{"b":""}}`, `{"a":{"x":""}}`, "a.x is not in the protocol"},
	{"nested/missing keys", `{"a":{"b":"","c":0}}`, `{"a":{}}`, ""},

	// arrays
	{"array/each element", `{"items":[{"name":"","n":0}]}`, `{"items":[{"name":"a"},{"n":1},{"name":2}]}`, "items[2].name is a number, protocol wants a string"},
	{"array/empty payload", `{"items":[{"name":""}]}`, `{"items":[]}`, ""},
	{"array/element type", `{"items":[{"name":""}]}`, `{"items":[1]}`, "items[0] is a number, protocol wants an object"},
	{"array/of scalars", `{"ids":[""]}`, `{"ids":["a","b",3]}`, "ids[2] is a number, protocol wants a string"},
	{"array/nested arrays", `{"m":[[0]]}`, `{"m":[[1,2],[3,"x"]]}`, "m[1][1] is a string, protocol wants a number"},
	{"array/empty template accepts anything", `{"tags":[]}`, `{"tags":[1,"a",true,null,{"x":[{}]},[[]]]}`, ""},
	{"array/empty template still an array", `{"tags":[]}`, `{"tags":"a"}`, "tags is a string, protocol wants an array"},
	{"array/several shapes", `{"v":[1,"a"]}`, `{"v":[2,"b"]}`, ""},
	{"array/several shapes, neither", `{"v":[1,"a"]}`, `{"v":[2,"b",true]}`, "v[2] is a boolean, protocol wants a string or a number"},
	{"array/objects merged", `{"m":[{"type":0,"text":""},{"type":0,"image":""}]}`, `{"m":[{"type":1,"image":"i","text":"t"}]}`, ""},
	{"array/objects merged, unknown key", `{"m":[{"type":0,"text":""},{"type":0,"image":""}]}`, `{"m":[{"video":""}]}`, "m[0].video is not in the protocol"},
	{"array/objects merged deeply", `{"m":[{"a":{"x":0}},{"a":{"y":""}}]}`, `{"m":[{"a":{"x":1,"y":"s"}}]}`, ""},
	{"array/object or string", `{"v":[{"a":1},"s"]}`, `{"v":["x",{"a":2}]}`, ""},
	{"array/object or string, bad key", `{"v":[{"a":1},"s"]}`, `{"v":[{"b":1}]}`, "v[0].b is not in the protocol"},
	{"array/empty and non-empty merged", `{"v":[[],[0]]}`, `{"v":[["x"]]}`, ""},
	{"array/three types", `{"v":[true,0,""]}`, `{"v":[{}]}`, "v[0] is an object, protocol wants a string, a number or a boolean"},

	// null in the payload counts as absent
	{"null/payload value", `{"a":""}`, `{"a":null}`, ""},
	{"null/payload object value", `{"a":{"b":0}}`, `{"a":null}`, ""},
	{"null/payload array element", `{"arr":[""]}`, `{"arr":[null,"x"]}`, ""},
	{"null/unknown key", `{"a":""}`, `{"b":null}`, "b is not in the protocol"},
	{"null/top level", `{"a":""}`, `null`, "payload is null, protocol wants an object"},

	// null in the template accepts anything
	{"null template/object", `{"x":null}`, `{"x":{"deep":[1,2,{"k":"v"}]}}`, ""},
	{"null template/scalar", `{"x":null}`, `{"x":1}`, ""},
	{"null template/in array", `{"x":[null]}`, `{"x":[1,"a",{"b":[]}]}`, ""},
	{"null template/merged", `{"x":[null,1]}`, `{"x":["a"]}`, ""},

	// the top level must be an object
	{"top/array", `{"a":""}`, `[{"a":""}]`, "payload is an array, protocol wants an object"},
	{"top/string", `{"a":""}`, `"{}"`, "payload is a string, protocol wants an object"},
	{"top/number", `{"a":""}`, ` 1 `, "payload is a number, protocol wants an object"},
	{"top/bool", `{"a":""}`, `true`, "payload is a boolean, protocol wants an object"},
	{"top/whitespace", `{"a":""}`, " \n\t{ \"a\" : \"x\" }\r\n", ""},

	// not JSON
	{"not json/empty", `{}`, ``, "NOT JSON"},
	{"not json/blank", `{}`, `  `, "NOT JSON"},
	{"not json/truncated", `{"a":""}`, `{"a":`, "NOT JSON"},
	{"not json/trailing data", `{"a":""}`, `{"a":""}x`, "NOT JSON"},
	{"not json/two values", `{"a":""}`, `{} {}`, "NOT JSON"},
	{"not json/single quotes", `{"a":""}`, `{'a':''}`, "NOT JSON"},
	{"not json/trailing comma", `{"a":""}`, `{"a":"",}`, "NOT JSON"},
	{"not json/bare word", `{"a":""}`, `{"a":nul}`, "NOT JSON"},
	{"not json/wins over mismatch", `{}`, `{"foo":1, x}`, "NOT JSON"},
	{"not json/inside a null-template value", `{"x":null}`, `{"x":[1,]}`, "NOT JSON"},
	{"not json/bad escape", `{"a":""}`, `{"a":"\x"}`, "NOT JSON"},
	{"not json/short unicode escape", `{"a":""}`, `{"a":"\u12"}`, "NOT JSON"},
	{"not json/control character", `{"a":""}`, "{\"a\":\"\n\"}", "NOT JSON"},
	{"not json/leading zero", `{"a":0}`, `{"a":01}`, "NOT JSON"},
	{"not json/bare minus", `{"a":0}`, `{"a":-}`, "NOT JSON"},
	{"not json/missing colon", `{"a":0}`, `{"a" 1}`, "NOT JSON"},
	{"not json/unquoted key", `{"a":0}`, `{a:1}`, "NOT JSON"},

	// keys
	{"key/escaped", `{"a":0}`, `{"\u0061":"x"}`, "a is a string, protocol wants a number"},
	{"key/escaped template", `{"\u0061":0}`, `{"a":1}`, ""},
	{"key/escaped quote", `{"a\"b":0}`, `{"a\"b":1}`, ""},
	{"key/quoted in path", `{"a.b":0}`, `{"a.b":""}`, `["a.b"] is a string, protocol wants a number`},
	{"key/quoted after plain", `{"x":{"a b":0}}`, `{"x":{"a b":""}}`, `x["a b"] is a string, protocol wants a number`},
	{"key/empty", `{"":0}`, `{"":""}`, `[""] is a string, protocol wants a number`},
	{"key/chinese", `{"名字":""}`, `{"名字":1}`, "名字 is a number, protocol wants a string"},
	{"key/long", `{}`, `{"` + strings.Repeat("k", 100) + `":1}`, `["` + strings.Repeat("k", 64) + `…"] is not in the protocol`},
	{"key/duplicate in payload, each checked", `{"a":0}`, `{"a":1,"a":"x"}`, "a is a string, protocol wants a number"},
	{"key/duplicate in template, merged", `{"a":0,"a":""}`, `{"a":"x"}`, ""},
	{"key/invalid utf-8 is U+FFFD", "{\"\xff\":0}", `{"\ufffd":1}`, ""},
	{"string/escapes", `{"s":""}`, `{"s":"a\"b\\c\u00e9\n"}`, ""},

	// depth
	{"depth/64 under null", `{"x":null}`, `{"x":` + nest(63) + `}`, ""},
	{"depth/65 under null", `{"x":null}`, `{"x":` + nest(64) + `}`, "x is nested too deep (more than 64 levels)"},
	{"depth/65 under empty array", `{"x":[]}`, `{"x":[` + nest(63) + `]}`, "x[0] is nested too deep (more than 64 levels)"},
	{"depth/64 template", `{"x":` + nest(63) + `}`, `{"x":` + nest(63) + `}`, ""},
}

// nest returns n nested arrays: nest(2) is "[[]]".
func nest(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := Compile([]byte(tc.template))
			if err != nil {
				t.Fatalf("Compile(%s): %v", tc.template, err)
			}
			err = tpl.Match([]byte(tc.payload))
			var got string
			switch {
			case err == nil:
			case errors.Is(err, ErrNotJSON):
				got = "NOT JSON"
			default:
				var mm *MismatchError
				if !errors.As(err, &mm) {
					t.Fatalf("Match(%s) = %T %v, want *MismatchError", tc.payload, err, err)
				}
				got = mm.Error()
			}
			if got != tc.want {
				t.Fatalf("Match(%s) against %s\n got %q\nwant %q", tc.payload, tc.template, got, tc.want)
			}
			// The differential oracle agrees.
			if ref := refMatch(t, tc.template, tc.payload); ref != category(err) {
				t.Fatalf("reference says %s, Match says %s", ref, category(err))
			}
		})
	}
}

func TestMismatchErrorFields(t *testing.T) {
	t.Parallel()
	tpl, err := Compile([]byte(`{"items":[{"name":""}]}`))
	if err != nil {
		t.Fatal(err)
	}
	err = tpl.Match([]byte(`{"items":[{},{},{"name":0}]}`))
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("err = %v, want *MismatchError", err)
	}
	if mm.Path != "items[2].name" || mm.Reason != "is a number, protocol wants a string" {
		t.Fatalf("got Path=%q Reason=%q", mm.Path, mm.Reason)
	}
	err = tpl.Match([]byte(`[]`))
	if !errors.As(err, &mm) || mm.Path != "" {
		t.Fatalf("top-level mismatch: %#v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, example, want string
	}{
		{"empty", ``, "protocol is not valid JSON: unexpected end of JSON input at offset 0"},
		{"invalid", `{"a":}`, "protocol is not valid JSON: invalid character '}' looking for beginning of value at offset 6"},
		{"trailing", `{} x`, "protocol is not valid JSON: invalid character 'x' after top-level value at offset 4"},
		{"array", `[{"a":""}]`, "protocol must be a JSON object, not an array"},
		{"string", `"{}"`, "protocol must be a JSON object, not a string"},
		{"null", `null`, "protocol must be a JSON object, not null"},
		{"number", `0`, "protocol must be a JSON object, not a number"},
		{"too deep", `{"a":{"b":` + nest(63) + `}}`, "protocol a.b" + strings.Repeat("[0]", 62) + " is nested too deep (more than 64 levels)"},
		{"too deep in array", `{"a":[1,` + nest(64) + `]}`, "protocol a[1]" + strings.Repeat("[0]", 62) + " is nested too deep (more than 64 levels)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := Compile([]byte(tc.example))
			if err == nil {
				t.Fatalf("Compile(%s) = %v, want an error", tc.example, tpl)
			}
			var oe *openzone.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %T, want *openzone.Error", err)
			}
			if oe.Code != openzone.ErrBadProtocol {
				t.Fatalf("Code = %d, want %d", oe.Code, openzone.ErrBadProtocol)
			}
			if oe.Message != tc.want {
				t.Fatalf("Message\n got %q\nwant %q", oe.Message, tc.want)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	t.Parallel()
	for _, ex := range []string{
		`{}`,
		` {"a":null} `,
		`{"text":"","served_by":""}`,
		`{"msg":"{chat}","kb":"{knowledge}"}`, // placeholders are plain strings
		`{"x":` + nest(63) + `}`,
	} {
		if _, err := Compile([]byte(ex)); err != nil {
			t.Errorf("Compile(%s): %v", ex, err)
		}
	}
}

func TestIsJSON(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{}`: true, `[]`: true, `"s"`: true, ` 1 `: true, `null`: true,
		``: false, `{`: false, `{} {}`: false, `nul`: false,
	} {
		if got := IsJSON([]byte(in)); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestMatchNoAlloc pins the promise that a matching payload costs no
// allocation.
func TestMatchNoAlloc(t *testing.T) {
	tpl, err := Compile(benchTemplate)
	if err != nil {
		t.Fatal(err)
	}
	payload := benchPayload()
	allocs := testing.AllocsPerRun(100, func() {
		if err := tpl.Match(payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Match allocates %v times per call, want 0", allocs)
	}
}

func TestTemplateConcurrent(t *testing.T) {
	t.Parallel()
	tpl, err := Compile(benchTemplate)
	if err != nil {
		t.Fatal(err)
	}
	payload := benchPayload()
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 200 {
				if err = tpl.Match(payload); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
