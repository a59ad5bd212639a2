package sandbox

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// DNS message constants (RFC 1035 §4.1.1).
const (
	dnsHeaderLen  = 12
	dnsRcodeRefus = 5 // REFUSED
	dnsFlagQR     = 0x8000
	dnsFlagRD     = 0x0100
	dnsOpcodeMask = 0x7800
)

var errNotQuery = errors.New("not a DNS query")

// refuseDNS answers a DNS query with REFUSED and no records, and returns
// the name and type that were asked for ("example.com", "A"). The reply
// echoes the question so that resolvers accept it and give up at once.
func refuseDNS(q []byte) (reply []byte, name, qtype string, err error) {
	if len(q) < dnsHeaderLen {
		return nil, "", "", errNotQuery
	}
	flags := binary.BigEndian.Uint16(q[2:4])
	if flags&dnsFlagQR != 0 {
		return nil, "", "", errNotQuery
	}
	qdcount := binary.BigEndian.Uint16(q[4:6])
	end := dnsHeaderLen
	if qdcount > 0 {
		var labels []string
		n, off, err := readName(q, dnsHeaderLen, labels)
		if err != nil || off+4 > len(q) {
			return nil, "", "", errNotQuery
		}
		name = n
		qtype = typeName(binary.BigEndian.Uint16(q[off : off+2]))
		end = off + 4
	}
	reply = make([]byte, end)
	copy(reply, q[:end])
	binary.BigEndian.PutUint16(reply[2:4], dnsFlagQR|flags&(dnsOpcodeMask|dnsFlagRD)|dnsRcodeRefus)
	if qdcount > 0 {
		binary.BigEndian.PutUint16(reply[4:6], 1)
	}
	clear(reply[6:12]) // no answer, authority or additional records
	return reply, name, qtype, nil
}

// readName reads an uncompressed question name at off (questions are
// never compressed) and returns it without the final dot.
func readName(msg []byte, off int, labels []string) (string, int, error) {
	for total := 0; ; {
		if off >= len(msg) {
			return "", 0, errNotQuery
		}
		n := int(msg[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(msg) {
			return "", 0, errNotQuery
		}
		if total += n + 1; total > 255 {
			return "", 0, errNotQuery
		}
		labels = append(labels, string(msg[off:off+n]))
		off += n
	}
	if len(labels) == 0 {
		return ".", off, nil
	}
	return strings.Join(labels, "."), off, nil
}

func typeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 28:
		return "AAAA"
	case 5:
		return "CNAME"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 33:
		return "SRV"
	case 12:
		return "PTR"
	case 65:
		return "HTTPS"
	}
	return "TYPE" + strconv.Itoa(int(t))
}
