package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// zoneClient calls the zone's app API (/cgi-bin/…) like any WeCom API:
// an access_token from gettoken in the query, JSON in, JSON with errcode
// out.
type zoneClient struct {
	base   string // e.g. http://127.0.0.1:8780
	corpID string
	secret string
	hc     *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newZoneClient(base, corpID, secret string) *zoneClient {
	return &zoneClient{
		base:   strings.TrimRight(base, "/"),
		corpID: corpID,
		secret: secret,
		hc:     &http.Client{Timeout: 30 * time.Second},
	}
}

// apiError is a reply with errcode ≠ 0.
type apiError struct {
	API     string
	Errcode int
	Errmsg  string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: errcode %d: %s", e.API, e.Errcode, e.Errmsg)
}

// WeCom's errcodes of a bad or expired access_token: get a new one, retry.
const (
	errInvalidToken = 40014
	errTokenExpired = 42001
	errInvalidParam = 40058 // e.g. set_public_key with a public_key_ver not above the current one
)

type base struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// accessToken returns a valid access_token, from cache or gettoken.
func (z *zoneClient) accessToken(ctx context.Context, renew bool) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if !renew && z.token != "" && time.Now().Before(z.expires) {
		return z.token, nil
	}
	q := url.Values{"corpid": {z.corpID}, "corpsecret": {z.secret}}
	var out struct {
		base
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := z.do(ctx, http.MethodGet, "/cgi-bin/gettoken?"+q.Encode(), nil, &out); err != nil {
		return "", err
	}
	if out.Errcode != 0 {
		return "", &apiError{"gettoken", out.Errcode, out.Errmsg}
	}
	z.token = out.AccessToken
	// Renew a minute early.
	z.expires = time.Now().Add(time.Duration(out.ExpiresIn)*time.Second - time.Minute)
	return z.token, nil
}

// call POSTs req to path with the access_token and decodes the reply into
// out, which must embed base; errcode ≠ 0 is an *apiError.
func (z *zoneClient) call(ctx context.Context, path string, req any, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	api := path[strings.LastIndex(path, "/")+1:]
	for attempt := 0; ; attempt++ {
		tok, err := z.accessToken(ctx, attempt > 0)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := z.do(ctx, http.MethodPost, path+"?access_token="+url.QueryEscape(tok), body, &raw); err != nil {
			return fmt.Errorf("%s: %w", api, err)
		}
		var b base
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("%s: reply is not JSON: %w", api, err)
		}
		if (b.Errcode == errInvalidToken || b.Errcode == errTokenExpired) && attempt == 0 {
			continue
		}
		if b.Errcode != 0 {
			return &apiError{api, b.Errcode, b.Errmsg}
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(raw, out)
	}
}

// do sends one request and decodes its JSON reply into out.
func (z *zoneClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, z.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := z.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	// WeCom answers errors with HTTP 200 and an errcode; other statuses
	// may still carry one, so decode first and judge after.
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("HTTP %d, reply is not JSON: %.200s", resp.StatusCode, b)
	}
	return nil
}

// setPublicKey: 设置公钥. Archiving for the app starts with the first key.
func (z *zoneClient) setPublicKey(ctx context.Context, pemKey string, ver int) error {
	return z.call(ctx, "/cgi-bin/chatdata/set_public_key", map[string]any{"public_key": pemKey, "public_key_ver": ver}, nil)
}

// setReceiveCallback: 设置专区接收回调事件 — events go to this program.
func (z *zoneClient) setReceiveCallback(ctx context.Context, programID string) error {
	return z.call(ctx, "/cgi-bin/chatdata/set_receive_callback", map[string]any{"program_id": programID}, nil)
}

// syncCallProgram: 应用同步调用专区程序. requestData is the JSON the
// ability takes, sent as a JSON string; the reply's response_data likewise.
func (z *zoneClient) syncCallProgram(ctx context.Context, programID, abilityID, notifyID, requestData string) (string, error) {
	var out struct {
		base
		ResponseData string `json:"response_data"`
	}
	req := map[string]any{"program_id": programID, "ability_id": abilityID, "request_data": requestData}
	if notifyID != "" {
		req["notify_id"] = notifyID
	}
	if err := z.call(ctx, "/cgi-bin/chatdata/sync_call_program", req, &out); err != nil {
		return "", err
	}
	return out.ResponseData, nil
}

// displayMessage fetches the zone's stand-in for 会话展示组件: the HTML
// page of one message, which only its secret_key opens.
func (z *zoneClient) displayMessage(ctx context.Context, msgID, secretKey string) (string, error) {
	q := url.Values{"msgid": {msgID}, "secret_key": {secretKey}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, z.base+"/display/message?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := z.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("display/message: HTTP %d: %s", resp.StatusCode, pageText(string(b)))
	}
	return string(b), nil
}
