package display

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/sensitive"
)

var messagePage = template.Must(template.New("msg").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>会话内容 · message {{.MsgID}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em;color:#222}
.msg{max-width:40em;border:1px solid #ddd;border-radius:8px;padding:1em 1.2em}
.meta{color:#666;font-size:13px;margin-bottom:.6em}.text{white-space:pre-wrap;font-size:17px}
.masked{color:#666;font-size:12px;margin-top:.6em}
pre{background:#f6f6f6;padding:.6em;overflow:auto}</style></head>
<body><div class="msg" data-msgid="{{.MsgID}}">
<div class="meta">{{.SenderKind}} <b>{{.Sender}}</b> · {{.Time}} · msgtype {{.MsgType}}{{if .ChatID}} · 群 {{.ChatID}}{{end}}</div>
{{if .Text}}<div class="text" id="text">{{.Text}}</div>{{else}}<pre id="content">{{.Content}}</pre>{{end}}
{{if .Masked}}<div class="masked" id="masked">敏感信息已隐藏 — sensitive information hidden for this viewer</div>{{end}}
</div></body></html>`))

var notFoundPage = `<!doctype html><html><head><meta charset="utf-8"><title>message not found</title></head>
<body><p>消息不存在或密钥不正确 — no message with this msgid and secret_key.</p></body></html>`

// MessageHandler serves GET /display/message?msgid=…&secret_key=…, the
// stand-in for WeCom's 会话展示组件: one message rendered as HTML, and
// nothing without its key. An unknown msgid and a wrong key answer the same
// 404, so the page does not reveal which messages exist. The viewer —
// agentid and userid, whom WeCom's component knows from the signed-in
// member — gets what the app's sensitive-info configuration hides from
// them masked.
func (s *Service) MessageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		q := r.URL.Query()
		agentID, err := viewerApp(q.Get("agentid"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m, content := s.find(r, q.Get("msgid"), q.Get("secret_key"))
		if m == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(notFoundPage))
			return
		}
		hide, err := s.hidden(r.Context(), m.CorpID, agentID, q.Get("userid"))
		if err != nil {
			s.cfg.Logger.Error("display: sensitive-info configuration", "err", err)
			http.Error(w, "system busy", http.StatusInternalServerError)
			return
		}
		v := map[string]any{"MsgID": m.MsgID, "Sender": m.Sender.ID, "MsgType": m.MsgType, "ChatID": m.ChatID,
			"Time": m.SendTime.Local().Format(time.DateTime), "SenderKind": map[int]string{1: "成员", 2: "客户", 3: "机器人"}[m.Sender.Type],
			"Masked": hide != 0}
		if m.MsgType == 1 {
			var t struct{ Content string }
			json.Unmarshal(content, &t)
			v["Text"] = sensitive.Mask(t.Content, hide)
		} else {
			var pretty any
			json.Unmarshal(content, &pretty)
			b, _ := json.MarshalIndent(maskStrings(pretty, hide), "", "  ")
			v["Content"] = string(b)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		messagePage.Execute(w, v)
	})
}

// viewerApp reads the viewer's agentid ("" is none).
func viewerApp(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "agentid %q is not an app's agentid", s)
	}
	return n, nil
}

// maskStrings masks every string inside a decoded JSON value (the fields of
// a link, a file, a mixed message…).
func maskStrings(v any, hide sensitive.Kind) any {
	if hide == 0 {
		return v
	}
	switch t := v.(type) {
	case string:
		return sensitive.Mask(t, hide)
	case []any:
		for i := range t {
			t[i] = maskStrings(t[i], hide)
		}
	case map[string]any:
		for k := range t {
			t[k] = maskStrings(t[k], hide)
		}
	}
	return v
}

// find is the message whose secret_key is key and whose msgid is msgID, in
// whichever corp the key proves, opened; nil when there is none or the key
// does not open it.
func (s *Service) find(r *http.Request, msgID, key string) (*openzone.Message, json.RawMessage) {
	return s.cfg.Archive.Find(r.Context(), msgID, key)
}
