package main

import (
	"encoding/json"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name, in string
		want     summary
	}{
		{"Chat", `{"prompt":"总结：\nzhangsan说：你好\nlisi说：请问退款和发票什么时候处理？\nzhangsan说：明天"}`,
			summary{Summary: "3条消息，2位参与者；要点：请问退款和发票什么时候处理？；关键词：退款、发票", Messages: 3,
				Speakers: []string{"lisi", "zhangsan"}, Keywords: []string{"退款", "发票"}}},
		{"NoChat", `{"x":"nothing here"}`, summary{Summary: "0条消息，0位参与者", Speakers: []string{}, Keywords: []string{}}},
		{"NotJSON", `a说：meeting at 3`, summary{Summary: "1条消息，1位参与者；要点：meeting at 3；关键词：meeting", Messages: 1,
			Speakers: []string{"a"}, Keywords: []string{"meeting"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got summary
			if err := json.Unmarshal([]byte(summarize(tc.in)), &got); err != nil {
				t.Fatal(err)
			}
			tc.want.Input = tc.in
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tc.want)
			if string(gb) != string(wb) {
				t.Errorf("summarize(%q)\n got %s\nwant %s", tc.in, gb, wb)
			}
		})
	}
}
