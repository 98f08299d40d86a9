package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/analyze"
)

func TestMD(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain-name_1.0", `plain-name\_1.0`},
		{"a|b", `a\|b`},
		{"<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"},
		{"**b** _e_ `c` ~d~ $m$", `\*\*b\*\* \_e\_ \` + "`" + `c\` + "`" + ` \~d\~ \$m\$`},
		{"[l](u) ![i](u)", `\[l\]\(u\) \!\[i\]\(u\)`},
		{"line\nbreak\r\ttab", "line break  tab"},
		{"@octocat", "@\u2060octocat"},
		{"https://x.example", "https:\u2060//x.example"},
		{"see www.x.example", "see www\u2060.x.example"},
		{`back\slash`, `back\\slash`},
		{"a & b", "a &amp; b"},
	}
	for _, tt := range tests {
		if got := MD(tt.in); got != tt.want {
			t.Errorf("MD(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMDCode(t *testing.T) {
	tests := []struct{ in, table, inline string }{
		{"plain", "` plain `", "` plain `"},
		{"a`b", "`` a`b ``", "`` a`b ``"},
		{"x```y", "```` x```y ````", "```` x```y ````"},
		{"a|b", "` a\\|b `", "` a|b `"},
		{`a\|b`, "` a\\ \\|b `", "` a\\|b `"},
		{"two\nlines", "` two lines `", "` two lines `"},
		{"", "` `", "` `"},
	}
	for _, tt := range tests {
		if got := MDCode(tt.in); got != tt.table {
			t.Errorf("MDCode(%q) = %q, want %q", tt.in, got, tt.table)
		}
		if got := MDCodeInline(tt.in); got != tt.inline {
			t.Errorf("MDCodeInline(%q) = %q, want %q", tt.in, got, tt.inline)
		}
	}
}

func TestClean(t *testing.T) {
	if got := Clean("ok name"); got != "ok name" {
		t.Errorf("Clean changed plain text: %q", got)
	}
	if got := Clean("evil\x1b[31mred\nx"); strings.ContainsAny(got, "\x1b\n") {
		t.Errorf("Clean left control characters: %q", got)
	}
}

func TestSpark(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	if got := Spark([]*float64{f(0), f(0.5), nil, f(1)}, ' '); got != "▁▅ █" {
		t.Errorf("Spark = %q", got)
	}
}

func TestDuration(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for in, want := range map[float64]string{5: "5s", 4.96: "5s", 4.24: "4.2s", 0.04: "0s", 9.96: "10s", 59.6: "1m 00s", 840: "14m 00s", 3725: "1h 02m"} {
		if got := duration(f(in)); got != want {
			t.Errorf("duration(%v) = %q, want %q", in, got, want)
		}
	}
	if duration(nil) != "–" {
		t.Error("unknown duration not shown as a dash")
	}
}

func TestOutputName(t *testing.T) {
	for in, want := range map[string]string{"pass_rate": "pass_rate", "pass_rate_linux-x86.64": "pass_rate_linux-x86_64", "1st": "_st", "a b": "a_b"} {
		if got := OutputName(in); got != want {
			t.Errorf("OutputName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnnotationsEscape(t *testing.T) {
	s := &analyze.Summary{Warnings: []analyze.Warning{{Title: "a: b, c", Message: "100%\nnext::set-output name=x::y"}}}
	got := Annotations(s)
	want := "::warning title=a%3A b%2C c::100%25%0Anext::set-output name=x::y\n"
	if got != want {
		t.Errorf("Annotations = %q, want %q", got, want)
	}
	if strings.Count(got, "\n") != 1 {
		t.Error("an annotation spans lines")
	}
	// Terminal escapes, C1 and bidi controls are shown escaped.
	s = &analyze.Summary{Warnings: []analyze.Warning{{Title: "\x1b[31mred", Message: "csi \u009b2J bidi \u202e raw \x9b"}}}
	got = Annotations(s)
	want = `::warning title=\x1b[31mred::csi \x9b2J bidi \u202e raw \x9b` + "\n"
	if got != want {
		t.Errorf("Annotations = %q, want %q", got, want)
	}
}

func TestMarkdownDropsBidiControls(t *testing.T) {
	for _, in := range []string{"abc\u202edef", "x\u2066y\u2069", "c1 \u009b"} {
		for _, got := range []string{MD(in), MDCode(in)} {
			for _, r := range got {
				if r == 0x202e || r == 0x2066 || r == 0x2069 || r == 0x9b {
					t.Errorf("%q kept %U", got, r)
				}
			}
		}
	}
}

func TestCleanEscapesC1AndBidi(t *testing.T) {
	for in, want := range map[string]string{
		"npm:\x1b]8;;http://x\x07": `npm:\x1b]8;;http://x\x07`,
		"raw \x9b":                 `raw \x9b`,
		"\u009b":                   `\x9b`,
		"abc\u202edef":             `abc\u202edef`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportTextColour(t *testing.T) {
	half := 0.5
	r := &analyze.Report{Platforms: []analyze.PlatformStat{{Platform: "linux-x86_64", Tested: 10, Passed: 5, PassRate: &half}, {Platform: "linux-arm64"}}}
	var plain, colour strings.Builder
	ReportText(&plain, r, TextOptions{})
	ReportText(&colour, r, TextOptions{Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	if !strings.Contains(colour.String(), "\x1b[31m50.0%") {
		t.Error("no red for a 50% pass rate with Color")
	}
	// A platform that tested nothing has no rate: a dash, never 0.0%.
	for _, line := range strings.Split(plain.String(), "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[0] == "linux-arm64" {
			if f[5] != "–" {
				t.Errorf("a platform without tests shows a rate: %q", line)
			}
			break // the pass-rate table comes first
		}
	}
}

func TestSummaryDegrades(t *testing.T) {
	s := &analyze.Summary{BatchID: "b-1", Ecosystem: "npm", Platforms: []analyze.SummaryPlatform{{Platform: "linux-x86_64", Tested: 2000, Failed: 2000}},
		FailureFiles: []string{"data/failures/npm.jsonl"}, MetricsFile: "data/metrics/batch-runs.jsonl"}
	for i := 0; i < 2000; i++ {
		s.Failures = append(s.Failures, analyze.SummaryFailure{PackageID: fmt.Sprintf("npm:r%d", i), Platform: "linux-x86_64", Category: "install_failed",
			Excerpt: strings.Repeat("x", 300)})
	}
	full, level := SummaryMarkdown(s, 1<<30)
	if level != DetailFull || strings.Contains(full, "left out") || strings.Count(full, "\n- **npm") != 2000 {
		t.Fatalf("unbounded: level %d", level)
	}
	for _, tt := range []struct {
		limit, level int
		want         string
	}{
		{len(full) - 1, DetailShortMessages, "messages were trimmed to 80 bytes"},
		{60 << 10, DetailShortMessages, "were left out"},
		{16 << 10, DetailShortMessages, "only the first"},
		{4000, DetailNoRecipes, "the per-recipe detail (2000 failures) was left out"},
	} {
		out, level := SummaryMarkdown(s, tt.limit)
		if len(out) > tt.limit || level != tt.level || !strings.Contains(out, tt.want) || !strings.Contains(out, "| Platform |") {
			t.Errorf("limit %d: %d bytes, level %d; want level %d and %q", tt.limit, len(out), level, tt.level, tt.want)
		}
		if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
			t.Errorf("limit %d: unbalanced details", tt.limit)
		}
	}
}
