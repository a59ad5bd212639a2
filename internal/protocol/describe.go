package protocol

import (
	"sort"
	"strconv"
)

// Field is one line of what a protocol accepts: a path from the top-level
// object ("items[].name") and the JSON types it takes there.
type Field struct {
	Path    string `json:"path"`
	Accepts string `json:"accepts"`
}

// Describe lists what t accepts, one Field per key and array element
// shape, depth first with keys in order. A value the example gives as
// null accepts "anything".
func (t *Template) Describe() []Field {
	var out []Field
	describe(t.root, "", &out)
	return out
}

func describe(n *node, path string, out *[]Field) {
	keys := make([]string, 0, len(n.fields))
	for k := range n.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := k
		if !plainKey(k) {
			p = "[" + strconv.Quote(k) + "]"
		} else if path != "" {
			p = "." + k
		}
		describeValue(n.fields[k], path+p, out)
	}
}

func describeValue(n *node, path string, out *[]Field) {
	if n.any {
		*out = append(*out, Field{Path: path, Accepts: "anything"})
		return
	}
	*out = append(*out, Field{Path: path, Accepts: n.kinds.describe()})
	if n.kinds&kObject != 0 {
		describe(n, path, out)
	}
	if n.kinds&kArray != 0 {
		if n.elem == nil {
			*out = append(*out, Field{Path: path + "[]", Accepts: "anything"})
			return
		}
		describeValue(n.elem, path+"[]", out)
	}
}
