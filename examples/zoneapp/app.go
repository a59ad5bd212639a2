package main

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

const (
	// syncLimit is the limit of each sync_msg page.
	syncLimit = 100
	// maxPages bounds one sync loop, should a zone answer has_more forever.
	maxPages = 1000
	// notifyTimeout bounds the choreography of one notification.
	notifyTimeout = 2 * time.Minute
)

// app is the example app: it receives program_notify callbacks and runs
// the new-message choreography (docs/wecom.md) for each.
type app struct {
	zone      *zoneClient
	cb        *callbackCrypto
	key       *rsa.PrivateKey
	programID string
	log       *slog.Logger

	ctx context.Context // parent of the choreography goroutines
	wg  sync.WaitGroup  // choreographies running

	syncMu sync.Mutex // one choreography at a time, so the cursor stays in order
	cursor string     // sync_msg's next_cursor, in memory

	mu    sync.Mutex
	shown []shownMessage
	seen  map[string]bool
}

// shownMessage is a message the app displayed (GET /messages).
type shownMessage struct {
	MsgID  string `json:"msgid"`
	Sender string `json:"sender"`
	Text   string `json:"text"`
}

func newApp(ctx context.Context, zone *zoneClient, cb *callbackCrypto, key *rsa.PrivateKey, programID string, log *slog.Logger) *app {
	return &app{ctx: ctx, zone: zone, cb: cb, key: key, programID: programID, log: log, seen: map[string]bool{}}
}

// register sets the app's public key (set_public_key: archiving starts
// with it) and makes programID the program that receives the zone's events
// (set_receive_callback).
func (a *app) register(ctx context.Context, publicKey string, ver int) error {
	if err := a.zone.setPublicKey(ctx, publicKey, ver); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Errcode == errInvalidParam {
			// Most often the version: it must grow with each new key.
			return fmt.Errorf("%w (raise --key-ver for a new key; omit --set-key if the zone has this one)", err)
		}
		return err
	}
	a.log.Info("set_public_key done", "public_key_ver", ver)
	if err := a.zone.setReceiveCallback(ctx, a.programID); err != nil {
		return err
	}
	a.log.Info("set_receive_callback done", "program_id", a.programID)
	return nil
}

// handler serves GET /messages, and the callback URL on every other path.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /messages", a.handleMessages)
	mux.HandleFunc("/", a.handleCallback)
	return mux
}

func (a *app) handleMessages(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	out := append([]shownMessage{}, a.shown...)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// callbackMsg is the part of a decrypted callback message the app reads.
type callbackMsg struct {
	MsgType     string `xml:"MsgType"`
	Event       string `xml:"Event"`
	NotifyID    string `xml:"NotifyId"`
	NotifyScene int    `xml:"NotifyScene"`
}

// handleCallback is the app's callback URL: GET is WeCom's URL check, POST
// a callback. A program_notify starts the choreography in the background:
// WeCom wants "success" within seconds, or it retries.
func (a *app) handleCallback(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		echo, err := a.cb.echo(r.URL.Query())
		if err != nil {
			a.log.Warn("callback URL check refused", "err", err)
			http.Error(w, "bad signature or echostr", http.StatusBadRequest)
			return
		}
		w.Write(echo)
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		plain, err := a.cb.open(r.URL.Query(), body)
		if err != nil {
			a.log.Warn("callback refused", "err", err)
			http.Error(w, "bad callback", http.StatusBadRequest)
			return
		}
		var m callbackMsg
		if err := xml.Unmarshal(plain, &m); err != nil {
			a.log.Warn("callback message is not XML", "err", err)
			http.Error(w, "bad callback message", http.StatusBadRequest)
			return
		}
		if m.MsgType == "event" && m.Event == "program_notify" && m.NotifyID != "" {
			a.log.Info("program_notify", "notify_id", m.NotifyID, "notify_scene", m.NotifyScene)
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				if err := a.onNotify(m.NotifyID); err != nil {
					a.log.Error("choreography failed", "notify_id", m.NotifyID, "err", err)
				}
			}()
		} else {
			a.log.Info("callback ignored", "msg_type", m.MsgType, "event", m.Event)
		}
		io.WriteString(w, "success")
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// wait waits for running choreographies, or until ctx is done.
func (a *app) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// event is what the program stored for get_callback_data (docs/wecom.md, "Events and notifications").
type event struct {
	EventType              string `json:"event_type"`
	Timestamp              int64  `json:"timestamp"`
	ConversationNewMessage *struct {
		Token string `json:"token"`
	} `json:"conversation_new_message"`
}

// onNotify runs the choreography of one program_notify (docs/wecom.md, "Fetching new messages"):
// get_callback_data with the notify_id gives the event; for
// conversation_new_message, sync_msg with its token gives new messages.
func (a *app) onNotify(notifyID string) error {
	ctx, cancel := context.WithTimeout(a.ctx, notifyTimeout)
	defer cancel()
	a.syncMu.Lock()
	defer a.syncMu.Unlock()

	ev, err := a.callbackData(ctx, notifyID)
	if err != nil {
		return err
	}
	a.log.Info("event", "event_type", ev.EventType, "timestamp", ev.Timestamp)
	switch ev.EventType {
	case "conversation_new_message":
		if ev.ConversationNewMessage == nil || ev.ConversationNewMessage.Token == "" {
			return errors.New("conversation_new_message without token")
		}
		return a.syncMessages(ctx, ev.ConversationNewMessage.Token)
	default:
		return nil // other events: an app would act on them here
	}
}

// callbackData calls the program's get_callback_data ability with the
// notify_id. The program answers with the event's own JSON
// ({"event_type":…,"timestamp":…,…}), or {"errcode":…,"errmsg":…}.
func (a *app) callbackData(ctx context.Context, notifyID string) (*event, error) {
	out, err := a.zone.syncCallProgram(ctx, a.programID, "get_callback_data", notifyID, "{}")
	if err != nil {
		return nil, fmt.Errorf("get_callback_data: %w", err)
	}
	raw := []byte(out)
	var s string
	if json.Unmarshal(raw, &s) == nil { // a program may answer with the event as a JSON string
		raw = []byte(s)
	}
	var r base
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("get_callback_data: response_data is not a JSON object: %w", err)
	}
	if r.Errcode != 0 {
		return nil, &apiError{"get_callback_data", r.Errcode, r.Errmsg}
	}
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil || ev.EventType == "" {
		return nil, fmt.Errorf("get_callback_data: response_data is not an event (no event_type): %.200s", raw)
	}
	return &ev, nil
}

// syncReply is sync_msg's reply, as the program's invoke_sync_msg passes
// it back.
type syncReply struct {
	base
	NextCursor string       `json:"next_cursor"`
	HasMore    int          `json:"has_more"`
	MsgList    []syncedItem `json:"msg_list"`
}

type syncedItem struct {
	MsgID              string          `json:"msgid"`
	Sender             json.RawMessage `json:"sender"` // {"type":1,"id":"zhangsan"}
	ChatID             string          `json:"chatid"`
	SendTime           int64           `json:"send_time"`
	MsgType            int             `json:"msgtype"`
	ServiceEncryptInfo struct {
		EncryptedSecretKey string `json:"encrypted_secret_key"`
		PublicKeyVer       int    `json:"public_key_ver"`
	} `json:"service_encrypt_info"`
}

// syncMessages pulls new messages with sync_msg (through the program's
// invoke_sync_msg ability) from the kept cursor while has_more, and
// displays each.
func (a *app) syncMessages(ctx context.Context, token string) error {
	for range maxPages {
		req, _ := json.Marshal(map[string]any{"cursor": a.cursor, "token": token, "limit": syncLimit})
		out, err := a.zone.syncCallProgram(ctx, a.programID, "invoke_sync_msg", "", string(req))
		if err != nil {
			return fmt.Errorf("invoke_sync_msg: %w", err)
		}
		var r syncReply
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return fmt.Errorf("invoke_sync_msg: response_data is not sync_msg's reply: %w", err)
		}
		if r.Errcode != 0 {
			return &apiError{"sync_msg", r.Errcode, r.Errmsg}
		}
		a.log.Info("sync_msg", "cursor", a.cursor, "messages", len(r.MsgList), "has_more", r.HasMore)
		for _, m := range r.MsgList {
			if err := a.show(ctx, m); err != nil {
				a.log.Error("message not shown", "msgid", m.MsgID, "err", err)
			}
		}
		if r.NextCursor != "" {
			a.cursor = r.NextCursor
		}
		if r.HasMore != 1 {
			return nil
		}
	}
	return fmt.Errorf("sync_msg: has_more after %d pages", maxPages)
}

// show decrypts a message's secret_key and displays the message through
// the zone's display page (会话展示组件): the app itself never holds the
// message content, only what the component shows.
func (a *app) show(ctx context.Context, m syncedItem) error {
	a.mu.Lock()
	seen := a.seen[m.MsgID]
	a.mu.Unlock()
	if seen {
		return nil
	}
	enc := m.ServiceEncryptInfo.EncryptedSecretKey
	if enc == "" {
		return errors.New("no service_encrypt_info.encrypted_secret_key")
	}
	ct, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return fmt.Errorf("encrypted_secret_key is not base64: %w", err)
	}
	sk, err := decryptSecretKey(a.key, ct)
	if err != nil {
		return fmt.Errorf("decrypt secret_key (public_key_ver %d): %w", m.ServiceEncryptInfo.PublicKeyVer, err)
	}
	page, err := a.zone.displayMessage(ctx, m.MsgID, sk)
	if err != nil {
		return err
	}
	s := shownMessage{MsgID: m.MsgID, Sender: senderID(m.Sender), Text: messageText(page)}
	a.mu.Lock()
	if !a.seen[m.MsgID] {
		a.seen[m.MsgID] = true
		a.shown = append(a.shown, s)
	}
	a.mu.Unlock()
	a.log.Info("message", "msgid", s.MsgID, "sender", s.Sender, "text", s.Text, "shown", pageText(page))
	return nil
}

// senderID returns the id of sync_msg's sender {type, id} (or the sender
// itself, should it be a string).
func senderID(raw json.RawMessage) string {
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &p) == nil && p.ID != "" {
		return p.ID
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}

var (
	reHidden = regexp.MustCompile(`(?is)<head\b.*?</head>|<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->`)
	reTag    = regexp.MustCompile(`(?s)<[^>]*>`)
	// The zone's display page marks the message text with id="text"
	// (html/template escapes it, so it holds no '<').
	reText = regexp.MustCompile(`(?s)\bid="text"[^>]*>([^<]*)<`)
)

// pageText returns the text a display page shows, tags stripped, on one
// line.
func pageText(page string) string {
	s := reHidden.ReplaceAllString(page, " ")
	s = reTag.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// messageText returns the message text of a display page: its id="text"
// element when there is one, else all the page shows.
func messageText(page string) string {
	if m := reText.FindStringSubmatch(page); m != nil {
		if t := strings.Join(strings.Fields(html.UnescapeString(m[1])), " "); t != "" {
			return t
		}
	}
	return pageText(page)
}
