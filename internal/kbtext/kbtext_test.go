package kbtext

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestTerms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"Chinese", "退货政策", []string{"退", "货", "退货", "政", "货政", "策", "政策"}},
		{"PunctuationBreaksPairs", "你好，世界", []string{"你", "好", "你好", "世", "界", "世界"}},
		{"EnglishWordsLowered", "Refund POLICY, v2!", []string{"refund", "policy", "v2"}},
		{"FullWidthFolded", "ＡＢＣ１２３", []string{"abc123"}},
		{"Mixed", "iPhone保修", []string{"iphone", "保", "修", "保修"}},
		{"Empty", " 。,", nil},
		{"LongWordCut", strings.Repeat("a", 40), []string{strings.Repeat("a", maxWordRunes)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			Terms(tc.in, func(s string) { got = append(got, s) })
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Terms(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	got := Clean("  第一行\t\t有  空格 \r\n\n\n\x07second   line\u200b\n")
	if want := "第一行 有 空格\nsecond line"; got != want {
		t.Fatalf("Clean = %q, want %q", got, want)
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	t.Run("Short", func(t *testing.T) {
		t.Parallel()
		got := Split("退货政策。七天内可退。")
		if want := []string{"退货政策。七天内可退。"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Split = %q, want %q", got, want)
		}
	})
	t.Run("EnglishSentencesKeepSpaces", func(t *testing.T) {
		t.Parallel()
		got := Split("One. Two!\nThree")
		if want := []string{"One. Two! Three"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Split = %q, want %q", got, want)
		}
	})
	t.Run("SizesAndOverlap", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		for i := range 60 {
			fmt.Fprintf(&b, "这是第%03d句话，内容用来测试切分。", i) // 17 runes each
		}
		frags := Split(b.String())
		if len(frags) < 3 {
			t.Fatalf("%d fragments, want several", len(frags))
		}
		for i, f := range frags {
			if n := Len(f); n > ChunkRunes {
				t.Fatalf("fragment %d has %d characters, over %d", i, n, ChunkRunes)
			}
			if i > 0 {
				// Each fragment starts inside the overlap: its first
				// sentence is among the last of the one before.
				first := f[:strings.Index(f, "。")+len("。")]
				prev := []rune(frags[i-1])
				if !strings.Contains(string(prev[len(prev)-OverlapRunes:]), first) {
					t.Fatalf("fragment %d starts with %q, which is not in the overlap of fragment %d", i, first, i-1)
				}
			}
		}
		if last := frags[len(frags)-1]; !strings.HasSuffix(last, "第059句话，内容用来测试切分。") {
			t.Fatalf("last fragment %q lost the end", last)
		}
	})
	t.Run("LongSentenceCut", func(t *testing.T) {
		t.Parallel()
		frags := Split(strings.Repeat("字", 2*ChunkRunes+10))
		if len(frags) != 3 || Len(frags[0]) != ChunkRunes || Len(frags[2]) != 10 {
			t.Fatalf("got %d fragments of %d, %d…", len(frags), Len(frags[0]), Len(frags[len(frags)-1]))
		}
	})
}

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	in := []Entry{{0, 1}, {1, 255}, {300, 7}, {70000, 9}}
	var got []Entry
	if err := Decode(Encode(in), func(e Entry) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip = %v, want %v", got, in)
	}
	if err := Decode([]byte{0x80}, func(Entry) {}); err == nil {
		t.Fatal("Decode of a truncated list succeeded")
	}
}

func TestWeight(t *testing.T) {
	t.Parallel()
	if Weight(2, 100) <= Weight(1, 100) {
		t.Fatal("a term twice weighs no more than once")
	}
	if Weight(1, 50) <= Weight(1, ChunkRunes) {
		t.Fatal("a short fragment weighs no more than a full one")
	}
	if Weight(1000, 1) != 255 || Weight(1, 1<<20) < 1 {
		t.Fatal("weights leave 1..255")
	}
}

// TestRetrieve indexes three fragments and checks a query finds the one
// about its subject first, with the terms that made it.
func TestRetrieve(t *testing.T) {
	t.Parallel()
	h := NewHasher([]byte("key"))
	docs := map[string][]string{
		"d1": {"退货政策：商品签收后七天内可以无理由退货。", "发票在订单完成后开具。"},
		"d2": {"保修期为一年，人为损坏不在保修范围内。"},
	}
	df := map[int64]int{}
	var postings []Posting
	n := 0
	for _, id := range []string{"d1", "d2"} {
		n += len(docs[id])
		for _, tp := range Index(h, docs[id]) {
			df[tp.Term] += len(tp.Entries)
			postings = append(postings, Posting{Term: tp.Term, DocID: id, List: Encode(tp.Entries)})
		}
	}
	qs, err := QueryTerms(h, "我想退货，可以吗？", n, func(ids []int64) (map[int64]int, error) {
		out := map[int64]int{}
		for _, id := range ids {
			if df[id] > 0 {
				out[id] = df[id]
			}
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := Score(qs, postings, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].DocID != "d1" || hits[0].Ord != 0 {
		t.Fatalf("hits = %+v, want d1 fragment 0 first", hits)
	}
	var terms []string
	for _, i := range hits[0].Terms {
		terms = append(terms, qs[i].Text)
	}
	if !strings.Contains(strings.Join(terms, " "), "退货") {
		t.Fatalf("best hit's terms %q lack 退货", terms)
	}
	again, _ := Score(qs, postings, 5)
	if !reflect.DeepEqual(again, hits) {
		t.Fatal("Score is not deterministic")
	}
}

func TestQueryTermsBudget(t *testing.T) {
	t.Parallel()
	h := NewHasher([]byte("k"))
	qs, err := QueryTerms(h, "的的 了 rare", 100000, func(ids []int64) (map[int64]int, error) {
		out := map[int64]int{}
		for _, id := range ids {
			switch id {
			case h.Term("的"):
				out[id] = PostingBudget
			case h.Term("了"):
				out[id] = PostingBudget / 2
			case h.Term("rare"):
				out[id] = 3
			}
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Text != "rare" || qs[1].Text != "了" {
		t.Fatalf("terms = %+v, want rare then 了 (的 over the budget)", qs)
	}
	if qs[0].IDF <= qs[1].IDF {
		t.Fatal("the rare term weighs no more than the common one")
	}
}
