package wwmodels

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/outbound"
)

// fakeOpenAI answers chat completions with reply(n) for the n-th request
// (from 1); it checks the request's shape and key.
func fakeOpenAI(t *testing.T, reply func(n int32, w http.ResponseWriter, prompt string)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad request line "+r.URL.Path, http.StatusNotFound)
			return
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" || len(req.Messages) != 1 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		reply(n.Add(1), w, req.Messages[0].Content)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func completion(content string) string {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}}}})
	return string(b)
}

func newTestOpenAI(url string) *OpenAI {
	return NewOpenAI(OpenAIConfig{BaseURL: url + "/v1", Model: "m", APIKey: "k", Client: outbound.New(outbound.Config{}),
		Timeout: 300 * time.Millisecond, Attempts: 3, Backoff: time.Millisecond}, "")
}

func TestOpenAI_Answer(t *testing.T) {
	t.Parallel()
	msgs := []Message{{MsgID: "a", Who: "张三", Role: RoleCustomer, Text: "太差了"}, {MsgID: "b", Who: "李四", Role: RoleStaff, Text: "抱歉"}}
	tests := []struct {
		name     string
		req      Request
		reply    func(n int32, w http.ResponseWriter, prompt string)
		want     *Result
		wantCode int
		calls    int32
	}{
		{"General", Request{Kind: General, Prompt: "问：{x}"}, func(_ int32, w http.ResponseWriter, p string) {
			w.Write([]byte(completion("<think>想一想</think>答：" + p)))
		}, &Result{Text: "答：问：{x}", Think: "想一想"}, 0, 1},
		{"ReasoningContent", Request{Kind: Summary, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			w.Write([]byte(`{"choices":[{"message":{"content":"摘要","reasoning_content":"推理"}}]}`))
		}, &Result{Text: "摘要", Think: "推理"}, 0, 1},
		{"Sentiment", Request{Kind: Sentiment, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			w.Write([]byte(completion("结果：\n```json\n{\"results\":[{\"msgid\":\"b\",\"value\":0},{\"msgid\":\"a\",\"value\":2}]}\n```")))
		}, &Result{Labels: []Label{{"a", 2}, {"b", 0}}}, 0, 1},
		{"BusyThenOK", Request{Kind: Summary, Messages: msgs}, func(n int32, w http.ResponseWriter, _ string) {
			if n < 3 {
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			w.Write([]byte(completion("好")))
		}, &Result{Text: "好"}, 0, 3},
		{"AlwaysBusy", Request{Kind: Summary, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, nil, openzone.ErrLLMBusy, 3},
		{"Timeout", Request{Kind: Summary, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			time.Sleep(time.Second)
			w.Write([]byte(completion("late")))
		}, nil, openzone.ErrProgramTimeout, 3},
		{"NotACompletion", Request{Kind: Summary, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			w.Write([]byte(`{"error":"what"}`))
		}, nil, openzone.ErrBadResultJSON, 1},
		{"NotJSON", Request{Kind: Summary, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			w.Write([]byte(`<html>`))
		}, nil, openzone.ErrBadResultJSON, 1},
		{"LabelMissing", Request{Kind: Spam, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			w.Write([]byte(completion(`{"results":[{"msgid":"a","value":0}]}`)))
		}, nil, openzone.ErrBadResultJSON, 1},
		{"LabelOutOfRange", Request{Kind: Spam, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			w.Write([]byte(completion(`{"results":[{"msgid":"a","value":7},{"msgid":"b","value":0}]}`)))
		}, nil, openzone.ErrBadResultJSON, 1},
		{"Forbidden", Request{Kind: Summary, Messages: msgs}, func(_ int32, w http.ResponseWriter, _ string) {
			http.Error(w, "no", http.StatusForbidden)
		}, nil, openzone.ErrProgramStatus, 1},
		{"InventedTags", Request{Kind: CustomerTg, Messages: msgs, TagGroups: []openzone.TagGroup{{GroupID: "g", Tags: []openzone.Tag{{TagID: "t"}}}}},
			func(_ int32, w http.ResponseWriter, _ string) {
				w.Write([]byte(completion(`{"tags":[{"group_id":"g","tag_id":"t"},{"group_id":"g","tag_id":"made-up"}]}`)))
			}, &Result{Tags: []TagHit{{"g", "t"}}}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, n := fakeOpenAI(t, tc.reply)
			got, err := newTestOpenAI(srv.URL).Answer(context.Background(), &tc.req)
			if code := openzone.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("Answer: %v (errcode %d), want errcode %d", err, code, tc.wantCode)
			}
			if n.Load() != tc.calls {
				t.Fatalf("%d requests, want %d", n.Load(), tc.calls)
			}
			if tc.want != nil {
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(tc.want)
				if string(gb) != string(wb) {
					t.Fatalf("Answer = %s, want %s", gb, wb)
				}
			}
		})
	}
}

// TestOpenAI_OutboundPolicy: the backend dials through the zone's policy,
// which refuses the metadata address whatever the settings.
func TestOpenAI_OutboundPolicy(t *testing.T) {
	t.Parallel()
	o := NewOpenAI(OpenAIConfig{BaseURL: "http://169.254.169.254/v1", Model: "m", Client: outbound.New(outbound.Config{}), Attempts: 1}, "")
	_, err := o.Answer(context.Background(), &Request{Kind: General, Prompt: "x"})
	if openzone.ErrorCode(err) != openzone.ErrCallProgram {
		t.Fatalf("Answer to the metadata address: %v, want 710638", err)
	}
}

func TestTagJSON(t *testing.T) {
	t.Parallel()
	got := TagJSON([]openzone.TagGroup{{GroupID: "g1", GroupName: "意向<&>", Tags: []openzone.Tag{{TagID: "t1", TagName: "高", Synonyms: []string{"x"}}}}, {GroupID: "g2", GroupName: "空"}})
	want := `{"tag_group":[{"group_id":"g1","group_name":"意向<&>","tag_list":[{"tag_id":"t1","tag_name":"高"}]},{"group_id":"g2","group_name":"空","tag_list":[]}]}`
	if got != want {
		t.Fatalf("TagJSON =\n%s\nwant\n%s", got, want)
	}
	if got := TagJSON(nil); got != `{"tag_group":[]}` {
		t.Fatalf("TagJSON(nil) = %s", got)
	}
}

func TestBuiltin_Deterministic(t *testing.T) {
	t.Parallel()
	req := &Request{Kind: Recommend, Messages: []Message{{Who: "客户甲", Role: RoleCustomer, Text: "退款多久到账？"}, {Who: "张三", Role: RoleStaff, Text: "稍等"}},
		Knowledge: []string{"问题：发票怎么开，回答：在订单页申请", "问题：退款多久到账，回答：3 个工作日内原路退回"}}
	for range 3 {
		res, err := Builtin{}.Answer(context.Background(), req)
		if err != nil || res.Text != "3 个工作日内原路退回" {
			t.Fatalf("recommend = %+v, %v", res, err)
		}
	}
	sum, _ := Builtin{}.Answer(context.Background(), &Request{Kind: Summary, Messages: req.Messages})
	if sum.Text == "" || sum.ResponseData(true)[:7] != "<think>" {
		t.Fatalf("summary = %+v", sum)
	}
}
