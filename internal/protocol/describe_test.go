package protocol_test

import (
	"reflect"
	"testing"

	"github.com/openzone/openzone/internal/protocol"
)

func TestTemplate_Describe(t *testing.T) {
	tm, err := protocol.Compile([]byte(`{"text":"","n":1,"meta":null,"items":[{"name":""},{"name":"","ok":true}],"tags":[],"a.b":{"c":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []protocol.Field{
		{`["a.b"]`, "an object"},
		{`["a.b"].c`, "a boolean"},
		{"items", "an array"},
		{"items[]", "an object"},
		{"items[].name", "a string"},
		{"items[].ok", "a boolean"},
		{"meta", "anything"},
		{"n", "a number"},
		{"tags", "an array"},
		{"tags[]", "anything"},
		{"text", "a string"},
	}
	if got := tm.Describe(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Describe() =\n%v\nwant\n%v", got, want)
	}
}
