package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/human"
)

var funcs = template.FuncMap{
	"pretty": prettyJSON,
	"time": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.Local().Format("2006-01-02 15:04:05")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.Local().Format("2006-01-02 15:04:05")
		}
		return fmt.Sprint(t)
	},
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05.000") },
	// logtime is a log line's datetime as WeCom's format writes it.
	"logtime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
	"list":    func(vs ...string) []string { return vs },
	"bytes":   human.Bytes,
	"unix":    func(s int64) string { return time.Unix(s, 0).Local().Format("2006-01-02 15:04:05") },
	"ms":      func(f float64) string { return fmt.Sprintf("%.1f ms", f) },
	// pct is part/total as a CSS width, at least 1% so a sliver shows.
	"pct": func(part, total float64) string {
		if total <= 0 {
			return "0%"
		}
		return fmt.Sprintf("%.1f%%", max(1, 100*part/total))
	},
	"join":       strings.Join,
	"stateStyle": openzone.InstanceStateStyle,
	"parties":    joinParties,
	"raw":        func(m json.RawMessage) string { return string(m) },
	"until": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		d := time.Until(*t).Round(time.Minute)
		if d <= 0 {
			return "expired"
		}
		return fmt.Sprintf("%dh%02dm left", int(d.Hours()), int(d.Minutes())%60)
	},
	"appType": func(t string) string {
		switch t {
		case "self_built":
			return "自建 self-built"
		case "custom":
			return "代开发 custom"
		case "third_party":
			return "第三方 third-party"
		}
		return t
	},
	"kindLabel": func(k string) string {
		switch k {
		case "call":
			return "调用 call"
		case "event":
			return "事件 event"
		case "invoke":
			return "SDK invoke"
		case "notify":
			return "通知 notify"
		}
		return k
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}
