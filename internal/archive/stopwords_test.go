package archive

import (
	"reflect"
	"testing"
)

func TestWithoutStopWords(t *testing.T) {
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"报价", []string{"报价"}},
		{"我的报价单", []string{"报价单"}},
		{"合同和报价", []string{"合同", "报价"}},
		{"the price of apples", []string{"price", "apples"}},
		{"price list", []string{"price", "list"}},
		{"的了是", nil},
		{"the a", nil},
		{"iphone的价格", []string{"iphone", "价格"}},
	} {
		if got := withoutStopWords(c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("withoutStopWords(%q) = %q, want %q", c.q, got, c.want)
		}
	}
}

func TestFlag(t *testing.T) {
	for raw, want := range map[string]bool{"": false, "null": false, "false": false, "0": false, "true": true, "1": true} {
		got, err := flag([]byte(raw), "x")
		if err != nil || got != want {
			t.Errorf("flag(%q) = %v, %v", raw, got, err)
		}
	}
	if _, err := flag([]byte(`"yes"`), "x"); err == nil {
		t.Error(`flag("yes") accepted`)
	}
}
