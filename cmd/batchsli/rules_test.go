package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/internal/golden"
	"github.com/batchsli/batchsli/render"
)

// batchObs is one batch's tests and failures on a platform.
type batchObs struct{ n, f int64 }

// rulesScenario is a history per platform, one batch an hour, scraped
// every hour as a textfile collector's counters would be.
var rulesScenario = map[string][]batchObs{
	// On budget (target 0.9): a tenth fails.
	"steady": {{50, 5}, {50, 4}, {50, 6}, {50, 5}, {50, 5}, {50, 6}, {50, 4}, {50, 5}},
	// Six times the budget, batch after batch: a breach.
	"burning": {{50, 30}, {50, 30}, {50, 30}, {50, 30}, {50, 30}, {50, 30}, {50, 30}, {50, 30}},
	// On budget but for one batch in which everything failed: the burn
	// rates of both windows pass the thresholds, but one batch is not
	// evidence of a rise (the cluster-robust variance): no alert.
	"burst": {{50, 5}, {50, 5}, {50, 5}, {50, 5}, {50, 5}, {50, 5}, {50, 5}, {200, 200}},
	// Varying failures, for the t statistic's own check.
	"vary": {{40, 9}, {60, 2}, {30, 11}, {55, 8}, {45, 20}, {50, 3}, {35, 12}, {65, 9}},
}

// rulesPlan is a plan for the scenario: one pass-rate SLO, target 0.9,
// a 40-batch period (breach over 4 and 1 batches, warn over 10 and 3),
// one batch an hour.
func rulesPlan() *analyze.RulePlan {
	p := &analyze.RulePlan{By: "env", Interval: time.Hour, IntervalFrom: "--batch-interval", Burn: analyze.DefaultBurn,
		Series: 4, WeekBudget: 1000, SampleFrom: 0.8, PauseFrom: 0.95}
	s := analyze.RuleSLO{Name: "pass {{rate}}", Objective: analyze.ObjectivePassRate, Target: 0.9, Window: 40,
		Platforms: []string{"steady", "burning", "burst", "vary"}}
	bl, bs, wl, ws := analyze.BurnWindows(40)
	for _, a := range []struct {
		sev         string
		rate        float64
		long, short int
	}{{analyze.StatusBreach, 4, bl, bs}, {analyze.StatusWarn, 2, wl, ws}} {
		s.Alerts = append(s.Alerts, analyze.RuleAlert{Severity: a.sev, Rate: a.rate, LongBatches: a.long, ShortBatches: a.short,
			Long: time.Duration(a.long) * time.Hour, Short: time.Duration(a.short) * time.Hour, MinBatches: 3, MinTests: 10})
	}
	p.SLOs = []analyze.RuleSLO{s}
	return p
}

// TestRulesPromtool: the generated rules pass promtool check rules, and
// promtool test rules evaluates them on the scenario: the steady burn
// raises the breach and the warning, the burst and the on-budget platform
// raise nothing, nothing fires before three batches, and the t statistic
// the alert compares is the check's (infer.ExceedsClustered) to 1e-9.
func TestRulesPromtool(t *testing.T) {
	promtool := promtoolPath(t)
	p := rulesPlan()
	dir := t.TempDir()
	var rules bytes.Buffer
	if err := render.PrometheusRules(&rules, p); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "rules.yml"), rules.Bytes(), 0o644)
	if out, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "rules.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	var in strings.Builder
	for _, plat := range []string{"steady", "burning", "burst", "vary"} {
		var c [6]float64
		series := make([][]string, 6)
		for i := range series {
			series[i] = []string{"0"}
		}
		for _, o := range rulesScenario[plat] {
			n, f := float64(o.n), float64(o.f)
			for i, v := range [6]float64{1, n, f, f * f, f * n, n * n} {
				c[i] += v
				series[i] = append(series[i], strconv.FormatFloat(c[i], 'f', -1, 64))
			}
		}
		for i, m := range []string{"batches", "tests", "failures", "failures_squared", "failure_test_products", "tests_squared"} {
			fmt.Fprintf(&in, "      - series: 'batchsli_slo_%s_total{objective=\"pass_rate\",platform=\"%s\"}'\n        values: '%s'\n", m, plat, strings.Join(series[i], " "))
		}
	}
	_, alerts := render.RuleGroups(p)
	expect := func(name, plat string, value float64) string {
		for _, a := range alerts {
			if a.Alert != name {
				continue
			}
			var b strings.Builder
			fmt.Fprintf(&b, "          - exp_labels:\n")
			for _, l := range append([][2]string{{"platform", plat}}, a.Labels...) {
				fmt.Fprintf(&b, "              %s: %s\n", l[0], strconv.Quote(strings.ReplaceAll(l[1], "{{`{{`}}", "{{")))
			}
			fmt.Fprintf(&b, "            exp_annotations:\n")
			for _, l := range a.Annotations {
				v := strings.NewReplacer("{{ $labels.platform }}", plat, "{{ $value | humanizePercentage }}", strconv.FormatFloat(100*value, 'g', 4, 64)+"%", "{{`{{`}}", "{{").Replace(l[1])
				fmt.Fprintf(&b, "              %s: %s\n", l[0], strconv.Quote(v))
			}
			return b.String()
		}
		t.Fatalf("no alert %s", name)
		return ""
	}
	// The t statistic over the last 4 batches of "vary", as the check
	// computes it.
	var obs []infer.Obs
	for i, o := range rulesScenario["vary"][4:] {
		obs = append(obs, infer.Obs{Batch: int32(i), Tested: o.n, Passed: o.n - o.f})
	}
	et := infer.ExceedsClustered(obs, 0.1)
	tExpr := `(slo:batchsli_failure_ratio:ratio4h{platform="vary"} - 0.1) / sqrt((slo:batchsli_failure_ratio_variance:ratio4h{platform="vary"} > 0.09 / slo:batchsli_tests:increase4h{platform="vary"}) or 0.09 / slo:batchsli_tests:increase4h{platform="vary"})`
	crit := p.Critical(4)
	test := fmt.Sprintf(`rule_files:
  - rules.yml
evaluation_interval: 1h
tests:
  - interval: 1h
    input_series:
%s    promql_expr_test:
      - expr: '%s'
        eval_time: 8h
        exp_samples:
          - labels: '{objective="pass_rate",platform="vary"}'
            value: %s
      - expr: slo:batchsli_t_critical:ratio4h{platform="vary"}
        eval_time: 8h
        exp_samples:
          - labels: 'slo:batchsli_t_critical:ratio4h{objective="pass_rate",platform="vary"}'
            value: %s
    alert_rule_test:
      - eval_time: 2h
        alertname: BatchsliSLOBreach
        exp_alerts: []
      - eval_time: 8h
        alertname: BatchsliSLOBreach
        exp_alerts:
%s      - eval_time: 8h
        alertname: BatchsliSLOWarning
        exp_alerts:
%s`, in.String(), tExpr, strconv.FormatFloat(et.T, 'g', -1, 64), strconv.FormatFloat(crit, 'f', 4, 64),
		expect("BatchsliSLOBreach", "burning", 0.6), expect("BatchsliSLOWarning", "burning", 0.6))
	os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644)
	cmd := exec.Command(promtool, "test", "rules", "test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n%s", err, out, test)
	}
	if !et.Testable || math.IsNaN(et.T) {
		t.Fatalf("the check's statistic is not testable: %+v", et)
	}
	// The burst alone would fire on burn rates: the evidence is what
	// keeps it quiet (its statistic is below the critical value).
	var burst []infer.Obs
	for i, o := range rulesScenario["burst"][4:] {
		burst = append(burst, infer.Obs{Batch: int32(i), Tested: o.n, Passed: o.n - o.f})
	}
	if bt := infer.ExceedsClustered(burst, 0.1); !(bt.Rate >= 0.4 && bt.T < crit) {
		t.Errorf("the burst scenario does not test the evidence: rate %v, t %v, critical %v", bt.Rate, bt.T, crit)
	}
}

// TestRulesGolden: the rules and the dashboard for the sample with the
// example configuration; promtool accepts the rules.
func TestRulesGolden(t *testing.T) {
	for _, f := range []string{"prometheus", "grafana"} {
		res := cli(t, "rules", "--demo", "--config", "../../examples/batchsli.toml", "--format", f)
		if res.code != 0 {
			t.Fatalf("%s: exit %d: %s", f, res.code, res.stderr)
		}
		ext := map[string]string{"prometheus": "yml", "grafana": "json"}[f]
		golden.Check(t, "testdata/rules/demo."+ext, []byte(res.stdout))
		if f == "prometheus" {
			path := filepath.Join(t.TempDir(), "rules.yml")
			os.WriteFile(path, []byte(res.stdout), 0o644)
			if out, err := exec.Command(promtoolPath(t), "check", "rules", path).CombinedOutput(); err != nil {
				t.Errorf("promtool check rules: %v\n%s", err, out)
			}
		}
	}
}

// TestRulesErrors: what rules refuses, as usage errors.
func TestRulesErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "--demo", "--format", "yaml"}, "--format must be prometheus or grafana"},
		{[]string{"rules", "--demo", "--batch-interval", "10s"}, "--batch-interval must be at least 1m"},
		{[]string{"rules", "--data", "/nonexistent"}, "no data directory"},
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
	res := cli(t, "rules", "--demo", "--config", "../../examples/batchsli.toml", "--format", "grafana")
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
	p := rulesPlan()
	var rules bytes.Buffer
	fmt.Fprintf(&rules, "groups:\n  - name: dashboard\n    rules:\n")
	sub := strings.NewReplacer("$__range", "7d", "$platform", ".*")
	qs := render.DashboardQueries(p)
	for i, q := range qs {
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, strconv.Quote(sub.Replace(q)))
	}
	os.WriteFile(filepath.Join(dir, "dashboard.yml"), rules.Bytes(), 0o644)
	if out, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "dashboard.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
	known := map[string]bool{"ALERTS": true}
	exp := cli(t, "export", "--demo", "--format", "prometheus")
	for _, l := range strings.Split(exp.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "TYPE" {
			known[f[2]] = true
		}
	}
	var rb bytes.Buffer
	render.PrometheusRules(&rb, p)
	for _, l := range strings.Split(rb.String(), "\n") {
		if _, r, ok := strings.Cut(l, "- record: "); ok {
			known[r] = true
		}
	}
	names := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	words := map[string]bool{"sum": true, "by": true, "increase": true, "vector": true, "platform": true, "ecosystem": true,
		"objective": true, "alertname": true, "alertstate": true, "pass_rate": true}
	for _, q := range qs {
		q = regexp.MustCompile(`"[^"]*"|\[[^\]]*\]`).ReplaceAllString(q, "")
		for _, n := range names.FindAllString(q, -1) {
			if !words[n] && !known[n] {
				t.Errorf("the dashboard reads %s, which neither export nor rules write (in %s)", n, q)
			}
		}
	}
	if len(qs) < 8 {
		t.Errorf("%d queries", len(qs))
	}
}
