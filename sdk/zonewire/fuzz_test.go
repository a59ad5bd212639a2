package zonewire

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary headers and bodies to ReadHeader and Keys.Open:
// neither may panic, an accepted header is canonical, and a body opens only
// if it is one of the packets sealed here, in exactly its context.
func FuzzOpen(f *testing.F) {
	sec := Secret{Ver: 1}
	for i := range sec.Key {
		sec.Key[i] = byte(i)
	}
	k := NewKeys(sec)
	purposes := []Purpose{PurposeCall, PurposeReply, PurposeInvoke, PurposeResult}
	type sealed struct {
		p  Purpose
		hd Header
		pt string
	}
	genuine := map[string]sealed{}
	hd := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: "0123456789abcdef0123456789abcdef", Timestamp: 1767225600}
	for i, p := range purposes {
		for j, pt := range []string{"", `{"data":"ok"}`, "专区"} {
			body := k.SealWithNonce(p, hd, [NonceSize]byte{byte(i), byte(j)}, []byte(pt))
			genuine[string(body)] = sealed{p, hd, pt}
			f.Add(uint8(i), hd.ProgramID, "1", hd.RequestID, "1767225600", uint8(0), body)
			f.Add(uint8(i), hd.ProgramID, "1", hd.RequestID, "1767225600", uint8(0x55), body[1:])
		}
	}
	f.Add(uint8(9), "", "+1", "short", "-1", uint8(3), []byte{})

	names := []string{HeaderProgramID, HeaderSecretVer, HeaderRequestID, HeaderTimestamp}
	f.Fuzz(func(t *testing.T, purpose uint8, programID, secretVer, requestID, timestamp string, caseMask uint8, body []byte) {
		h := http.Header{}
		for i, v := range []string{programID, secretVer, requestID, timestamp} {
			if v == "" {
				continue
			}
			name := names[i]
			switch caseMask >> (2 * i) & 3 {
			case 1:
				name = http.CanonicalHeaderKey(name)
			case 2:
				name = strings.ToUpper(name)
			}
			h[name] = append(h[name], v)
		}
		p := Purpose("bogus")
		if int(purpose) < len(purposes) {
			p = purposes[purpose]
		}
		hd, err := ReadHeader(h, "prog-echo")
		if err != nil {
			k.Open(p, hd, body) // must not panic either
			return
		}
		if strconv.Itoa(hd.SecretVer) != secretVer || strconv.FormatInt(hd.Timestamp, 10) != timestamp || hd.RequestID != requestID {
			t.Fatalf("non-canonical header accepted: %+v from %q %q", hd, secretVer, timestamp)
		}
		pt, err := k.Open(p, hd, body)
		if err != nil {
			if pt != nil {
				t.Fatalf("refused packet returned plaintext %q", pt)
			}
			return
		}
		g, ok := genuine[string(body)]
		if !ok || g.p != p || g.hd != hd || g.pt != string(pt) {
			t.Fatalf("opened a packet never sealed for this context: purpose %s header %+v body %x", p, hd, body)
		}
	})
}
