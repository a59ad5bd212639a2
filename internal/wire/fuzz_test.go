package wire

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openzone/openzone/sdk/zonewire"
)

// FuzzOpen feeds arbitrary headers and bodies to ReadHeader and Keys.Open.
// Neither may panic; a body may open only if it is one of the packets the
// fuzz target sealed itself, in exactly the context it was sealed for; and
// zonewire must reach the same verdict on every input.
func FuzzOpen(f *testing.F) {
	sec := Secret{Ver: 1}
	for i := range sec.Key {
		sec.Key[i] = byte(i)
	}
	k := NewKeys(sec)
	zs, err := zonewire.ParseSecret(sec.String())
	if err != nil {
		f.Fatal(err)
	}
	zk := zonewire.NewKeys(zs)

	type sealed struct {
		p  Purpose
		hd Header
		pt string
	}
	genuine := map[string]sealed{}
	hd := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: "0123456789abcdef0123456789abcdef", Timestamp: 1767225600}
	for i, p := range purposes {
		for j, pt := range []string{"", `{"data":"ok"}`, "专区"} {
			nonce := [NonceSize]byte{byte(i), byte(j)}
			body := k.SealWithNonce(p, hd, nonce, []byte(pt))
			genuine[rawOf(body)] = sealed{p, hd, pt}
			f.Add(uint8(i), hd.ProgramID, "1", hd.RequestID, "1767225600", uint8(0), body)
			f.Add(uint8(i), hd.ProgramID, "1", hd.RequestID, "1767225600", uint8(0xff), body[:len(body)-1])
		}
	}
	f.Add(uint8(4), "", "+1", "short", "-1", uint8(3), []byte{})
	f.Add(uint8(0), "prog echo", "01", "0123456789abcdef.0", "9223372036854775808", uint8(1), make([]byte, BodyLen(0)))

	names := []string{HeaderProgramID, HeaderSecretVer, HeaderRequestID, HeaderTimestamp}
	f.Fuzz(func(t *testing.T, purpose uint8, programID, secretVer, requestID, timestamp string, caseMask uint8, body []byte) {
		// Header names in a letter case chosen by caseMask; an empty value
		// leaves the header out.
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
		zhd, zerr := zonewire.ReadHeader(h, "prog-echo")
		if ExceptionCode(err) != zonewire.ExceptionCode(zerr) {
			t.Fatalf("ReadHeader verdicts differ: wire %v, zonewire %v", err, zerr)
		}
		if err != nil {
			// Open must still be safe with whatever came out.
			k.Open(p, hd, body)
			return
		}
		if fromZW(zhd) != hd {
			t.Fatalf("ReadHeader differs: wire %+v, zonewire %+v", hd, zhd)
		}
		// What is accepted is canonical: it is exactly what Apply writes.
		if strconv.Itoa(hd.SecretVer) != secretVer || strconv.FormatInt(hd.Timestamp, 10) != timestamp || hd.RequestID != requestID {
			t.Fatalf("non-canonical header accepted: %+v from %q %q", hd, secretVer, timestamp)
		}

		pt, err := k.Open(p, hd, body)
		zpt, zerr := zk.Open(zonewire.Purpose(p), toZW(hd), body)
		if ExceptionCode(err) != zonewire.ExceptionCode(zerr) || !bytes.Equal(pt, zpt) {
			t.Fatalf("Open verdicts differ: wire %q %v, zonewire %q %v", pt, err, zpt, zerr)
		}
		if err != nil {
			if pt != nil {
				t.Fatalf("refused packet returned plaintext %q", pt)
			}
			return
		}
		// Text that decodes to a genuine packet opens (white space around
		// it, non-zero pad bits): what authenticates is the decoded packet.
		g, ok := genuine[rawOf(body)]
		if !ok || g.p != p || g.hd != hd || g.pt != string(pt) {
			t.Fatalf("opened a packet that was never sealed for this context: purpose %s header %+v body %x", p, hd, body)
		}
	})
}

// rawOf returns the packet a body's text decodes to ("" when it does not).
func rawOf(body []byte) string {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.Trim(body, " \t\r\n")))
	if err != nil {
		return ""
	}
	return string(raw)
}
