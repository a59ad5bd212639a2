package wwmodels

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

type labelled struct {
	ID, Lang, Text  string
	Sentiment, Spam int
	Tags            []string
}

func readLabelled(t *testing.T) ([]openzone.TagGroup, []labelled) {
	f, err := os.Open("testdata/labelled.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	var head struct {
		TagGroups []openzone.TagGroup `json:"tag_groups"`
	}
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
		t.Fatal(err)
	}
	var out []labelled
	for sc.Scan() {
		var l labelled
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return head.TagGroups, out
}

// TestBuiltin_Labelled measures the builtin analysers on the labelled set
// (written before them, never edited to fit): accuracy per label value,
// reported in BENCHMARKS.md. Run with -v to see the table and the misses.
func TestBuiltin_Labelled(t *testing.T) {
	groups, set := readLabelled(t)
	type count struct{ right, all int }
	sent, spam := map[int]*count{}, map[int]*count{}
	tags := map[string]*[4]int{} // tp, fp, fn, tn per tag
	exact := 0
	add := func(m map[int]*count, want, got int) {
		if m[want] == nil {
			m[want] = &count{}
		}
		m[want].all++
		if got == want {
			m[want].right++
		}
	}
	var b Builtin
	for _, l := range set {
		s := SentimentOf(l.Text)
		add(sent, l.Sentiment, s)
		if s != l.Sentiment {
			t.Logf("sentiment %s: got %d want %d: %s", l.ID, s, l.Sentiment, l.Text)
		}
		p := SpamOf(l.Text)
		add(spam, l.Spam, p)
		if p != l.Spam {
			t.Logf("spam %s: got %d want %d: %s", l.ID, p, l.Spam, l.Text)
		}
		res, _ := b.Answer(context.Background(), &Request{Kind: CustomerTg, TagGroups: groups, Messages: []Message{{MsgID: l.ID, Text: l.Text}}})
		var got []string
		for _, h := range res.Tags {
			got = append(got, h.TagID)
		}
		if slices.Equal(sortedCopy(got), sortedCopy(l.Tags)) {
			exact++
		} else {
			t.Logf("tags %s: got %v want %v: %s", l.ID, got, l.Tags, l.Text)
		}
		for _, g := range groups {
			for _, tg := range g.Tags {
				if tags[tg.TagID] == nil {
					tags[tg.TagID] = &[4]int{}
				}
				in, want := slices.Contains(got, tg.TagID), slices.Contains(l.Tags, tg.TagID)
				switch {
				case in && want:
					tags[tg.TagID][0]++
				case in:
					tags[tg.TagID][1]++
				case want:
					tags[tg.TagID][2]++
				default:
					tags[tg.TagID][3]++
				}
			}
		}
	}
	var rep strings.Builder
	total := func(m map[int]*count) (int, int) {
		r, a := 0, 0
		for _, c := range m {
			r += c.right
			a += c.all
		}
		return r, a
	}
	for _, x := range []struct {
		name  string
		m     map[int]*count
		names []string
	}{{"sentiment_result", sent, []string{"0 none", "1 positive", "2 negative"}}, {"spam_result", spam, []string{"0 ok", "1 political", "2 porn"}}} {
		r, a := total(x.m)
		fmt.Fprintf(&rep, "%s: %d/%d = %.1f%%\n", x.name, r, a, 100*float64(r)/float64(a))
		for v, n := range x.names {
			if c := x.m[v]; c != nil {
				fmt.Fprintf(&rep, "  %-12s recall %d/%d = %.1f%%\n", n, c.right, c.all, 100*float64(c.right)/float64(c.all))
			}
		}
	}
	fmt.Fprintf(&rep, "tags: exact set %d/%d = %.1f%%\n", exact, len(set), 100*float64(exact)/float64(len(set)))
	for _, g := range groups {
		for _, tg := range g.Tags {
			c := tags[tg.TagID]
			fmt.Fprintf(&rep, "  %-14s precision %d/%d recall %d/%d accuracy %.1f%%\n", tg.TagID, c[0], c[0]+c[1], c[0], c[0]+c[2],
				100*float64(c[0]+c[3])/float64(len(set)))
		}
	}
	t.Log("\n" + rep.String())
	// Floors well below what the analysers reach, so the test catches a
	// broken analyser, not a changed lexicon.
	if r, a := total(sent); float64(r)/float64(a) < 0.6 {
		t.Errorf("sentiment accuracy %d/%d under 60%%", r, a)
	}
	if r, a := total(spam); float64(r)/float64(a) < 0.8 {
		t.Errorf("spam accuracy %d/%d under 80%%", r, a)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
