package kbtext

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
)

// Entry is one fragment of a document holding a term, and the term's
// weight there.
type Entry struct {
	Ord    int
	Weight byte
}

// Encode writes entries (ascending Ord) as a posting list: for each, the
// distance from the previous Ord (uvarint) and the weight byte.
func Encode(entries []Entry) []byte {
	out := make([]byte, 0, 2*len(entries))
	prev := 0
	for _, e := range entries {
		out = binary.AppendUvarint(out, uint64(e.Ord-prev))
		out = append(out, e.Weight)
		prev = e.Ord
	}
	return out
}

var errCorrupt = errors.New("kbtext: corrupt posting list")

// Decode calls fn with each entry of a posting list.
func Decode(list []byte, fn func(Entry)) error {
	ord := 0
	for len(list) > 0 {
		d, n := binary.Uvarint(list)
		if n <= 0 || n >= len(list) || d > 1<<31 {
			return errCorrupt
		}
		ord += int(d)
		fn(Entry{Ord: ord, Weight: list[n]})
		list = list[n+1:]
	}
	return nil
}

// TermPostings is one term's posting list in one document.
type TermPostings struct {
	Term    int64
	Entries []Entry
}

// Index builds the posting lists of a document's fragments (in order):
// one per distinct term, terms ascending.
func Index(h *Hasher, fragments []string) []TermPostings {
	byTerm := map[int64][]Entry{}
	ids := map[string]int64{} // a document repeats its terms: hash each once
	for ord, text := range fragments {
		dl := Len(text)
		for term, tf := range Counts(text) {
			id, ok := ids[term]
			if !ok {
				id = h.Term(term)
				ids[term] = id
			}
			byTerm[id] = append(byTerm[id], Entry{Ord: ord, Weight: Weight(tf, dl)})
		}
	}
	out := make([]TermPostings, 0, len(byTerm))
	for id, es := range byTerm {
		out = append(out, TermPostings{Term: id, Entries: es})
	}
	slices.SortFunc(out, func(a, b TermPostings) int { return cmp.Compare(a.Term, b.Term) })
	return out
}

// Query limits: a query uses at most MaxQueryTerms terms, the rarest in
// the set first, and stops adding terms once their posting lists hold
// PostingBudget entries, so a long chat full of common characters costs
// no more than a short one, and a set of 100,000 fragments no more than
// one of 10,000. Terms cut this way are the commonest, the ones IDF
// weighs least: the rare ones (a product's name, a specific word's
// bigram) are what tell fragments apart.
const (
	MaxQueryTerms = 32
	PostingBudget = 8_000
)

// QueryTerm is a term of a query with its text, id and frequency in the set.
type QueryTerm struct {
	Text string
	ID   int64
	DF   int
	IDF  float64
}

// QueryTerms returns the distinct terms of a query that the set holds
// (df from dfs), rarest first, cut to the query limits. n is the number
// of fragments of the set.
func QueryTerms(h *Hasher, query string, n int, lookup func(ids []int64) (map[int64]int, error)) ([]QueryTerm, error) {
	var qs []QueryTerm
	for term := range Counts(query) {
		qs = append(qs, QueryTerm{Text: term, ID: h.Term(term)})
	}
	ids := make([]int64, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
	}
	dfs, err := lookup(ids)
	if err != nil {
		return nil, err
	}
	held := qs[:0]
	for _, q := range qs {
		if df := dfs[q.ID]; df > 0 {
			q.DF, q.IDF = df, IDF(df, n)
			held = append(held, q)
		}
	}
	slices.SortFunc(held, func(a, b QueryTerm) int {
		return cmp.Or(cmp.Compare(a.DF, b.DF), cmp.Compare(a.Text, b.Text))
	})
	budget := 0
	for i, q := range held {
		budget += q.DF
		if i == MaxQueryTerms || i > 0 && budget > PostingBudget {
			return held[:i], nil
		}
	}
	return held, nil
}

// Hit is a fragment a query found, with its score and the query terms
// (indexes into the query's terms) it holds.
type Hit struct {
	DocID string
	Ord   int
	Score float64
	Terms []int
}

// Posting is a term's posting list in one document, as the store keeps it.
type Posting struct {
	Term  int64
	DocID string
	List  []byte
}

// Score ranks the fragments in postings for the query terms qs (at most
// MaxQueryTerms) and returns the best k, highest score first; ties go to
// the earlier document id and fragment. Sums run in the order of qs, so
// the same postings give the same scores to the last bit on any database.
func Score(qs []QueryTerm, postings []Posting, k int) ([]Hit, error) {
	if k <= 0 {
		return nil, nil
	}
	if len(qs) > MaxQueryTerms {
		qs = qs[:MaxQueryTerms]
	}
	index := make(map[int64]int, len(qs))
	for i, q := range qs {
		index[q.ID] = i
	}
	byTerm := make([][]Posting, len(qs))
	docs := map[string]int{}
	var docIDs []string
	for _, p := range postings {
		if i, ok := index[p.Term]; ok {
			byTerm[i] = append(byTerm[i], p)
			if _, ok := docs[p.DocID]; !ok {
				docs[p.DocID] = len(docIDs)
				docIDs = append(docIDs, p.DocID)
			}
		}
	}
	// A fragment is (document index, ord) in one integer; its terms a
	// bit set (at most 64 terms).
	type acc struct {
		score float64
		terms uint64
	}
	at := map[uint64]int{}
	var accs []acc
	var keys []uint64
	for i, ps := range byTerm {
		idf := qs[i].IDF
		for _, p := range ps {
			doc := uint64(docs[p.DocID]) << 32
			err := Decode(p.List, func(e Entry) {
				key := doc | uint64(uint32(e.Ord))
				j, ok := at[key]
				if !ok {
					j = len(accs)
					at[key] = j
					accs = append(accs, acc{})
					keys = append(keys, key)
				}
				accs[j].score += idf * weightValue(e.Weight)
				accs[j].terms |= 1 << uint(i)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	// The best k by insertion: k is small, the candidates many.
	hit := func(j int) Hit {
		return Hit{DocID: docIDs[keys[j]>>32], Ord: int(uint32(keys[j])), Score: accs[j].score}
	}
	better := func(a, b int) bool {
		if accs[a].score != accs[b].score {
			return accs[a].score > accs[b].score
		}
		ha, hb := hit(a), hit(b)
		return cmp.Or(cmp.Compare(ha.DocID, hb.DocID), cmp.Compare(ha.Ord, hb.Ord)) < 0
	}
	var order []int
	for j := range accs {
		if len(order) == k && !better(j, order[k-1]) {
			continue
		}
		pos, _ := slices.BinarySearchFunc(order, j, func(a, b int) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		order = slices.Insert(order, pos, j)
		if len(order) > k {
			order = order[:k]
		}
	}
	out := make([]Hit, len(order))
	for n, j := range order {
		out[n] = hit(j)
		for i := range qs {
			if accs[j].terms&(1<<uint(i)) != 0 {
				out[n].Terms = append(out[n].Terms, i)
			}
		}
	}
	return out, nil
}
