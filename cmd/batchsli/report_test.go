package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/batchsli/batchsli/internal/golden"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/schemas"
	"github.com/batchsli/batchsli/simulate"
)

var (
	simOnce sync.Once
	simDir  string
	simErr  error
)

// simulated returns a fixed simulated history shared by the report tests.
func simulated(t *testing.T) string {
	t.Helper()
	simOnce.Do(func() {
		simDir, simErr = os.MkdirTemp("", "batchsli-sim-")
		if simErr == nil {
			_, simErr = simulate.Write(simDir, simulate.Options{Batches: 60, Seed: 7, Start: time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC)})
		}
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simDir
}

func compileSchema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	data, err := schemas.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	return c.MustCompile(name)
}

const simNow = "2026-03-12T12:00:00Z"

func reportCases(t *testing.T) []struct {
	name string
	args []string
} {
	sim := simulated(t)
	return []struct {
		name string
		args []string
	}{
		{"sim-env", []string{"--data", sim, "--now", simNow}},
		{"sim-family-last20", []string{"--data", sim, "--now", simNow, "--by", "family", "--last", "20"}},
		{"sim-filtered", []string{"--data", sim, "--now", simNow, "--ecosystem", "npm", "--ecosystem", "pypi", "--platform", "linux-arm64", "--since", "2026-03-05", "--until", "2026-03-09"}},
		{"tsuku-job", []string{"--data", "../../reader/testdata/tsuku", "--now", "2026-02-20T00:00:00Z", "--by", "job"}},
		{"formats-family", []string{"--data", "../../reader/testdata/formats", "--now", "2026-01-30T12:00:00Z", "--by", "family"}},
		{"bad", []string{"--data", "../../reader/testdata/bad", "--now", "2026-01-05T00:00:00Z"}},
		{"demo", []string{"--demo"}},
		{"sim-week-sunday", []string{"--data", sim, "--now", simNow, "--week-start", "sun", "--week-budget", "300"}},
	}
}

func TestReportGolden(t *testing.T) {
	sim := simulated(t)
	for _, tc := range reportCases(t) {
		for _, format := range []string{"text", "markdown", "json"} {
			t.Run(tc.name+"-"+format, func(t *testing.T) {
				res := cli(t, append([]string{"report", "--format", format}, tc.args...)...)
				if res.code != 0 {
					t.Fatalf("exit %d: %s", res.code, res.stderr)
				}
				out := strings.ReplaceAll(strings.ReplaceAll(res.stdout, sim, "SIM"), render.MD(sim), "SIM")
				ext := map[string]string{"text": "txt", "markdown": "md", "json": "json"}[format]
				golden.Check(t, "testdata/report/"+tc.name+"."+ext, []byte(out))
			})
		}
	}
}

func TestReportJSONSchema(t *testing.T) {
	sch := compileSchema(t, "report.schema.json")
	for _, tc := range reportCases(t) {
		res := cli(t, append([]string{"report", "--format", "json"}, tc.args...)...)
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(res.stdout))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: report does not fit its schema: %v", tc.name, err)
		}
	}
	// The schema is not vacuous.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"report_version":1,"platforms":[{"pass_rate":1.5}]}`))
	if sch.Validate(bad) == nil {
		t.Error("schema accepted a report with a pass rate of 1.5 and no required fields")
	}
}

// cmarkGFM renders markdown with GitHub's renderer, or skips outside CI
// when it is not installed (.ci/run installs it).
func cmarkGFM(t *testing.T, md string, unsafe bool) string {
	t.Helper()
	if unsafe {
		return cmarkGFMWith(t, md, "--unsafe")
	}
	return cmarkGFMWith(t, md)
}

var (
	tableRe = regexp.MustCompile(`(?s)<table>.*?</table>`)
	rowRe   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRe  = regexp.MustCompile(`<t[hd][ >]`)
)

// checkTables asserts every table's rows have as many cells as its header
// and returns the tables' header rows.
func checkTables(t *testing.T, html string) []string {
	t.Helper()
	var headers []string
	for _, table := range tableRe.FindAllString(html, -1) {
		rows := rowRe.FindAllStringSubmatch(table, -1)
		if len(rows) == 0 {
			t.Errorf("table without rows: %s", table)
			continue
		}
		headers = append(headers, rows[0][1])
		want := len(cellRe.FindAllString(rows[0][1], -1))
		for i, r := range rows[1:] {
			if got := len(cellRe.FindAllString(r[1], -1)); got != want {
				t.Errorf("table row %d has %d cells, header %d:\n%s", i+1, got, want, r[1])
			}
		}
	}
	return headers
}

func TestReportMarkdownRendersTables(t *testing.T) {
	for _, tc := range reportCases(t) {
		res := cli(t, append([]string{"report", "--format", "markdown"}, tc.args...)...)
		html := cmarkGFM(t, res.stdout, false)
		headers := checkTables(t, html)
		if len(headers) < 3 {
			t.Errorf("%s: %d tables rendered, want at least platforms, categories and matrix", tc.name, len(headers))
		}
		if !strings.Contains(headers[0], "<th>Platform</th>") {
			t.Errorf("%s: first table is not the platform table: %s", tc.name, headers[0])
		}
		// Markdown source tables: every row as many cells as its header.
		if strings.Count(res.stdout, "\n| Platform | Tested |") != 1 {
			t.Errorf("%s: platform table header not found once", tc.name)
		}
	}
}

func TestReportJSONMatchesRecords(t *testing.T) {
	// Platform totals equal the sum of the simulated records.
	sim := simulated(t)
	res := cli(t, "report", "--data", sim, "--now", simNow, "--by", "family", "--format", "json")
	var rep struct {
		Batches   int
		Platforms []struct {
			Platform               string
			Tested, Passed, Failed int64
		}
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(sim + "/metrics/batch-runs.jsonl")
	want := map[string][3]int64{}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, l := range lines {
		var r struct {
			Platforms map[string]struct{ Tested, Passed, Failed int64 }
		}
		json.Unmarshal([]byte(l), &r)
		for id, c := range r.Platforms {
			w := want[id]
			want[id] = [3]int64{w[0] + c.Tested, w[1] + c.Passed, w[2] + c.Failed}
		}
	}
	if rep.Batches != len(lines) || len(rep.Platforms) != len(want) || len(want) != 11 {
		t.Fatalf("%d batches, %d platforms; want %d and %d (11)", rep.Batches, len(rep.Platforms), len(lines), len(want))
	}
	for _, p := range rep.Platforms {
		if w := want[p.Platform]; w != [3]int64{p.Tested, p.Passed, p.Failed} {
			t.Errorf("%s: %d/%d/%d, records say %v", p.Platform, p.Tested, p.Passed, p.Failed, w)
		}
	}
}

func TestReportUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--by", "distro"}, "--by must be family, env, job or os"},
		{[]string{"--format", "html"}, "--format must be text, markdown or json"},
		{[]string{"--last", "-3"}, "--last must be a positive number"},
		{[]string{"--since", "March"}, "--since"},
		{[]string{"--since", "2026-03-05", "--until", "2026-03-01"}, "must be after --since"},
		{[]string{"--skip-threshold", "80"}, "--skip-threshold must be a rate between 0 and 1"},
		{[]string{"--week-budget", "0"}, "--week-budget must be a positive number"},
		{[]string{"--now", "today"}, "--now"},
		{[]string{"--ecosystem", "../x"}, "is not an ecosystem name"},
		{[]string{"--week-start", "someday"}, "is not a weekday"},
	}
	for _, tt := range tests {
		res := cli(t, append([]string{"report", "--demo"}, tt.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
}

// TestReportFitsTheTerminal: the text report at 80, 100 and 160 columns,
// with and without colour. No line is wider than the terminal (escape
// sequences take no columns); the coloured report, its escapes stripped,
// is the plain one byte for byte, so colour moves no column; the plain
// ones are golden.
func TestReportFitsTheTerminal(t *testing.T) {
	for _, w := range []string{"40", "80", "100", "160"} {
		plain := cli(t, "report", "--demo", "--width", w, "--color", "never")
		color := cli(t, "report", "--demo", "--width", w, "--color", "always")
		if plain.code != 0 || color.code != 0 {
			t.Fatalf("width %s: exit %d, %d: %s%s", w, plain.code, color.code, plain.stderr, color.stderr)
		}
		if !strings.Contains(color.stdout, "\x1b[") || strings.Contains(plain.stdout, "\x1b") {
			t.Errorf("width %s: --color always has no colour, or never has some", w)
		}
		if render.StripANSI(color.stdout) != plain.stdout {
			t.Errorf("width %s: the coloured report, stripped, differs from the plain one", w)
		}
		limit, _ := strconv.Atoi(w)
		for i, line := range strings.Split(color.stdout, "\n") {
			if n := render.Width(line); n > limit {
				t.Errorf("width %s: line %d is %d columns: %q", w, i+1, n, render.StripANSI(line))
			}
		}
		golden.Check(t, "testdata/report/demo-width"+w+".txt", []byte(plain.stdout))
	}
}

// TestColorFlag: --color and the environment that auto reads.
func TestColorFlag(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tt := range []struct {
		term bool
		env  func(string) string
		want bool
	}{
		{true, env(), true},
		{false, env(), false},
		{true, env("NO_COLOR", "1"), false},
		{true, env("NO_COLOR", ""), true},
		{true, env("TERM", "dumb"), false},
		{false, env("CLICOLOR_FORCE", "1"), true},
		{false, env("CLICOLOR_FORCE", "0"), false},
		{false, env("CLICOLOR_FORCE", "1", "NO_COLOR", "1"), false},
	} {
		if got := colorAuto(tt.term, tt.env); got != tt.want {
			t.Errorf("terminal %t, NO_COLOR %q TERM %q CLICOLOR_FORCE %q: colour %t, want %t", tt.term, tt.env("NO_COLOR"), tt.env("TERM"), tt.env("CLICOLOR_FORCE"), got, tt.want)
		}
	}
	// Through a pipe (a buffer here), auto never colours; always does.
	if res := cli(t, "report", "--demo"); strings.Contains(res.stdout, "\x1b") {
		t.Error("colour through a pipe with --color auto")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--color", "sometimes"}, "--color must be auto, always or never"},
		{[]string{"--width", "12"}, "--width 12 is too narrow; give at least 40"},
		{[]string{"--width", "-3"}, "--width must be a number of columns"},
	} {
		res := cli(t, append([]string{"report", "--demo"}, tt.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, %q", tt.args, res.code, res.stderr)
		}
	}
	// COLUMNS sets the width when the output is not a terminal.
	t.Setenv("COLUMNS", "80")
	res := cli(t, "report", "--demo")
	if want := cli(t, "report", "--demo", "--width", "80"); res.stdout != want.stdout {
		t.Error("COLUMNS=80 does not lay the report out as --width 80")
	}
}
