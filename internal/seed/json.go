package seed

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/openzone/openzone/internal/protocol"
	"go.yaml.in/yaml/v3"
)

// protocol converts an ability's input or output to compact JSON: a YAML
// mapping is converted with its keys in document order; a string is taken
// as JSON text. Whether the result is a usable protocol is Validate's job.
func (d *decoder) protocol(n *yaml.Node, path string) (json.RawMessage, error) {
	dn := deref(n)
	switch {
	case dn.Kind == yaml.MappingNode:
		var b bytes.Buffer
		if err := d.toJSON(&b, n, path, 0); err != nil {
			return nil, err
		}
		return json.RawMessage(b.Bytes()), nil
	case dn.Kind == yaml.ScalarNode && dn.ShortTag() == "!!str":
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(dn.Value)); err != nil {
			// Keep it as written: Validate reports the syntax error.
			return json.RawMessage(append([]byte{}, dn.Value...)), nil
		}
		return json.RawMessage(b.Bytes()), nil
	}
	return nil, d.errorf(n.Line, "%s: want a mapping or a string holding a JSON object, got %s", path, describe(n))
}

// toJSON writes n as JSON. depth counts the mappings and sequences around n.
func (d *decoder) toJSON(b *bytes.Buffer, n *yaml.Node, path string, depth int) error {
	if err := d.visit(n); err != nil {
		return err
	}
	if n.Kind == yaml.AliasNode {
		if d.active[n] {
			return d.errorf(n.Line, "%s: anchor %q contains itself", path, n.Value)
		}
		d.active[n] = true
		defer delete(d.active, n)
	}
	dn := deref(n)
	switch dn.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		depth++
		if depth > protocol.MaxDepth {
			return d.errorf(n.Line, "%s: nested deeper than %d levels", path, protocol.MaxDepth)
		}
	}
	switch dn.Kind {
	case yaml.MappingNode:
		ps, err := d.pairs(dn, path)
		if err != nil {
			return err
		}
		b.WriteByte('{')
		for i, p := range ps {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := d.spend(n, path, len(p.name)); err != nil {
				return err
			}
			writeString(b, p.name)
			b.WriteByte(':')
			if err := d.toJSON(b, p.value, join(path, p.name), depth); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, it := range dn.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := d.toJSON(b, it, index(path, i), depth); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		if err := d.spend(n, path, len(dn.Value)); err != nil {
			return err
		}
		return d.scalarJSON(b, dn, path)
	default:
		return d.errorf(n.Line, "%s: cannot convert this YAML to JSON", path)
	}
	return nil
}

// spend counts n bytes of protocol JSON against the budget.
func (d *decoder) spend(n *yaml.Node, path string, size int) error {
	d.jsonBudget -= size
	if d.jsonBudget < 0 {
		return d.errorf(n.Line, "%s: protocols too large once aliases are expanded (more than %d bytes)", path, maxJSONBytes)
	}
	return nil
}

// scalarJSON writes a YAML scalar as the JSON value of the same type.
func (d *decoder) scalarJSON(b *bytes.Buffer, n *yaml.Node, path string) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return d.errorf(n.Line, "%s: %s is not a boolean", path, n.Value)
		}
		b.WriteString(map[bool]string{true: "true", false: "false"}[v])
	case "!!int", "!!float":
		if isJSONNumber(n.Value) {
			b.WriteString(n.Value)
			return nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return d.errorf(n.Line, "%s: %s is not a JSON number", path, n.Value)
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return d.errorf(n.Line, "%s: %s is not a JSON number", path, n.Value)
		}
		out, err := json.Marshal(v)
		if err != nil {
			return d.errorf(n.Line, "%s: %s is not a JSON number", path, n.Value)
		}
		b.Write(out)
	default: // strings, timestamps, binary, custom tags: their text
		writeString(b, n.Value)
	}
	return nil
}

func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || '0' <= s[0] && s[0] <= '9') {
		return false
	}
	return json.Valid([]byte(s))
}

// writeString writes s as a JSON string, leaving <, > and & as they are.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}
