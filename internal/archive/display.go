package archive

import (
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/openzone/openzone"
)

var displayPage = template.Must(template.New("msg").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>会话内容 · message {{.MsgID}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em;color:#222}
.msg{max-width:40em;border:1px solid #ddd;border-radius:8px;padding:1em 1.2em}
.meta{color:#666;font-size:13px;margin-bottom:.6em}.text{white-space:pre-wrap;font-size:17px}
pre{background:#f6f6f6;padding:.6em;overflow:auto}</style></head>
<body><div class="msg" data-msgid="{{.MsgID}}">
<div class="meta">{{.SenderKind}} <b>{{.Sender}}</b> · {{.Time}} · msgtype {{.MsgType}}{{if .ChatID}} · 群 {{.ChatID}}{{end}}</div>
{{if .Text}}<div class="text" id="text">{{.Text}}</div>{{else}}<pre id="content">{{.Content}}</pre>{{end}}
</div></body></html>`))

var notFoundPage = `<!doctype html><html><head><meta charset="utf-8"><title>message not found</title></head>
<body><p>消息不存在或密钥不正确 — no message with this msgid and secret_key.</p></body></html>`

// DisplayHandler serves GET /display/message?msgid=…&secret_key=…, the
// stand-in for WeCom's 会话展示组件: one message rendered as HTML, and
// nothing without its key. An unknown msgid and a wrong key answer the same
// 404, so the page does not reveal which messages exist.
func (s *Service) DisplayHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		msgID, key := r.URL.Query().Get("msgid"), r.URL.Query().Get("secret_key")
		m, content := s.find(r, msgID, key)
		if m == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(notFoundPage))
			return
		}
		v := map[string]any{"MsgID": m.MsgID, "Sender": m.Sender.ID, "MsgType": m.MsgType, "ChatID": m.ChatID,
			"Time": m.SendTime.Local().Format(time.DateTime), "SenderKind": map[int]string{1: "成员", 2: "客户", 3: "机器人"}[m.Sender.Type]}
		if m.MsgType == 1 {
			var t struct{ Content string }
			json.Unmarshal(content, &t)
			v["Text"] = t.Content
		} else {
			var pretty any
			json.Unmarshal(content, &pretty)
			b, _ := json.MarshalIndent(pretty, "", "  ")
			v["Content"] = string(b)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		displayPage.Execute(w, v)
	})
}

// find is the message whose secret_key is key and whose msgid is msgID:
// one indexed lookup by the key's tag (the key proves which message, in
// whichever corp), then the content opened with the key itself.
func (s *Service) find(r *http.Request, msgID, key string) (*openzone.Message, json.RawMessage) {
	k, ok := parseSecretKey(key)
	if msgID == "" || !ok {
		return nil, nil
	}
	m, err := s.cfg.Store.MessageGetByKeyTag(r.Context(), keyTag(s.cfg.Key, k), msgID)
	if err != nil {
		if !openzone.IsNotFound(err) {
			s.cfg.Logger.Error("display: message lookup", "err", err)
		}
		return nil, nil
	}
	content, err := s.Content(m, key)
	if err != nil {
		return nil, nil
	}
	return m, content
}
