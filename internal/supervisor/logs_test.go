package supervisor

import (
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"Lines", "a\nbb\n\nccc\n", 8, []string{"a", "bb", "", "ccc"}},
		{"NoFinalNewline", "a\nbb", 8, []string{"a", "bb"}},
		{"CRLF", "a\r\nb\r\n", 8, []string{"a", "b"}},
		{"ExactlyMax", "12345678\nx\n", 8, []string{"12345678", "x"}},
		{"SplitLong", "1234567890abcdefghij\nx\n", 8, []string{"12345678", "90abcdef", "ghij", "x"}},
		{"SplitLongNoNewline", "1234567890", 4, []string{"1234", "5678", "90"}},
		{"SplitAtRuneBoundary", "ab数据与智能\n", 4, []string{"ab", "数", "据", "与", "智", "能"}},
		{"Empty", "", 8, nil},
	}
	for _, tt := range tests {
		for _, reader := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"Whole", func(r io.Reader) io.Reader { return r }},
			{"OneByte", iotest.OneByteReader},
			{"DataErr", iotest.DataErrReader},
		} {
			t.Run(tt.name+"/"+reader.name, func(t *testing.T) {
				var got []string
				readLines(reader.wrap(strings.NewReader(tt.in)), tt.max, func(s string) { got = append(got, s) })
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestLogbook_Tail(t *testing.T) {
	b := newLogbook(3, "", "p")
	for _, s := range []string{"1", "2", "3", "4", "5"} {
		b.add(LogLine{Stream: StreamZone, Text: s})
	}
	texts := func(ls []LogLine) (out []string) {
		for _, l := range ls {
			out = append(out, l.Text)
		}
		return out
	}
	tests := []struct {
		tail int
		want []string
	}{
		{0, []string{"3", "4", "5"}},
		{-1, []string{"3", "4", "5"}},
		{2, []string{"4", "5"}},
		{10, []string{"3", "4", "5"}},
	}
	for _, tt := range tests {
		if got := texts(b.tail(tt.tail)); !slices.Equal(got, tt.want) {
			t.Errorf("tail(%d) = %q, want %q", tt.tail, got, tt.want)
		}
	}
}

func TestIsBindError(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"listen tcp :8080: bind: address already in use", true},
		{"Error: listen EADDRINUSE: address :::8080", true},
		{"ADDRESS ALREADY IN USE", true},
		{"listening addr=127.0.0.1:8080", false},
		{"", false},
		{"eaddrinus", false},
	} {
		if got := isBindError(tc.line); got != tc.want {
			t.Errorf("isBindError(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
