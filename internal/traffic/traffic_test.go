package traffic

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store/sqlite"
)

func TestMask(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"Empty", "", ""},
		{"NotJSON", "plain text", "plain text"},
		{"Plain", `{"text":"hi","limit":3}`, `{"text":"hi","limit":3}`}, // kept as sent
		{"PlainWordInValue", `{"text":"my Phone broke","z":1}`, `{"text":"my Phone broke","z":1}`},
		{"UnicodeEscapedKey", `{"\u0073ecret":"abc"}`, `{"secret":"***"}`},
		{"EscapedKeyInString", `{"d":"{\"\\u0074oken\":\"t\"}"}`, `{"d":"{\"token\":\"***\"}"}`},
		{"Secret", `{"secret_key":"abc","text":"hi"}`, `{"secret_key":"***","text":"hi"}`},
		{"TokenNested", `{"a":{"token":"t","b":[{"mobile":"138"}]}}`, `{"a":{"b":[{"mobile":"***"}],"token":"***"}}`},
		{"EmptyStaysEmpty", `{"token":""}`, `{"token":""}`},
		{"JSONInString", `{"request_data":"{\"access_token\":\"x\",\"q\":1}"}`, `{"request_data":"{\"access_token\":\"***\",\"q\":1}"}`},
		{"CaseInsensitive", `{"EncodingAESKey":"k","Email":"a@b"}`, `{"Email":"***","EncodingAESKey":"***"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Errorf("Mask(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	t.Run("Truncated", func(t *testing.T) {
		got := Mask(strings.Repeat("x", 100<<10))
		if len(got) > 65<<10 || !strings.HasSuffix(got, "(truncated)") {
			t.Errorf("long text not truncated: %d bytes", len(got))
		}
	})
	t.Run("StaysJSON", func(t *testing.T) {
		if !json.Valid([]byte(Mask(`{"password":{"x":1},"n":[1,2]}`))) {
			t.Error("masked JSON is not JSON")
		}
	})
}

func TestRecorder(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := 0; i < 500; i++ {
		r.Record(&openzone.TrafficRecord{Kind: openzone.TrafficCall, ProgramID: "p", StartedAt: time.Now()})
	}
	r.Flush(ctx)
	recs, err := db.TrafficList(ctx, openzone.TrafficFilter{ProgramID: "p", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)+int(r.Dropped()) != 500 || len(recs) == 0 {
		t.Fatalf("stored %d + dropped %d, want 500", len(recs), r.Dropped())
	}
	r.Record(&openzone.TrafficRecord{Kind: openzone.TrafficInvoke, ProgramID: "p", StartedAt: time.Now()})
	r.Close()
	r.Close() // safe twice
	recs, _ = db.TrafficList(ctx, openzone.TrafficFilter{ProgramID: "p", Kind: openzone.TrafficInvoke})
	if len(recs) != 1 {
		t.Fatalf("Close did not write the queued record: %d", len(recs))
	}
}
