package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestHelpOnStdout: -h, --help and help COMMAND print the same help on
// standard output, with status 0 and nothing on standard error.
func TestHelpOnStdout(t *testing.T) {
	for _, c := range commandNames() {
		if c == "help" {
			continue
		}
		want := cli(t, c, "--help")
		for _, args := range [][]string{{c, "-h"}, {"help", c}, {c, "-help"}} {
			got := cli(t, args...)
			if got != want || got.code != 0 || got.stderr != "" || !strings.HasPrefix(got.stdout, "Usage: batchsli "+c) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want the help of %s (exit 0, nothing on stderr)", args, got.code, got.stdout, got.stderr, c)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		got := cli(t, args...)
		if got.code != 0 || got.stderr != "" || !strings.Contains(got.stdout, "Commands:") {
			t.Errorf("%v: exit %d, stderr %q", args, got.code, got.stderr)
		}
	}
	// With no command, the usage is an error: on stderr, status 2.
	if got := cli(t); got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, "Commands:") {
		t.Errorf("no command: exit %d, stdout %q", got.code, got.stdout)
	}
}

// TestHelpSpellsDoubleDash: help names flags as the README does (--flag),
// and no help line is wider than 80 columns.
func TestHelpSpellsDoubleDash(t *testing.T) {
	single := regexp.MustCompile(`(^|\s)-[a-z][a-z-]+`)
	for _, c := range commandNames() {
		out := cli(t, "help", c).stdout
		for _, line := range strings.Split(out, "\n") {
			if m := single.FindString(line); m != "" {
				t.Errorf("%s help: %q spells a flag with one dash", c, line)
			}
			if len([]rune(line)) > 80 {
				t.Errorf("%s help: %d columns: %q", c, len([]rune(line)), line)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	a, b := cli(t, "--version"), cli(t, "version")
	if a != b || a.code != 0 || !regexp.MustCompile(`^batchsli \S+ \(.*go1\.\d+.*\)\n$`).MatchString(a.stdout) {
		t.Errorf("--version: %+v; version: %+v", a, b)
	}
}

// TestCLIDefects holds a case per defect of the CLI: each must say what
// to do next, in one line, with the documented status.
func TestCLIDefects(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no ./data here
	os.WriteFile("hostile.json", []byte(`[{"recipe":"a\u0007b","platform":"linux-x86_64","status":"pass"}]`), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no data directory", []string{"report"}, 2,
			"report: there is no data directory data; name one with --data DIR (the default is ./data), or try --demo for the sample built into batchsli"},
		{"data directory given but missing", []string{"summary", "--data", "nowhere"}, 2,
			"summary: there is no data directory nowhere; check the path given to --data, or try --demo"},
		{"positional folder", []string{"validate", "mydata/"}, 2,
			`validate: unexpected argument "mydata/": the command takes flags only (did you mean --data mydata/?)`},
		{"positional to report", []string{"report", "--demo", "extra"}, 2, `report: unexpected argument "extra"`},
		{"two recipes", []string{"recipe", "--demo", "a", "b"}, 2, "recipe: give one recipe"},
		{"demo and data", []string{"report", "--demo", "--data", "x"}, 2,
			"report: --demo reads the sample built into batchsli; give it or --data, not both"},
		{"demo and data, validate", []string{"validate", "--data", "x", "--demo"}, 2, "give it or --data, not both"},
		{"unknown ecosystem", []string{"report", "--demo", "--ecosystem", "cargo"}, 2,
			`report: --ecosystem "cargo" matches nothing in the data; its ecosystems: crates.io, github, go, homebrew, npm, pypi, rubygems`},
		{"unknown platform", []string{"report", "--demo", "--platform", "windows-x86_64"}, 2,
			`report: --platform "windows-x86_64" matches nothing in the data; its platforms: darwin-arm64, darwin-x86_64, linux-alpine-musl-arm64`},
		{"platform outside the ecosystem", []string{"report", "--demo", "--ecosystem", "homebrew", "--platform", "linux-nope"}, 2,
			`--platform "linux-nope" matches nothing`},
		{"flag typo", []string{"report", "--ecosytem", "npm"}, 2,
			"report: unknown flag --ecosytem; did you mean --ecosystem? ('batchsli report --help' lists its flags)"},
		{"single-dash typo", []string{"summary", "-batchid", "x"}, 2, "did you mean --batch-id?"},
		{"unknown flag, nothing near", []string{"validate", "--zzzzzz"}, 2, "validate: unknown flag --zzzzzz ('batchsli validate --help'"},
		{"bad value", []string{"report", "--last", "x"}, 2, `report: invalid value "x" for flag --last`},
		{"missing value", []string{"report", "--data"}, 2, "report: flag needs an argument: --data"},
		{"command typo", []string{"reprot"}, 2, `unknown command "reprot"; did you mean report? ('batchsli help' lists the commands)`},
		{"command typo, help", []string{"help", "sumary"}, 2, `did you mean summary?`},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate" ('batchsli help'`},
		{"global flag typo", []string{"--verison"}, 2, "unknown flag --verison before a command; did you mean --version?"},
		{"flag before the command", []string{"--data", "x", "report"}, 2, "a command's flags follow it (batchsli report --data DIR)"},
		{"record bad data", []string{"record", "--data", "d", "--ecosystem", "npm", "missing.json"}, 1, "(nothing was recorded)"},
		{"completion without shell", []string{"completion"}, 2, "completion: name one shell: bash, zsh or fish"},
		{"since after the clock", []string{"report", "--demo", "--since", "2030-01-01"}, 2, "--since (2030-01-01T00:00:00Z) is not before the report's clock"},
		{"recipe name with a control character", []string{"record", "--data", "hostile-data", "--ecosystem", "npm", "hostile.json"}, 1,
			`hostile.json:1: result [0]: recipe "a\ab" is longer than 1,000 bytes or holds control, bidirectional or invisible characters (nothing was recorded)`},
	}
	for _, tt := range tests {
		res := cli(t, tt.args...)
		if res.code != tt.code || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s %v: exit %d, stderr %q; want %d and %q", tt.name, tt.args, res.code, res.stderr, tt.code, tt.want)
		}
		if n := strings.Count(res.stderr, "\n"); n != 1 {
			t.Errorf("%s: %d lines on stderr, want one: %q", tt.name, n, res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("%s: wrote %q to stdout", tt.name, res.stdout)
		}
	}
	// Nothing was written for the refused batch: not even the directory.
	if _, err := os.Stat("hostile-data"); err == nil {
		t.Error("record created the data directory for a batch it refused")
	}
	// A known ecosystem and a platform prefix are accepted.
	if res := cli(t, "report", "--demo", "--ecosystem", "npm", "--platform", "linux", "--format", "json"); res.code != 0 {
		t.Errorf("known filters: exit %d, %s", res.code, res.stderr)
	}
}

func TestNearest(t *testing.T) {
	names := []string{"data", "demo", "ecosystem", "platform", "batch-id", "format", "week-start", "week-budget"}
	for _, tt := range []struct{ in, want string }{
		{"ecosytem", "ecosystem"}, {"platfrom", "platform"}, {"dmeo", "demo"}, {"date", "data"},
		{"batchid", "batch-id"}, {"fromat", "format"}, {"week", ""}, {"week-s", "week-start"},
		{"zzzz", ""}, {"x", ""}, {"", ""},
	} {
		if got := nearest(tt.in, names); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"ca", "ac", 1}, {"ecosytem", "ecosystem", 1}} {
		if d := editDistance(tt.a, tt.b); d != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}

func TestComplete(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{""}, "check\ncompact\ncompletion\nexport\nhelp\nrecipe\nrecord\nreport\nrules\nsimulate\nsite\nsummary\nvalidate\nversion\n"},
		{[]string{"re"}, "recipe\nrecord\nreport\n"},
		{[]string{"help", "su"}, "summary\n"},
		{[]string{"completion", ""}, "bash\nfish\nzsh\n"},
		{[]string{"report", "--f"}, "--format\n"},
		{[]string{"report", "--format", ""}, "json\nmarkdown\ntext\n"},
		{[]string{"summary", "--format", "j"}, "json\n"},
		{[]string{"report", "--format", "=", ""}, "json\nmarkdown\ntext\n"},
		{[]string{"report", "--format=m"}, "--format=markdown\n"},
		{[]string{"report", "--by", ""}, "env\nfamily\njob\nos\n"},
		{[]string{"report", "--data", ""}, ""}, // a folder: the shell completes it
		{[]string{"report", "--demo", ""}, ""},
		{[]string{"validate", "-"}, "--data\n--demo\n--format\n--help\n"},
		{[]string{"nope", "-"}, ""},
	} {
		res := cli(t, append([]string{"__complete"}, tt.args...)...)
		if res.code != 0 || res.stdout != tt.want {
			t.Errorf("__complete %q: exit %d, %q; want %q", tt.args, res.code, res.stdout, tt.want)
		}
	}
}

// TestBashCompletion sources the bash script in a real bash and completes
// with the test binary standing in for batchsli.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	stub := "#!/bin/sh\nBATCHSLI_TEST_MAIN=1 exec " + shellQuote(os.Args[0]) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "batchsli"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	script := cli(t, "completion", "bash").stdout
	work := t.TempDir()
	os.Mkdir(filepath.Join(work, "data-dir"), 0o755)
	for _, tt := range []struct{ line, want string }{
		{"batchsli rep", "report"},
		{"batchsli report --for", "--format"},
		{"batchsli report --format m", "markdown"},
		{"batchsli report --data data-", "data-dir"},
	} {
		words := strings.Fields(tt.line)
		if strings.HasSuffix(tt.line, " ") {
			words = append(words, "")
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellQuote(w))
		}
		prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) +
			"\n_batchsli\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(bash, "--norc", "-c", prog)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("%q: %v, completions %q; want %q", tt.line, err, out, tt.want)
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestReadmeUpdateCommand: the README's command to refresh golden files
// names exactly the packages whose tests take -update (go test fails in a
// package that does not define the flag).
func TestReadmeUpdateCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.Contains(l, " -update") && strings.Contains(l, "go test") {
			line = l
		}
	}
	var named []string
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "./") {
			named = append(named, strings.TrimPrefix(f, "./"))
		}
	}
	var want []string
	filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, _ := os.ReadFile(p)
		if strings.Contains(string(src), "golden.Check(") || strings.Contains(string(src), `flag.Bool("update"`) {
			dir, _ := filepath.Rel("../..", filepath.Dir(p))
			if !slices.Contains(want, dir) {
				want = append(want, dir)
			}
		}
		return nil
	})
	slices.Sort(want)
	slices.Sort(named)
	if len(want) == 0 || !slices.Equal(named, want) {
		t.Errorf("README's update command %q names %v; the packages with golden files are %v", line, named, want)
	}
}
