package render

import (
	"strings"
	"testing"
)

func TestWidth(t *testing.T) {
	for _, tt := range []struct {
		s string
		w int
	}{
		{"", 0}, {"abc", 3}, {"\x1b[31mred\x1b[0m", 3}, {"\x1b[1;32mok\x1b[0m", 2},
		{"▁▂▃", 3}, {"94.5–96.7%", 10}, {"日本", 4}, {"e\u0301", 1}, {"🙂", 2}, {"a\u200bb", 2},
	} {
		if got := Width(tt.s); got != tt.w {
			t.Errorf("Width(%q) = %d, want %d", tt.s, got, tt.w)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		s     string
		width int
		soft  bool
		want  string
	}{
		{"no significant change", 11, false, "no|significant|change"},
		{"no significant change", 14, false, "no significant|change"},
		{"2026-03-21-rubygems-002", 12, false, "2026-03-21-r|ubygems-002"},
		{"2026-03-21-rubygems-002", 12, true, "2026-03-21-|rubygems-002"},
		{"linux-glibc-x86_64", 13, true, "linux-glibc-|x86_64"},
		{"aaaaaaaaaa", 4, false, "aaaa|aaaa|aa"},
		{"", 5, false, ""},
	} {
		if got := strings.Join(Wrap(tt.s, tt.width, tt.soft), "|"); got != tt.want {
			t.Errorf("Wrap(%q, %d, %t) = %q, want %q", tt.s, tt.width, tt.soft, got, tt.want)
		}
	}
}

// TestLayout walks a table through each of layout's steps.
func TestLayout(t *testing.T) {
	tbl := textTable{rows: [][]string{
		{"PLATFORM", "PASS RATE", "TREND", "SPARK"},
		{"linux-glibc-x86_64", "\x1b[32m91.2%\x1b[0m", "-1.4 pts, no significant change", "▇▇▇▇▇▇▇▇▇▇"},
		{"darwin-arm64", "\x1b[31m49.8%\x1b[0m", "+3.6 pts, worse", "▅▄▃▂▁▁▁▁▁▁"},
	}, drop: []int{3}}
	for _, tt := range []struct {
		width   int
		want    string
		dropped string
	}{
		{0, `
PLATFORM            PASS RATE  TREND                            SPARK
linux-glibc-x86_64  91.2%      -1.4 pts, no significant change  ▇▇▇▇▇▇▇▇▇▇
darwin-arm64        49.8%      +3.6 pts, worse                  ▅▄▃▂▁▁▁▁▁▁`, ""},
		// The header wraps first, then the widest column.
		{60, `
PLATFORM            PASS   TREND                  SPARK
                    RATE
linux-glibc-x86_64  91.2%  -1.4 pts, no           ▇▇▇▇▇▇▇▇▇▇
                           significant change
darwin-arm64        49.8%  +3.6 pts, worse        ▅▄▃▂▁▁▁▁▁▁`, ""},
		// Then a column is left out.
		{40, `
PLATFORM            PASS   TREND
                    RATE
linux-glibc-x86_64  91.2%  -1.4 pts, no
                           significant
                           change
darwin-arm64        49.8%  +3.6 pts,
                           worse`, "SPARK"},
		// Then identifiers break after a hyphen (x86_64 stays whole).
		{30, `
PLATFORM    PASS   TREND
            RATE
linux-      91.2%  -1.4 pts,
glibc-             no
x86_64             significant
                   change
darwin-     49.8%  +3.6 pts,
arm64              worse`, "SPARK"},
		// Then a block a row.
		{20, `
linux-glibc-x86_64
  pass rate: 91.2%
  trend: -1.4 pts,
    no significant
    change

darwin-arm64
  pass rate: 49.8%
  trend: +3.6 pts,
    worse`, "SPARK"},
	} {
		lines, dropped := tbl.layout(tt.width)
		got := "\n" + StripANSI(strings.Join(lines, "\n"))
		if got != tt.want || strings.Join(dropped, ",") != tt.dropped {
			t.Errorf("width %d: got%s\ndropped %v; want%s\ndropped %s", tt.width, got, dropped, tt.want, tt.dropped)
		}
		for _, l := range lines {
			if tt.width > 0 && Width(l) > tt.width {
				t.Errorf("width %d: %q is %d wide", tt.width, l, Width(l))
			}
			// A coloured cell's colour ends on its own line.
			if strings.Count(l, "\x1b[3") != strings.Count(l, "\x1b[0m") {
				t.Errorf("width %d: colour not closed on %q", tt.width, l)
			}
		}
	}
}
