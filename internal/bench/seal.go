package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/openzone/openzone/internal/wire"
	"github.com/openzone/openzone/sdk/zonewire"
)

// runSeal measures one packet sealed and opened, in MB/s of plaintext, on
// 1 KB and 64 KB payloads:
//
//	raw          crypto/aes + cipher.GCM: pre-built AEAD, fixed nonce, the
//	             zone's AAD, reused buffers (the floor of the cipher)
//	raw-b64      raw, with the sealed bytes encoded to and decoded from
//	             standard base64 as protocol v2 sends them (the floor of the
//	             format: what the text body costs with encoding/base64)
//	wire-append  internal/wire SealAppend/OpenAppend (reused buffers)
//	wire         internal/wire Seal/Open, as the zone's gateway and SDK API
//	             call them (fresh buffers, random nonce)
//	sdk          sdk/zonewire Seal/Open, as a program's SDK calls them
//
// Each variant runs in rounds interleaved with the others; the best round
// counts, so a neighbour's burst on the shared machine does not decide it.
func runSeal(ctx context.Context, r *runner) (*Section, error) {
	round, rounds := pick(r, 100*time.Millisecond, 20*time.Millisecond), pick(r, 15, 2)
	hd := wire.Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: wire.NewRequestID(), Timestamp: 1767225600}
	zhd := zonewire.Header{ProgramID: hd.ProgramID, SecretVer: hd.SecretVer, RequestID: hd.RequestID, Timestamp: hd.Timestamp}
	keys := wire.NewKeys(wire.NewSecret(1))
	sdkKeys := zonewire.NewKeys(zonewire.NewSecret(1))
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, wire.NonceSize)
	aad := wire.AAD(wire.PurposeCall, hd)

	sec := &Section{Settings: fmt.Sprintf("one goroutine; %d rounds of %s per variant and size, interleaved; best round counts", rounds, round)}
	for _, size := range []int{1 << 10, 64 << 10} {
		pt := make([]byte, size)
		rand.Read(pt)
		ct := make([]byte, 0, wire.BodyLen(size)+size+wire.Overhead)
		out := make([]byte, 0, size+wire.Overhead)
		text := make([]byte, wire.BodyLen(size))
		variants := []struct {
			name string
			op   func() error
		}{
			{"raw", func() error {
				c := g.Seal(ct[:0], nonce, pt, aad)
				_, err := g.Open(out[:0], nonce, c, aad)
				return err
			}},
			{"raw-b64", func() error {
				c := g.Seal(ct[:0], nonce, pt, aad)
				base64.StdEncoding.Encode(text, c)
				n, err := base64.StdEncoding.Decode(out[:cap(out)], text[:base64.StdEncoding.EncodedLen(len(c))])
				if err != nil {
					return err
				}
				_, err = g.Open(out[:0], nonce, out[:n], aad)
				return err
			}},
			{"wire-append", func() error {
				c := keys.SealAppend(ct[:0], wire.PurposeCall, hd, pt)
				_, err := keys.OpenAppend(out[:0], wire.PurposeCall, hd, c)
				return err
			}},
			{"wire", func() error {
				_, err := keys.Open(wire.PurposeCall, hd, keys.Seal(wire.PurposeCall, hd, pt))
				return err
			}},
			{"sdk", func() error {
				_, err := sdkKeys.Open(zonewire.PurposeCall, zhd, sdkKeys.Seal(zonewire.PurposeCall, zhd, pt))
				return err
			}},
			{"sdk-append", func() error {
				c := sdkKeys.SealAppend(ct[:0], zonewire.PurposeCall, zhd, pt)
				_, err := sdkKeys.OpenAppend(out[:0], zonewire.PurposeCall, zhd, c)
				return err
			}},
		}
		best := make([]float64, len(variants))
		for range rounds {
			for i, v := range variants {
				n, start := 0, time.Now()
				for time.Since(start) < round {
					for range 16 {
						if err := v.op(); err != nil {
							return nil, fmt.Errorf("%s %d B: %w", v.name, size, err)
						}
					}
					n += 16
				}
				mbs := float64(n) * float64(size) / time.Since(start).Seconds() / 1e6
				best[i] = max(best[i], mbs)
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		label := fmt.Sprintf("%d KB", size>>10)
		for i, v := range variants {
			sec.Values = append(sec.Values, Value{Name: v.name + " " + label, Value: best[i], Unit: "MB/s"})
			r.progressf("   %-18s %9.1f MB/s  (%.2fx raw)", v.name+" "+label, best[i], ratio(best[i], best[0]))
		}
		sec.Notes = append(sec.Notes, fmt.Sprintf("%s: raw-b64 %.2f× raw; wire-append %.2f× raw-b64, wire %.2f×, sdk %.2f×, sdk-append %.2f×",
			label, ratio(best[1], best[0]), ratio(best[2], best[1]), ratio(best[3], best[1]), ratio(best[4], best[1]), ratio(best[5], best[1])))
		if size == 64<<10 {
			// Protocol v2's text body sets the floor (raw-b64); the code
			// should add nothing beyond it.
			sec.Targets = append(sec.Targets,
				target("seal+open 64 KB wire-append/raw-b64", ratio(best[2], best[1]), ">=", 0.9, "x"),
				target("seal+open 64 KB sdk-append/raw-b64", ratio(best[5], best[1]), ">=", 0.9, "x"))
		}
	}
	return sec, nil
}
