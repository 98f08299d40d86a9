package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/golden"
	"github.com/batchsli/batchsli/render"
)

// rulesConfig has SLOs the sample breaches, warns on and keeps.
const rulesConfig = `
by = "env"

[[slo]]
name = "musl \"strict\" {{ $labels }}"
objective = "pass_rate"
target = 0.95
platforms = ["linux-musl-arm64", "linux-musl-x86_64"]

[[slo]]
name = "glibc and macOS"
objective = "pass_rate"
target = 0.95
platforms = ["linux-glibc-arm64", "linux-glibc-x86_64", "darwin"]

[[slo]]
name = "homebrew on macOS"
objective = "pass_rate"
target = 0.85
platforms = ["darwin"]
ecosystem = "homebrew"

[[slo]]
name = "runner health"
objective = "runner_health"
target = 0.998
`

// exposition parses Prometheus text: each sample's series (name and
// labels as written) and value.
func exposition(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		out[l[:i]] = l[i+1:]
	}
	return out
}

// expectedAlert renders an alert's labels and annotations as promtool
// expects them, the templates filled in.
func expectedAlert(t *testing.T, name string, labels map[string]string, value float64) string {
	t.Helper()
	_, alerts := render.RuleGroups(analyze.DefaultBurn)
	for _, a := range alerts {
		if a.Alert != name {
			continue
		}
		var b strings.Builder
		b.WriteString("          - exp_labels:\n")
		all := map[string]string{}
		for k, v := range labels {
			all[k] = v
		}
		for _, l := range a.Labels {
			all[l[0]] = l[1]
		}
		keys := make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "              %s: %s\n", k, strconv.Quote(all[k]))
		}
		b.WriteString("            exp_annotations:\n")
		for _, an := range a.Annotations {
			v := strings.NewReplacer("{{ $labels.slo }}", labels["slo"], "{{ $labels.platform }}", labels["platform"],
				`{{ $value | printf "%.2f" }}`, fmt.Sprintf("%.2f", value),
				"{{ $value | humanizePercentage }}", strconv.FormatFloat(100*value, 'g', 4, 64)+"%").Replace(an[1])
			fmt.Fprintf(&b, "              %s: %s\n", an[0], strconv.Quote(v))
		}
		return b.String()
	}
	t.Fatalf("no alert %s", name)
	return ""
}

// promtoolTest runs promtool test rules on the generated rules with the
// given input series (constant) and alert tests.
func promtoolTest(t *testing.T, series map[string]string, tests string) {
	t.Helper()
	dir := t.TempDir()
	res := cli(t, "rules", "--config", os.DevNull)
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(res.stdout), 0o644)
	var in strings.Builder
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&in, "      - series: %s\n        values: '%sx20'\n", strconv.Quote(k), series[k]+"+0")
	}
	test := "rule_files:\n  - rules.yml\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" + in.String() +
		"    alert_rule_test:\n" + tests
	os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644)
	cmd := exec.Command(promtoolPath(t), "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n%s", err, out, test)
	}
}

// TestRulesMatchCheck: on the sample with SLOs that breach, warn and
// hold, the alert rules, evaluated by promtool test rules on the export's
// textfile, raise exactly the alerts batchsli check reports: a breach for
// each breached series, a warning for each warned one and nothing for the
// others (so one alert fires and others must not).
func TestRulesMatchCheck(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "batchsli.toml")
	os.WriteFile(cfg, []byte(rulesConfig), 0o644)
	chk := cli(t, "check", "--demo", "--config", cfg, "--format", "json")
	var c struct {
		SLOs []struct{ Name, Objective, Platform, Ecosystem, Status string } `json:"slos"`
	}
	if err := json.Unmarshal([]byte(chk.stdout), &c); err != nil {
		t.Fatalf("%v: %s", err, chk.stderr)
	}
	exp := cli(t, "export", "--demo", "--config", cfg, "--format", "prometheus")
	if exp.code != 0 {
		t.Fatal(exp.stderr)
	}
	in := exposition(t, exp.stdout)
	want := map[string]string{"BatchsliSLOBreach": "", "BatchsliSLOWarning": ""}
	count := map[string]int{}
	kinds := map[string]bool{}
	for _, s := range c.SLOs {
		count[s.Status]++
		name := map[string]string{analyze.StatusBreach: "BatchsliSLOBreach", analyze.StatusWarn: "BatchsliSLOWarning"}[s.Status]
		if name == "" {
			continue
		}
		l := map[string]string{"slo": s.Name, "objective": s.Objective, "platform": s.Platform, "status": s.Status}
		if s.Ecosystem != "" {
			l["ecosystem"] = s.Ecosystem
		}
		kinds[s.Objective] = true
		want[name] += expectedAlert(t, name, l, 1)
	}
	if count[analyze.StatusBreach] == 0 || count[analyze.StatusWarn] == 0 || count[analyze.StatusOK] == 0 {
		t.Fatalf("the sample should breach, warn and hold: %v", count)
	}
	if !kinds["runner_health"] || !kinds["pass_rate"] {
		t.Errorf("alerts of both objectives should be tested: %v", kinds)
	}
	var tests strings.Builder
	for _, name := range []string{"BatchsliSLOBreach", "BatchsliSLOWarning"} {
		fmt.Fprintf(&tests, "      - eval_time: 5m\n        alertname: %s\n        exp_alerts:\n%s", name, want[name])
	}
	promtoolTest(t, in, tests.String())
}

// TestRulesEvidence: the alerts on hand-made gauges from several scrape
// targets: each series' status alone decides, whatever other targets
// report; the macOS alerts follow the gate of their own target, the
// forecast's run-out only while jobs run unthrottled, and nothing after
// the exported budget week has ended.
func TestRulesEvidence(t *testing.T) {
	series := map[string]string{}
	status := func(inst, st string) {
		for _, s := range []string{"ok", "warn", "breach", "too_few"} {
			v := "0"
			if s == st {
				v = "1"
			}
			series[`batchsli_slo_status{instance="`+inst+`",slo="s",objective="pass_rate",platform="p",status="`+s+`"}`] = v
		}
	}
	status("a", "breach")
	status("b", "ok")
	status("c", "too_few")
	gate := func(inst, st, exceed string) {
		for _, s := range []string{"run", "sample", "pause"} {
			v := "0"
			if s == st {
				v = "1"
			}
			series[`batchsli_macos_gate{instance="`+inst+`",state="`+s+`"}`] = v
		}
		series[`batchsli_macos_week_exceed_probability{instance="`+inst+`"}`] = exceed
		// The budget week began at 1,000 s; promtool evaluates at 5 min.
		series[`batchsli_macos_week_start_timestamp_seconds{instance="`+inst+`"}`] = "1000"
	}
	gate("a", "pause", "0.99")  // paused: the pause, not the run-out
	gate("b", "sample", "0.99") // sampled: the sampling, not the run-out
	gate("c", "run", "0.95")    // running: the run-out
	gate("d", "run", "0.5")     // running, on track: nothing
	breach := map[string]string{"instance": "a", "slo": "s", "objective": "pass_rate", "platform": "p", "status": "breach"}
	tests := "      - eval_time: 5m\n        alertname: BatchsliSLOBreach\n        exp_alerts:\n" + expectedAlert(t, "BatchsliSLOBreach", breach, 1) +
		"      - eval_time: 5m\n        alertname: BatchsliSLOWarning\n        exp_alerts: []\n" +
		"      - eval_time: 5m\n        alertname: BatchsliMacOSBudgetPause\n        exp_alerts:\n" + expectedAlert(t, "BatchsliMacOSBudgetPause", map[string]string{"instance": "a", "state": "pause"}, 1) +
		"      - eval_time: 5m\n        alertname: BatchsliMacOSBudgetSample\n        exp_alerts:\n" + expectedAlert(t, "BatchsliMacOSBudgetSample", map[string]string{"instance": "b", "state": "sample"}, 1) +
		"      - eval_time: 5m\n        alertname: BatchsliMacOSBudgetRunOut\n        exp_alerts:\n" + expectedAlert(t, "BatchsliMacOSBudgetRunOut", map[string]string{"instance": "c"}, 0.95)
	promtoolTest(t, series, tests)

	// After the exported week: no macOS alert until the next export.
	for k, v := range series {
		if strings.HasPrefix(k, "batchsli_macos_week_start_timestamp_seconds") && v == "1000" {
			series[k] = "-700000"
		}
	}
	promtoolTest(t, series, "      - eval_time: 5m\n        alertname: BatchsliMacOSBudgetPause\n        exp_alerts: []\n"+
		"      - eval_time: 5m\n        alertname: BatchsliMacOSBudgetRunOut\n        exp_alerts: []\n")
}

// TestRulesGolden: the rules (default and example burn rates) and the
// dashboard; promtool accepts the rules.
func TestRulesGolden(t *testing.T) {
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"rules", "--config", "../../examples/batchsli.toml"}, "testdata/rules/rules.yml"},
		{[]string{"rules", "--format", "grafana"}, "testdata/rules/dashboard.json"},
	} {
		res := cli(t, c.args...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, res.code, res.stderr)
		}
		golden.Check(t, c.file, []byte(res.stdout))
		if strings.HasSuffix(c.file, ".yml") {
			path := filepath.Join(t.TempDir(), "rules.yml")
			os.WriteFile(path, []byte(res.stdout), 0o644)
			if out, err := exec.Command(promtoolPath(t), "check", "rules", path).CombinedOutput(); err != nil {
				t.Errorf("promtool check rules: %v\n%s", err, out)
			}
		}
	}
	// The configuration's burn rates reach the rules.
	cfg := filepath.Join(t.TempDir(), "batchsli.toml")
	os.WriteFile(cfg, []byte("[burn]\nbreach_rate = 6\nwarn_rate = 3\nalpha = 0.05\n"), 0o644)
	res := cli(t, "rules", "--config", cfg)
	for _, want := range []string{"at 6x or more", "at 3x or more", "at most 0.05"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("rules from %s lack %q", cfg, want)
		}
	}
}

// TestRulesErrors: what rules refuses.
func TestRulesErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "batchsli.toml")
	os.WriteFile(cfg, []byte("[burn]\nbreach_rate = 0.5\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "--format", "yaml"}, "--format must be prometheus or grafana"},
		{[]string{"rules", "--config", cfg}, cfg + ":2: burn.breach_rate must be at least 1"},
		{[]string{"rules", "--config", "/nonexistent.toml"}, "/nonexistent.toml"},
	} {
		res := cli(t, c.args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, res.code, res.stderr, c.want)
		}
	}
}

// TestGrafanaDashboardSchema: the dashboard type-checks against Grafana's
// own dashboard schema (npm @grafana/schema, its Dashboard type generated
// from the schema Grafana validates with), strictly: an unknown key or a
// wrong type fails. Enumerations are read as their string values, as JSON
// has them.
func TestGrafanaDashboardSchema(t *testing.T) {
	mods, _ := filepath.Abs("../../scripts/grafana-schema/node_modules")
	tsc := filepath.Join(mods, ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("scripts/grafana-schema has no node_modules (.ci/run runs npm ci there)")
		}
		t.Skip("scripts/grafana-schema: run npm ci there")
	}
	res := cli(t, "rules", "--format", "grafana")
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	check := func(dashboard string) ([]byte, error) {
		dir := t.TempDir()
		os.Symlink(mods, filepath.Join(dir, "node_modules"))
		src := "import type { Dashboard } from '@grafana/schema';\n" +
			"type Json<T> = T extends string ? (string extends T ? string : `${T}`) : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;\n" +
			"export const dashboard: Json<Dashboard> = " + dashboard + ";\n"
		os.WriteFile(filepath.Join(dir, "dashboard.ts"), []byte(src), 0o644)
		cmd := exec.Command(tsc, "--noEmit", "--strict", "--skipLibCheck", "--moduleResolution", "bundler", "--module", "esnext", "--target", "es2022", "dashboard.ts")
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := check(res.stdout); err != nil {
		t.Fatalf("tsc against @grafana/schema: %v\n%s", err, out)
	}
	// The check can fail: a misspelt key and a wrong type are caught.
	for _, bad := range []string{
		strings.Replace(res.stdout, `"schemaVersion"`, `"schemaVersoin"`, 1),
		strings.Replace(res.stdout, `"h": 9`, `"h": "9"`, 1),
	} {
		if _, err := check(bad); err == nil {
			t.Error("a broken dashboard type-checked")
		}
	}
}

// TestGrafanaQueriesPromQL: every panel query is valid PromQL (promtool
// parses them as recording rules, Grafana's variables substituted), and
// every series it reads is one batchsli export writes or one batchsli
// rules records.
func TestGrafanaQueriesPromQL(t *testing.T) {
	promtool := promtoolPath(t)
	dir := t.TempDir()
	var rules bytes.Buffer
	fmt.Fprintf(&rules, "groups:\n  - name: dashboard\n    rules:\n")
	sub := strings.NewReplacer("$__range", "7d", "$platform", ".*")
	qs := render.DashboardQueries()
	for i, q := range qs {
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, strconv.Quote(sub.Replace(q)))
	}
	os.WriteFile(filepath.Join(dir, "dashboard.yml"), rules.Bytes(), 0o644)
	if out, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "dashboard.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
	known := map[string]bool{"ALERTS": true}
	cfg := filepath.Join(t.TempDir(), "batchsli.toml")
	os.WriteFile(cfg, []byte(rulesConfig), 0o644)
	exp := cli(t, "export", "--demo", "--config", cfg, "--format", "prometheus")
	for _, l := range strings.Split(exp.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "TYPE" {
			known[f[2]] = true
		}
	}
	var rb bytes.Buffer
	render.PrometheusRules(&rb, analyze.DefaultBurn)
	for _, l := range strings.Split(rb.String(), "\n") {
		if _, r, ok := strings.Cut(l, "- record: "); ok {
			known[r] = true
		}
	}
	names := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	words := map[string]bool{"sum": true, "by": true, "increase": true, "changes": true, "platform": true, "ecosystem": true,
		"alertname": true, "alertstate": true, "window": true, "bound": true}
	for _, q := range qs {
		q = regexp.MustCompile(`"[^"]*"|\[[^\]]*\]`).ReplaceAllString(q, "")
		for _, n := range names.FindAllString(q, -1) {
			if !words[n] && !known[n] {
				t.Errorf("the dashboard reads %s, which neither export nor rules write (in %s)", n, q)
			}
		}
	}
	if len(qs) < 12 {
		t.Errorf("%d queries", len(qs))
	}
}
