package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/internal/golden"
)

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "batchsli.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func muslSLO(target string) string {
	return "[[slo]]\nname = \"musl\"\nobjective = \"pass_rate\"\ntarget = " + target + "\nplatforms = [\"linux-musl-x86_64\"]\n"
}

// TestCheckExitCodes: each status the check can end with, on the sample
// history (254 macOS minutes used in its last week; musl fails about half
// its tests): 0, or 16 plus a bit for each finding.
func TestCheckExitCodes(t *testing.T) {
	for _, tt := range []struct {
		name       string
		config     string
		args       []string
		code       int
		macos, slo string
	}{
		{"all clear", "", nil, 0, "run", "ok"},
		{"sample", "", []string{"--week-budget", "300"}, 16 | 1, "sample", "ok"},
		{"pause", "", []string{"--week-budget", "260"}, 16 | 2, "pause", "ok"},
		{"pause from config", "[macos]\nweekly_budget_minutes = 300\npause_from = 0.8\n", nil, 16 | 2, "pause", "ok"},
		{"flag beats config", "[macos]\nweekly_budget_minutes = 300\n", []string{"--week-budget", "1000"}, 0, "run", "ok"},
		{"slo ok", muslSLO("0.4"), nil, 0, "run", "ok"},
		{"slo warn", muslSLO("0.8"), nil, 16 | 4, "run", "warn"},
		{"slo breach", muslSLO("0.99"), nil, 16 | 8, "run", "breach"},
		{"breach and pause", muslSLO("0.99"), []string{"--week-budget", "260"}, 16 | 8 | 2, "pause", "breach"},
	} {
		args := []string{"check", "--demo"}
		if tt.config != "" {
			args = append(args, "--config", writeConfig(t, tt.config))
		}
		out := filepath.Join(t.TempDir(), "github-output")
		t.Setenv("GITHUB_OUTPUT", out)
		res := cli(t, append(args, tt.args...)...)
		if res.code != tt.code || res.stderr != "" {
			t.Errorf("%s: exit %d, stderr %q; want %d", tt.name, res.code, res.stderr, tt.code)
		}
		got, _ := os.ReadFile(out)
		if !strings.Contains(string(got), "macos="+tt.macos+"\n") || !strings.Contains(string(got), "slo="+tt.slo+"\n") {
			t.Errorf("%s: $GITHUB_OUTPUT %q; want macos=%s and slo=%s", tt.name, got, tt.macos, tt.slo)
		}
		if !strings.HasPrefix(res.stdout, "macos="+tt.macos+": ") || !strings.Contains(res.stdout, "\nslo="+tt.slo) {
			t.Errorf("%s: output %q", tt.name, res.stdout)
		}
	}
}

// TestCheckGolden: the text and JSON of a check with every status, and
// the annotations GitHub Actions shows.
func TestCheckGolden(t *testing.T) {
	cfg := writeConfig(t, muslSLO("0.99")+`
[[slo]]
name = "glibc"
objective = "pass_rate"
target = 0.8
platforms = ["linux-glibc-x86_64", "linux-glibc-arm64"]

[[slo]]
name = "runner health"
objective = "runner_health"
target = 0.98
platforms = ["darwin-arm64"]
window = 8
`)
	var all bytes.Buffer
	for _, format := range []string{"text", "json"} {
		res := cli(t, "check", "--demo", "--config", cfg, "--week-budget", "300", "--format", format)
		all.WriteString("$ batchsli check --demo --config batchsli.toml --week-budget 300 --format " + format + "\n" + res.stdout + "\n")
		if res.code != 16|8|1 {
			t.Errorf("%s: exit %d: %s", format, res.code, res.stderr)
		}
		if format == "json" {
			var v map[string]any
			if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	res := cli(t, "check", "--demo", "--config", cfg, "--week-budget", "300")
	var ann []string
	for _, l := range strings.Split(res.stdout, "\n") {
		if strings.HasPrefix(l, "::") {
			ann = append(ann, l)
		}
	}
	all.WriteString("$ GITHUB_ACTIONS=true batchsli check ... (annotations)\n" + strings.Join(ann, "\n") + "\n")
	if len(ann) != 2 || !strings.HasPrefix(ann[0], "::warning title=macOS sample::") || !strings.HasPrefix(ann[1], "::error title=SLO breach%3A musl on linux-musl-x86_64::") {
		t.Errorf("annotations %q", ann)
	}
	golden.Check(t, "testdata/check/demo.golden", all.Bytes())
}

// TestConfigErrors: a bad configuration is a usage error naming the file
// and line.
func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		text, want string
	}{
		{"by = \"planet\"\n", ":1: by must be family, env, job or os"},
		{"[macos]\nsample_from = 0.9\npause_from = 1.5\n", ":3: pause_from must be above 0 and at most 1"},
		{"[macos]\nsample_from = 0.9\npause_from = 0.5\n", ":3: macos.pause_from (0.5) must be at least sample_from (0.9)"},
		{"[macos]\nweekly_budget_minutes = \"1000\"\n", ":2: macos.weekly_budget_minutes has the wrong type"},
		{"[slo]\nobjective = \"pass_rate\"\ntarget = 0.9\n", "slo has the wrong type"},
		{"[[slo]]\nobjective = \"pass_rate\"\n", ":1: slo 1: target is required"},
		{"[burn]\nwarn_rate = 3\nbreach_rate = 2\n", ":3: burn.breach_rate (2) must be at least warn_rate (3)"},
		{"[[slo]]\nobjective = \"pass_rate\"\ntarget = 0.9\necosystem = \"nope\"\n", `check: slo "slo 1": ecosystem "nope" matches nothing in the data; its ecosystems: crates.io`},
		{"[macos]\nweekly_budget = 100\n", `:2: unknown key "macos.weekly_budget"`},
		{"[[slo]]\nobjective = \"pass_rate\"\ntarget = 0.9\n\n[[slo]]\nobjective = \"pass_rate\"\ntarget = 90\n", ":7: slo 2: target must be a share above 0 and below 1 (0.9 for 90%)"},
		{"[[slo]]\nobjective = \"latency\"\ntarget = 0.9\n", `:2: slo 1: objective must be "pass_rate" or "runner_health"`},
		{"[[slo]]\nobjective = \"runner_health\"\ntarget = 0.9\necosystem = \"npm\"\n", ":4: slo 1: runner health is per batch"},
		{"[[slo]]\nobjective = \"pass_rate\"\ntarget = 0.9\nwindow = 3\n", ":4: slo 1: window must be at least 8"},
		{"[macos\n", ":2: expected '.' or ']' to end table name"},
		{"[[slo]]\nname = \"x\"\nobjective = \"pass_rate\"\ntarget = 0.9\n\n[[slo]]\nname = \"x\"\nobjective = \"runner_health\"\ntarget = 0.9\n", `:7: slo 2: another SLO is named "x"`},
		{"[[slo]]\nobjective = \"pass_rate\"\ntarget = 0.9\nplatforms = [\"linux-musl\"]\n", `check: slo "slo 1": platform "linux-musl" matches nothing in the data; its platforms: darwin-arm64`},
	} {
		p := writeConfig(t, tt.text)
		res := cli(t, "check", "--demo", "--config", p)
		if res.code != 2 || !strings.Contains(res.stderr, tt.want) || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want 2 and %q", tt.text, res.code, res.stderr, tt.want)
		}
	}
	if res := cli(t, "check", "--demo", "--config", "/no/such/batchsli.toml"); res.code != 2 || !strings.Contains(res.stderr, "no such file") {
		t.Errorf("missing config: %+v", res)
	}
	// The example configuration is valid.
	if res := cli(t, "check", "--demo", "--config", "../../examples/batchsli.toml"); res.code != 0 {
		t.Errorf("example config: exit %d, %s", res.code, res.stderr)
	}
}

// TestConfigFromWorkingDirectory: without --config, ./batchsli.toml is
// read when there is one.
func TestConfigFromWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "batchsli.toml"), []byte("[macos]\nweekly_budget_minutes = 260\n"), 0o644)
	t.Chdir(dir)
	if res := cli(t, "check", "--demo"); res.code != 16|2 {
		t.Errorf("exit %d, want pause from ./batchsli.toml: %s", res.code, res.stdout)
	}
}

// TestConfigSetsTheWeek: the configuration's budget week reaches report,
// summary and record's summary, and a flag wins over it.
func TestConfigSetsTheWeek(t *testing.T) {
	cfg := writeConfig(t, "[macos]\nweekly_budget_minutes = 300\nweek_start = \"sunday\"\n")
	rep := cli(t, "report", "--demo", "--config", cfg, "--format", "json")
	var r struct {
		Budget struct {
			BudgetMinutes float64 `json:"budget_minutes"`
			WeekStart     string  `json:"week_start"`
		} `json:"budget"`
	}
	if err := json.Unmarshal([]byte(rep.stdout), &r); err != nil {
		t.Fatal(err, rep.stderr)
	}
	if r.Budget.BudgetMinutes != 300 || r.Budget.WeekStart != "2026-03-22T00:00:00Z" {
		t.Errorf("report budget %+v; want 300 minutes, weeks from Sunday", r.Budget)
	}
	if rep := cli(t, "report", "--demo", "--config", cfg, "--week-budget", "700", "--format", "json"); !strings.Contains(rep.stdout, `"budget_minutes": 700`) {
		t.Error("--week-budget does not win over the configuration")
	}
	sum := cli(t, "summary", "--demo", "--config", cfg)
	if sum.code != 0 || !strings.Contains(sum.stdout, "/ 300 min") {
		t.Errorf("summary: exit %d, budget of 300 minutes not shown:\n%.2000s", sum.code, sum.stdout)
	}
}

// TestCheckWithoutData: a pipeline's first run has no data directory yet;
// the gate lets it run rather than fail the workflow.
func TestCheckWithoutData(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "data")
	cfg := writeConfig(t, muslSLO("0.9"))
	res := cli(t, "check", "--data", missing, "--config", cfg)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "macos=run: 0 of 1000 minutes") || !strings.Contains(res.stdout, "no batch recorded yet") {
		t.Errorf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
}
