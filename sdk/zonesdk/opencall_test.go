package zonesdk_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// OpenCall is ServeHTTP's opening path for code that serves calls itself;
// AppendReply and ReplyHeader answer what it opened, and WithRequest makes
// invokes act for it.
func TestProgram_OpenCall(t *testing.T) {
	t.Parallel()
	keys := zonewire.NewKeys(testSecret(1))
	call := zonewire.Call{CorpID: "wwcorp", AgentID: 1000002, CallType: zonesdk.CallApp, Data: `{"text":"你好 😀"}`,
		AbilityID: "echo", NotifyID: "n-1", JobInfo: "job-1", IsAsync: true}
	headers := func(hd zonewire.Header, nameCase string) http.Header {
		return callRequest(hd, nil, nameCase).Header
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		z := newFakeZone(t)
		p := newTestProgram(t, z.URL())
		for _, nameCase := range []string{"lower", "upper", "canonical"} {
			hd := newHeader()
			req, err := p.OpenCall(headers(hd, nameCase), sealCall(t, keys, hd, call))
			if err != nil {
				t.Fatalf("%s: OpenCall: %v", nameCase, err)
			}
			if req.CorpID != call.CorpID || req.AgentID != call.AgentID || req.Data != call.Data || req.AbilityID != call.AbilityID ||
				req.NotifyID != call.NotifyID || req.JobInfo != call.JobInfo || !req.IsAsync || req.CallType != zonesdk.CallApp ||
				req.RequestID != hd.RequestID || req.SecretVer != 1 || req.Timestamp != hd.Timestamp {
				t.Fatalf("%s: request = %+v", nameCase, req)
			}
			body := p.AppendReply([]byte("keep:"), req, `{"text":"ok"}`)
			if !bytes.HasPrefix(body, []byte("keep:")) {
				t.Fatalf("AppendReply dropped dst")
			}
			if rep := openReply(t, keys, hd, body[5:]); rep.Data != `{"text":"ok"}` {
				t.Fatalf("reply data = %q", rep.Data)
			}
			rh := http.Header{}
			req.ReplyHeader(rh)
			if hget(rh, zonewire.HeaderRequestID) != hd.RequestID || hget(rh, zonewire.HeaderSecretVer) != "1" ||
				hget(rh, zonewire.HeaderTimestamp) != strconv.FormatInt(hd.Timestamp, 10) || rh.Get("Content-Type") != zonewire.ContentType {
				t.Fatalf("reply header = %v", rh)
			}
		}
		// An invoke made with WithRequest acts for the call.
		hd := newHeader()
		req, err := p.OpenCall(headers(hd, "lower"), sealCall(t, keys, hd, call))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Invoke(zonesdk.WithRequest(t.Context(), req), zonesdk.AsyncJobCallback, `{}`); err != nil {
			t.Fatal(err)
		}
		invs, _ := z.Invokes()
		if got := invs[len(invs)-1]; got.CorpID != "wwcorp" || got.AgentID != 1000002 || got.AbilityID != "echo" || got.JobInfo != "job-1" {
			t.Fatalf("invoke context = %+v", got)
		}
	})

	p := newTestProgram(t, "")
	hd := newHeader()
	sealed := sealCall(t, keys, hd, call)
	if _, err := p.OpenCall(headers(hd, "lower"), sealed); err != nil {
		t.Fatal(err)
	}
	other := newHeader()
	other.SecretVer = 2
	dup := headers(newHeader(), "lower")
	dup["WW-REQUEST-ID"] = []string{zonewire.NewRequestID()}
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		want int
	}{
		{"ErrReplay", headers(hd, "lower"), sealed, zonewire.ExcReplay},
		{"ErrTampered", headers(hd, "lower"), tamper(bytes.Clone(sealed)), zonewire.ExcAuth},
		{"ErrNoHeaders", http.Header{}, sealed, zonewire.ExcMalformed},
		{"ErrDuplicateHeader", dup, sealed, zonewire.ExcMalformed},
		{"ErrSecretVer", headers(other, "lower"), sealed, zonewire.ExcSecretVer},
		{"ErrNotText", headers(newHeader(), "lower"), []byte{0, 1, 2, 0xff}, zonewire.ExcMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.OpenCall(tc.h, tc.body)
			if got := zonewire.ExceptionCode(err); got != tc.want {
				t.Fatalf("OpenCall: %v (code %d), want code %d", err, got, tc.want)
			}
		})
	}
}
