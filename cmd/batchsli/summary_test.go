package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/batchsli/batchsli/internal/golden"
	"github.com/batchsli/batchsli/render"
)

// recordBatch records results into a fresh data directory and returns it.
func recordBatch(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	res := cli(t, append([]string{"record", "--data", dir}, args...)...)
	if res.code != 0 {
		t.Fatalf("record: exit %d: %s", res.code, res.stderr)
	}
	return dir
}

func scrub(s, dir string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, dir, "DATA"), render.MD(dir), "DATA")
}

func TestSummaryGolden(t *testing.T) {
	// A hand-made batch recorded after an earlier one of the same ecosystem.
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--batch-id", "2026-01-27-mixed-001", "--timestamp", "2026-01-27T09:00:00Z", "testdata/results/mixed/results.jsonl"},
		{"--batch-id", "2026-01-28-cargo-001", "--timestamp", "2026-01-28T09:00:00Z", batch1 + "/validation-results-linux-x86_64.json", batch1 + "/validation-results-darwin.json"},
		{"--batch-id", "2026-01-29-cargo-001", "--timestamp", "2026-01-29T10:30:00Z", "--job-seconds", "darwin-x86_64=1500", batch1},
	} {
		res := cli(t, append([]string{"record", "--data", dir, "--ecosystem", "cargo"}, args...)...)
		if res.code != 0 {
			t.Fatal(res.stderr)
		}
	}
	res := cli(t, "summary", "--data", dir)
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	golden.Check(t, "testdata/summary/hand-made.md", []byte(scrub(res.stdout, dir)))

	sim := simulated(t)
	res = cli(t, "summary", "--data", sim, "--batch-id", "2026-03-11-homebrew-001")
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	golden.Check(t, "testdata/summary/simulated.md", []byte(scrub(res.stdout, sim)))

	for _, md := range []string{res.stdout} {
		checkSummaryHTML(t, cmarkGFM(t, md, true), 11)
	}
}

func TestSummaryUnknownBatch(t *testing.T) {
	res := cli(t, "summary", "--demo", "--batch-id", "nope")
	if res.code == 0 || !strings.Contains(res.stderr, "batch nope is not recorded") {
		t.Errorf("exit %d, %q", res.code, res.stderr)
	}
}

var (
	detailsOpen  = regexp.MustCompile(`<details>`)
	detailsClose = regexp.MustCompile(`</details>`)
	codeRe       = regexp.MustCompile(`(?s)<code>.*?</code>`)
	attrRe       = regexp.MustCompile(`<[a-zA-Z][^<>]*\son[a-z]+=`)
)

// checkSummaryHTML checks GitHub's rendering of a summary: a real platform
// table with consistent rows, balanced <details>, and no HTML, link or
// image that untrusted text could have brought.
func checkSummaryHTML(t *testing.T, html string, platforms int) {
	t.Helper()
	headers := checkTables(t, html)
	if len(headers) == 0 || !strings.Contains(headers[0], "<th>Platform</th>") {
		t.Fatalf("no platform table:\n%s", html)
	}
	table := tableRe.FindString(html)
	if rows := len(rowRe.FindAllString(table, -1)) - 1; platforms > 0 && rows != platforms {
		t.Errorf("platform table has %d rows, want %d", rows, platforms)
	}
	if o, c := len(detailsOpen.FindAllString(html, -1)), len(detailsClose.FindAllString(html, -1)); o != c || o > 1 {
		t.Errorf("<details> %d, </details> %d: unbalanced or injected", o, c)
	}
	for _, bad := range []string{"<script", "<img", "<a ", "<iframe", "<svg", "<style", "<summary><script"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("rendered summary contains %q", bad)
		}
	}
	if attrRe.MatchString(html) {
		t.Errorf("rendered summary has an event-handler attribute: %s", attrRe.FindString(html))
	}
	outside := codeRe.ReplaceAllString(html, "")
	for _, bad := range []string{"@octocat", "https://", "http://", "www.evil"} {
		if strings.Contains(outside, bad) {
			t.Errorf("outside code, the summary has %q, which GitHub would turn into a mention or link", bad)
		}
	}
}

// hostile is text that tries every way of breaking out of markdown.
const hostile = "<script>alert(1)</script> | cell | `tick` ``` </details> <details> [link](https://evil.example) " +
	"![img](https://evil.example/x.png) **bold** _em_ $x$ ~~del~~ @octocat www.evil.example a@evil.example <img src=x onerror=alert(1)> \\| # h"

func hostileResults(t *testing.T, dir string, recipes int, platforms []string, msgLen int) string {
	t.Helper()
	msg := strings.Repeat(hostile+"\n", msgLen/len(hostile)+1)[:msgLen]
	path := filepath.Join(dir, "hostile.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for i := 0; i < recipes; i++ {
		name := fmt.Sprintf("r%d-%s", i, hostile[:60])
		for j, p := range platforms {
			r := map[string]any{"recipe": name, "platform": p, "status": "fail", "exit_code": 8,
				"category": "<img src=x onerror=alert(1)>|" + fmt.Sprint(j%2), "blocked_by": []string{"</summary><script>x</script>", "`dep`|x"},
				"message": msg, "duration_seconds": 3}
			if i%3 == 0 {
				r["status"] = "pass"
			}
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()
	return path
}

func TestSummaryHostileText(t *testing.T) {
	tmp := t.TempDir()
	platforms := []string{"linux-debian-glibc-x86_64", "linux-alpine-musl-arm64", "darwin-arm64"}
	results := hostileResults(t, tmp, 5, platforms, 300)
	data := recordBatch(t, "--ecosystem", "npm", "--batch-id", "h-1", "--timestamp", "2026-01-29T10:30:00Z", results)
	res := cli(t, "summary", "--data", data)
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	html := cmarkGFM(t, res.stdout, true)
	checkSummaryHTML(t, html, len(platforms))
	// Hostile text shows as text.
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "**bold**", "&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("rendered summary lacks the text %q", want)
		}
	}
	if !strings.Contains(res.stdout, "<details>") || strings.Contains(res.stdout, "left out") {
		t.Error("a small batch should keep its per-recipe detail")
	}
}

// TestSummarySize: 6,000 recipes on 6 platforms with long hostile messages
// still give a summary under GitHub's 1 MiB that holds the platform table
// and says what was left out.
func TestSummarySize(t *testing.T) {
	if testing.Short() {
		t.Skip("large batch")
	}
	tmp := t.TempDir()
	platforms := []string{"linux-debian-glibc-x86_64", "linux-rhel-glibc-x86_64", "linux-alpine-musl-x86_64",
		"linux-debian-glibc-arm64", "darwin-arm64", "darwin-x86_64"}
	results := hostileResults(t, tmp, 6000, platforms, 1500)
	data := recordBatch(t, "--ecosystem", "npm", "--batch-id", "big-1", "--timestamp", "2026-01-29T10:30:00Z", results)
	summaryFile := filepath.Join(tmp, "step-summary.md")
	if err := os.WriteFile(summaryFile, []byte("# Earlier step\n\nkept\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := cli(t, "summary", "--data", data, "--output", summaryFile)
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	out, _ := os.ReadFile(summaryFile)
	if len(out) >= 1<<20 {
		t.Fatalf("summary is %d bytes, over 1 MiB", len(out))
	}
	if !strings.HasPrefix(string(out), "# Earlier step\n\nkept\n\n") {
		t.Error("the earlier step's summary was not kept")
	}
	if !strings.Contains(string(out), "left out") || !strings.Contains(string(out), "| Platform | Tested |") {
		t.Errorf("summary lacks the platform table or the left-out line:\n%.2000s", out)
	}
	checkSummaryHTML(t, cmarkGFM(t, string(out), true), len(platforms))
	t.Logf("summary of 6,000 x 6 results: %d bytes", len(out))
}

func TestRecordWritesGitHubStep(t *testing.T) {
	tmp := t.TempDir()
	summary := filepath.Join(tmp, "summary.md")
	outputs := filepath.Join(tmp, "outputs")
	os.WriteFile(summary, []byte("earlier\n"), 0o644)
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	t.Setenv("GITHUB_OUTPUT", outputs)
	t.Setenv("GITHUB_ACTIONS", "true")
	data := filepath.Join(tmp, "data")
	res := cli(t, "record", "--data", data, "--ecosystem", "cargo", "--batch-id", "gh-1", "--timestamp", "2026-01-29T10:30:00Z",
		"--week-budget", "10", batch1)
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	md, _ := os.ReadFile(summary)
	if !strings.HasPrefix(string(md), "earlier\n\n## Batch gh\\-1: cargo") && !strings.HasPrefix(string(md), "earlier\n\n## Batch gh-1: cargo") {
		t.Errorf("summary file:\n%.300s", md)
	}
	out, _ := os.ReadFile(outputs)
	nameRe := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*=[^\n]*$`)
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !nameRe.MatchString(l) {
			t.Errorf("bad output line %q", l)
		}
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	want := map[string]string{"batch_id": "gh-1", "tested": "21", "failed": "6", "pass_rate": "0.7143",
		"pass_rate_linux-debian-glibc-x86_64": "1.0000", "failed_darwin-x86_64": "1", "macos_minutes_week": "16", "macos_budget_minutes": "10"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	// 16 minutes (3 on darwin-arm64, 13 on darwin-x86_64) against a
	// 10-minute budget: an annotation.
	if !strings.Contains(res.stdout, "::warning title=macOS budget::macOS budget exhausted") {
		t.Errorf("no budget annotation in:\n%s", res.stdout)
	}
}

func TestAnnotationEscaping(t *testing.T) {
	got := render.OutputName("pass_rate_linux-x86.64")
	if got != "pass_rate_linux-x86_64" {
		t.Errorf("OutputName = %q", got)
	}
}

// TestExampleWorkflowAndAction: the example workflow is valid YAML, and the
// action documents every input and output.
func TestExampleWorkflowAndAction(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"jobs"`
	}
	data, err := os.ReadFile("../../examples/workflows/batch-merge.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("batch-merge.yml: %v", err)
	}
	if len(wf.Jobs["validate"].Steps) == 0 || len(wf.Jobs["merge"].Steps) == 0 {
		t.Fatalf("jobs: %+v", wf.Jobs)
	}
	usesAction := false
	for _, s := range wf.Jobs["merge"].Steps {
		if u, _ := s["uses"].(string); strings.HasPrefix(u, "batchsli/batchsli") {
			usesAction = true
		}
	}
	if !usesAction {
		t.Error("the merge job does not call the action")
	}
	var action struct {
		Name    string
		Inputs  map[string]struct{ Description string }
		Outputs map[string]struct{ Description, Value string }
		Runs    struct{ Using string }
	}
	data, err = os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if action.Runs.Using != "composite" || len(action.Inputs) < 10 {
		t.Errorf("action: %+v", action)
	}
	readme, _ := os.ReadFile("../../README.md")
	for name, in := range action.Inputs {
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", name)
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("input %s is not in the README", name)
		}
	}
	for name, out := range action.Outputs {
		if strings.TrimSpace(out.Description) == "" || out.Value == "" {
			t.Errorf("output %s undocumented or unset", name)
		}
	}
}

// TestActionTreatsCommittedWarningAsDone runs the action's record step with
// a stand-in batchsli that exits with each status: 0 and 4 (recorded, with
// a warning) finish the step, anything else fails it.
func TestActionTreatsCommittedWarningAsDone(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var action struct {
		Runs struct {
			Steps []struct {
				ID  string `yaml:"id"`
				Run string `yaml:"run"`
			}
		}
	}
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatal(err)
	}
	script := ""
	for _, s := range action.Runs.Steps {
		if s.ID == "record" {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatal("no record step")
	}
	for code, wantOK := range map[int]bool{0: true, 4: true, 1: false, 3: false, 130: false} {
		tmp := t.TempDir()
		fake := fmt.Sprintf("#!/bin/sh\necho \"args: $*\"\nexit %d\n", code)
		if err := os.WriteFile(filepath.Join(tmp, "batchsli"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bash, "-c", script)
		cmd.Env = append(os.Environ(), "RUNNER_TEMP="+tmp, "RESULTS=results", "ECOSYSTEM=cargo", "DATA=data",
			"BATCH_ID=", "TIMESTAMP=", "TOTAL=", "GENERATED=", "MERGED=", "JOB_SECONDS=", "PER_RUN=false", "WEEK_BUDGET=1000", "WEEK_START=", "CONFIG=")
		out, err := cmd.CombinedOutput()
		if ok := err == nil; ok != wantOK {
			t.Errorf("batchsli exit %d: step ok = %v, want %v\n%s", code, ok, wantOK, out)
		}
		if code == 4 && !strings.Contains(string(out), "::warning title=batchsli::the batch is recorded") {
			t.Errorf("exit 4: no warning annotation\n%s", out)
		}
	}
}

// TestSummaryAfterTextWithoutNewline: a summary appended to a step summary
// whose last line has no newline keeps its heading (GitHub renders the
// file as one document); outputs appended to such a file start a line.
func TestSummaryAfterTextWithoutNewline(t *testing.T) {
	for _, before := range []string{"", "earlier step's text", "earlier step's text\n", "| a |\n|---|\n| 1 |"} {
		path := filepath.Join(t.TempDir(), "step-summary.md")
		if before != "" {
			os.WriteFile(path, []byte(before), 0o644)
		}
		if res := cli(t, "summary", "--demo", "--output", path); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		got, _ := os.ReadFile(path)
		html := cmarkGFM(t, string(got), false)
		if !strings.Contains(html, "<h2>Batch 2026-03-21-homebrew-002: homebrew</h2>") {
			t.Errorf("after %q: the summary's heading is not a heading:\n%.300s", before, html)
		}
		if !strings.HasPrefix(string(got), before) {
			t.Errorf("after %q: the earlier text was changed", before)
		}
	}
	path := filepath.Join(t.TempDir(), "out")
	os.WriteFile(path, []byte("earlier=1"), 0o644)
	if err := appendTo(path, "batch_id=x\n", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "earlier=1\nbatch_id=x\n" {
		t.Errorf("outputs: %q", got)
	}
}
