package media

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openzone/openzone"
)

// memStore keeps media rows as the store would.
type memStore map[string]openzone.Media

func (m memStore) MediaInsert(_ context.Context, x *openzone.Media) error {
	m[x.MediaID] = *x
	return nil
}

func (m memStore) MediaGet(_ context.Context, id string) (*openzone.Media, error) {
	x, ok := m[id]
	if !ok {
		return nil, openzone.NotFound.Errorf("no media %q", id)
	}
	return &x, nil
}

func TestPutOpen(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	st := memStore{}
	s := New(Config{Store: st, Key: bytes.Repeat([]byte{7}, 32), Now: func() time.Time { return now }})
	secret := []byte("报价单：每件 42 元")

	m, err := s.Put(ctx, File{CorpID: "ww1", AgentID: 1000002, Filename: "q.txt", Data: secret})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ExpiresAt.Sub(m.CreatedAt); got != 72*time.Hour {
		t.Fatalf("valid for %v, want 3 days", got)
	}
	if bytes.Contains(st[m.MediaID].Data, secret) || bytes.Contains(st[m.MediaID].Data, []byte("42")) {
		t.Fatal("the stored row holds the file in clear")
	}
	if _, data, err := s.Open(ctx, "ww1", 1000002, m.MediaID); err != nil || !bytes.Equal(data, secret) {
		t.Fatalf("Open by its app: %q, %v", data, err)
	}

	for _, tc := range []struct {
		name    string
		corpID  string
		agentID int64
		id      string
		at      time.Duration // after the upload
	}{
		{"OtherApp", "ww1", 1000003, m.MediaID, 0},
		{"CorpAdmin", "ww1", 0, m.MediaID, 0},
		{"OtherCorp", "ww2", 1000002, m.MediaID, 0},
		{"Unknown", "ww1", 1000002, "ozm_nope", 0},
		{"Expired", "ww1", 1000002, m.MediaID, 72 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.cfg.Now = func() time.Time { return now.Add(tc.at) }
			if _, _, err := s.Open(ctx, tc.corpID, tc.agentID, tc.id); openzone.ErrorCode(err) != openzone.ErrBadMediaID {
				t.Fatalf("Open: %v, want 40007", err)
			}
		})
	}
	s.cfg.Now = func() time.Time { return now.Add(72*time.Hour - time.Second) }
	if _, _, err := s.Open(ctx, "ww1", 1000002, m.MediaID); err != nil {
		t.Fatalf("a second before it expires: %v", err)
	}

	// A row moved to another media_id does not open.
	moved := st[m.MediaID]
	moved.MediaID = "ozm_moved"
	st[moved.MediaID] = moved
	if _, _, err := s.Open(ctx, "ww1", 1000002, "ozm_moved"); err == nil {
		t.Fatal("a sealed file opened under another media_id")
	}
}

func TestPutSizes(t *testing.T) {
	s := New(Config{Store: memStore{}, Key: make([]byte, 32)})
	for _, tc := range []struct {
		size int
		want int
	}{
		{5, openzone.ErrBadFileSize},
		{6, 0},
		{openzone.MediaMaxBytes, 0},
		{openzone.MediaMaxBytes + 1, openzone.ErrBadFileSize},
	} {
		_, err := s.Put(context.Background(), File{CorpID: "ww1", AgentID: 1, Data: make([]byte, tc.size)})
		if openzone.ErrorCode(err) != tc.want {
			t.Errorf("%d bytes: %v, want errcode %d", tc.size, err, tc.want)
		}
	}
}

func TestFromRequest(t *testing.T) {
	body := func(part string, size int) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("note", "before the file")
		fw, _ := mw.CreateFormFile(part, "合同.pdf")
		fw.Write(bytes.Repeat([]byte{'x'}, size))
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	for _, tc := range []struct {
		name, part string
		size       int
		want       int
	}{
		{"OK", "media", 100, 0},
		{"NoMediaPart", "file", 100, openzone.ErrMissingMedia},
		{"TooLarge", "media", openzone.MediaMaxBytes + 2<<20, openzone.ErrBadFileSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ct := body(tc.part, tc.size)
			r := httptest.NewRequest("POST", "/cgi-bin/chatdata/upload_media?type=file", b)
			r.Header.Set("Content-Type", ct)
			f, err := FromRequest(httptest.NewRecorder(), r)
			if openzone.ErrorCode(err) != tc.want {
				t.Fatalf("FromRequest: %v, want errcode %d", err, tc.want)
			}
			if tc.want == 0 && (f.Filename != "合同.pdf" || len(f.Data) != tc.size) {
				t.Fatalf("file %q of %d bytes", f.Filename, len(f.Data))
			}
		})
	}
	r := httptest.NewRequest("POST", "/cgi-bin/chatdata/upload_media?type=file", bytes.NewReader([]byte(`{}`)))
	r.Header.Set("Content-Type", "application/json")
	if _, err := FromRequest(httptest.NewRecorder(), r); openzone.ErrorCode(err) != openzone.ErrMissingMedia {
		t.Fatalf("a JSON body: %v, want 41005", err)
	}
}
