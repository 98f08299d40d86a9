package safetext

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain name.jsonl", "plain name.jsonl"},
		{`C:\data\x`, `C:\data\x`}, // nothing else to escape: left as it is
		{"ünïcode ✓", "ünïcode ✓"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"a\nb\rc\td", `a\nb\rc\td`},
		{"csi \u009b31m", `csi \x9b31m`}, // C1 as a character
		{"raw \x9b31m", `raw \x9b31m`},   // C1 as a lone byte (not UTF-8)
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`},
		{"mark \u200f \u061c", `mark \u200f \u061c`},
		{"del \x7f", `del \x7f`},
		{"bad \xff\xfe", `bad \xff\xfe`},
		{"both \\ and \x07", `both \\ and \x07`},
		{"zero\u200bwidth\u2060\ufeff\u00ad", `zero\u200bwidth\u2060\ufeff\xad`},
		{"tag \U000e0041", `tag \U000e0041`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if Safe(Escape(tt.in)) != true {
			t.Errorf("Escape(%q) is not safe", tt.in)
		}
	}
}

func TestEscapeJSON(t *testing.T) {
	in := []byte("{\n  \"c\": \"a\u202eb\u0085c\u2028d\x7fe\"\n}\n")
	want := "{\n  \"c\": \"a\\u202eb\\u0085c\\u2028d\\u007fe\"\n}\n"
	if got := string(EscapeJSON(in)); got != want {
		t.Errorf("EscapeJSON = %q, want %q", got, want)
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("\x1b[2J\u202e\x9b")
	f.Fuzz(func(t *testing.T, s string) {
		if e := Escape(s); !Safe(e) {
			t.Errorf("Escape(%q) = %q is not safe", s, e)
		}
	})
}

// FuzzEscapeJSON checks that escaping keeps valid JSON text decoding to the
// same value and leaves nothing unsafe but the whitespace between tokens.
func FuzzEscapeJSON(f *testing.F) {
	f.Add("a\u202eb\u0085c\u2028d\x7fe\U000e0041")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		in, err := json.Marshal(map[string]string{s: s})
		if err != nil {
			t.Skip()
		}
		// Indented, as the renderers write it: newlines between tokens.
		var ind bytes.Buffer
		json.Indent(&ind, in, "", "  ")
		out := EscapeJSON(ind.Bytes())
		var a, b map[string]string
		if err := json.Unmarshal(ind.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("EscapeJSON(%q) = %q: %v", ind.Bytes(), out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("EscapeJSON changed %q to %q", a, b)
		}
		if !Safe(strings.ReplaceAll(string(out), "\n", "")) {
			t.Errorf("EscapeJSON(%q) = %q is not safe", ind.Bytes(), out)
		}
	})
}

// FuzzSafe: Safe is its definition: valid UTF-8 with no Unsafe character.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"", "crates.io:serde", "a\x7fb", "a\x9bb", "é", "\xff", "ab\u202ec", "a\tb", "x\u00a0y", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := utf8.ValidString(s) && !strings.ContainsFunc(s, Unsafe)
		if got := Safe(s); got != want {
			t.Fatalf("Safe(%q) = %v, want %v", s, got, want)
		}
	})
}
