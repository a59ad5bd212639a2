package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// remote holds the flags of commands that talk to a running zone.
type remote struct {
	zone  string
	token string
	data  string
	json  bool
	http  *http.Client
}

func (r *remote) flags(fs *flag.FlagSet) {
	fs.StringVar(&r.zone, "zone", envOr("OPENZONE_URL", "http://127.0.0.1:8780"), "zone base URL (OPENZONE_URL)")
	fs.StringVar(&r.token, "admin-token", os.Getenv("OPENZONE_ADMIN_TOKEN"), "admin token (OPENZONE_ADMIN_TOKEN; default: read from --data)")
	fs.StringVar(&r.data, "data", envOr("OPENZONE_DATA", "openzone-data"), "data directory whose admin-token file is used when no token is given (OPENZONE_DATA)")
	fs.BoolVar(&r.json, "json", false, "print machine-readable JSON")
}

// adminToken returns the token to send, falling back to the one a local
// zone keeps in its data directory.
func (r *remote) adminToken() (string, error) {
	if r.token != "" {
		return r.token, nil
	}
	b, err := os.ReadFile(filepath.Join(r.data, "admin-token"))
	if err != nil {
		return "", fmt.Errorf("no admin token: pass --admin-token or set OPENZONE_ADMIN_TOKEN (a local zone prints it at start and keeps it in %s)", filepath.Join(r.data, "admin-token"))
	}
	return strings.TrimSpace(string(b)), nil
}

// apiError is an error reply of the admin or app API.
type apiError struct {
	Status  int
	Errcode int
	Errmsg  string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("errcode %d: %s", e.Errcode, e.Errmsg)
}

// admin sends one admin API request and decodes the JSON reply into out.
func (r *remote) admin(method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	tok, err := r.adminToken()
	if err != nil {
		return err
	}
	u := strings.TrimRight(r.zone, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return fmt.Errorf("bad zone URL %q: %v", r.zone, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return r.do(req, out)
}

func (r *remote) do(req *http.Request, out any) error {
	c := r.http
	if c == nil {
		c = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the zone at %s: %v", r.zone, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the zone's reply: %v", err)
	}
	var e struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	json.Unmarshal(raw, &e)
	if resp.StatusCode != http.StatusOK || (e.Errcode != nil && *e.Errcode != 0) {
		ae := &apiError{Status: resp.StatusCode, Errmsg: e.Errmsg}
		if e.Errcode != nil {
			ae.Errcode = *e.Errcode
		}
		if ae.Errmsg == "" {
			ae.Errmsg = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if p, ok := out.(*json.RawMessage); ok {
		*p = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the zone's reply is not the JSON expected: %v", err)
	}
	return nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
