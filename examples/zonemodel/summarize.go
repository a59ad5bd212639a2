package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// topics are the keywords the summariser looks for, in the order it
// reports them: a stand-in for a real model's understanding.
var topics = []string{"价格", "报价", "折扣", "退款", "投诉", "合同", "发票", "发货", "售后", "会议",
	"price", "discount", "refund", "complaint", "contract", "invoice", "delivery", "meeting"}

type summary struct {
	Summary  string   `json:"summary"`
	Messages int      `json:"messages"`
	Speakers []string `json:"speakers"`
	Keywords []string `json:"keywords"`
	Input    string   `json:"input"`
}

// summarize reads every string in the input (the expanded {chat} lines
// "<who>说：<text>" among them) and summarises them deterministically.
func summarize(data string) string {
	var v any
	var texts []string
	if json.Unmarshal([]byte(data), &v) == nil {
		collect(v, &texts)
	} else {
		texts = []string{data}
	}
	s := summary{Speakers: []string{}, Keywords: []string{}, Input: data}
	seen := map[string]bool{}
	var longest string
	for _, t := range texts {
		for _, line := range strings.Split(t, "\n") {
			who, text, ok := strings.Cut(line, "说：")
			if !ok {
				continue
			}
			s.Messages++
			if !seen[who] {
				seen[who] = true
				s.Speakers = append(s.Speakers, who)
			}
			if len([]rune(text)) > len([]rune(longest)) {
				longest = text
			}
		}
	}
	all := strings.ToLower(strings.Join(texts, "\n"))
	for _, k := range topics {
		if strings.Contains(all, k) {
			s.Keywords = append(s.Keywords, k)
		}
	}
	sort.Strings(s.Speakers)
	s.Summary = fmt.Sprintf("%d条消息，%d位参与者", s.Messages, len(s.Speakers))
	if longest != "" {
		s.Summary += "；要点：" + longest
	}
	if len(s.Keywords) > 0 {
		s.Summary += "；关键词：" + strings.Join(s.Keywords, "、")
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func collect(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case []any:
		for _, e := range x {
			collect(e, out)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			collect(x[k], out)
		}
	}
}
