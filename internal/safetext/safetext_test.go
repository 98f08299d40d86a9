package safetext

import "testing"

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
