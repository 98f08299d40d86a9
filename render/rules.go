package render

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/batchsli/batchsli/analyze"
)

// PromDuration writes a duration as PromQL does: whole days, hours or
// minutes.
func PromDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(d.Round(time.Minute)/time.Minute), 10) + "m"
}

// yamlString quotes a YAML scalar: a JSON string is a YAML double-quoted
// scalar.
func yamlString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// RecordingRule is a recording rule of the generated file.
type RecordingRule struct{ Record, Expr string }

// AlertRule is an alerting rule.
type AlertRule struct {
	Alert, Expr string
	Labels      [][2]string
	Annotations [][2]string
}

// rateWindows are the windows of the recorded pass rates, runner health
// and macOS minutes: the last day and the last week.
var rateWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}

// RuleGroups are the generated rules: recording rules, then alerts.
func RuleGroups(burn analyze.Burn) ([]RecordingRule, []AlertRule) {
	var rec []RecordingRule
	for _, w := range rateWindows {
		d := PromDuration(w)
		rec = append(rec,
			RecordingRule{"platform:batchsli_pass_rate:ratio" + d, "sum by (platform) (increase(batchsli_pass_rate_passes_total[" + d + "]))\n/ sum by (platform) (increase(batchsli_pass_rate_tests_total[" + d + "]))"},
			RecordingRule{"platform:batchsli_pass_rate_tests:increase" + d, "sum by (platform) (increase(batchsli_pass_rate_tests_total[" + d + "]))"},
			RecordingRule{"platform:batchsli_infrastructure_failure_ratio:ratio" + d, "sum by (platform) (increase(batchsli_infrastructure_failures_total[" + d + "]))\n/ sum by (platform) (increase(batchsli_recipe_tests_total[" + d + "]))"},
			RecordingRule{":batchsli_macos_runner_seconds:increase" + d, "sum(increase(batchsli_macos_runner_seconds_total[" + d + "]))"},
			// The budget's burn rate over the window: the time used over the
			// budget's pace (the week's budget times the window's share of
			// a week).
			RecordingRule{":batchsli_macos_budget_burn:ratio" + d, ":batchsli_macos_runner_seconds:increase" + d + "\n/ on () (batchsli_macos_week_budget_seconds * " + ruleNum(float64(w)/float64(7*24*time.Hour)) + ")"},
		)
	}
	rec = append(rec, RecordingRule{":batchsli_macos_week_used:ratio", "batchsli_macos_week_used_seconds / on () batchsli_macos_week_budget_seconds"})

	evidence := "The batchsli_slo_window_* gauges of the series give each window's batches, tests, failures, burn rate and adjusted p-value; batchsli check prints them."
	// The macOS alerts hold for the budget week the export saw: after it
	// ends they stop until the next export.
	thisWeek := "\nand ignoring (state) (batchsli_macos_week_start_timestamp_seconds + 604800 > time())"
	alerts := []AlertRule{
		{Alert: "BatchsliSLOBreach", Expr: `batchsli_slo_status{status="breach"} == 1`,
			Labels: [][2]string{{"severity", "critical"}},
			Annotations: [][2]string{
				{"summary", "SLO {{ $labels.slo }} on {{ $labels.platform }}: failures burn the error budget at " + ruleNum(burn.BreachRate) + "x or more"},
				{"description", "batchsli check reports a breach: over the last tenth of the SLO's period and over the last fortieth (at least 3 and 1 batches, counted in the batches that tested the series) failures burn the error budget at " + ruleNum(burn.BreachRate) + "x or more, and the excess over the long window is significant with batches as clusters (adjusted p-value at most " + ruleNum(burn.Alpha) + "). " + evidence}}},
		{Alert: "BatchsliSLOWarning", Expr: `batchsli_slo_status{status="warn"} == 1`,
			Labels: [][2]string{{"severity", "warning"}},
			Annotations: [][2]string{
				{"summary", "SLO {{ $labels.slo }} on {{ $labels.platform }}: failures burn the error budget at " + ruleNum(burn.WarnRate) + "x or more"},
				{"description", "batchsli check reports a warning: over the last quarter of the SLO's period and over the last sixteenth (at least 3 and 1 batches, counted in the batches that tested the series) failures burn the error budget at " + ruleNum(burn.WarnRate) + "x or more, and the excess over the long window is significant with batches as clusters (adjusted p-value at most " + ruleNum(burn.Alpha) + "). " + evidence}}},
		{Alert: "BatchsliMacOSBudgetPause", Expr: `batchsli_macos_gate{state="pause"} == 1` + thisWeek,
			Labels: [][2]string{{"severity", "critical"}},
			Annotations: [][2]string{
				{"summary", "macOS jobs are paused: this budget week's minutes reached the pause point"},
				{"description", "batchsli check pauses macOS jobs: the minutes the batches recorded this budget week reached its pause share of the weekly budget (batchsli_macos_week_used_seconds, batchsli_macos_week_budget_seconds)."}}},
		{Alert: "BatchsliMacOSBudgetSample", Expr: `batchsli_macos_gate{state="sample"} == 1` + thisWeek,
			Labels: [][2]string{{"severity", "warning"}},
			Annotations: [][2]string{
				{"summary", "macOS jobs are sampled: this budget week's minutes reached the sampling point"},
				{"description", "batchsli check samples macOS jobs: the minutes the batches recorded this budget week reached its sampling share of the weekly budget."}}},
		{Alert: "BatchsliMacOSBudgetRunOut", Expr: "batchsli_macos_week_exceed_probability > " + ruleNum(analyze.WarnProbability) +
			"\nand ignoring (state) (batchsli_macos_gate{state=\"run\"} == 1)" +
			"\nand (batchsli_macos_week_start_timestamp_seconds + 604800 > time())",
			Labels: [][2]string{{"severity", "warning"}},
			Annotations: [][2]string{
				{"summary", "At its pace so far, macOS use would reach the weekly budget"},
				{"description", "The budget forecast (docs/METHODS.md, \"macOS budget forecast\") gives a {{ $value | humanizePercentage }} chance that this week's minutes reach the budget if jobs keep running as they have; batchsli check will sample and then pause them before that. batchsli_macos_week_projected_seconds holds the forecast's median and 90% interval."}}},
	}
	return rec, alerts
}

// ruleNum writes a threshold to 12 significant digits.
func ruleNum(v float64) string { return strconv.FormatFloat(v, 'g', 12, 64) }

// PrometheusRules writes the rules for burn as a Prometheus rule file.
func PrometheusRules(w io.Writer, burn analyze.Burn) error {
	rec, alerts := RuleGroups(burn)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Prometheus rules generated by batchsli rules (docs/METHODS.md, \"Prometheus rules\").\n")
	fmt.Fprintf(bw, "# They read batchsli export --format prometheus (a textfile collector's file, written after\n# every batch with the same batchsli.toml): its counters, and the check's state as gauges.\n")
	fmt.Fprintf(bw, "groups:\n  - name: batchsli-recording\n    rules:\n")
	for _, r := range rec {
		fmt.Fprintf(bw, "      - record: %s\n        expr: |-\n%s", r.Record, indent(r.Expr, 10))
	}
	fmt.Fprintf(bw, "  - name: batchsli-alerts\n    rules:\n")
	for _, a := range alerts {
		fmt.Fprintf(bw, "      - alert: %s\n        expr: |-\n%s", a.Alert, indent(a.Expr, 10))
		fmt.Fprintf(bw, "        labels:\n")
		for _, l := range a.Labels {
			fmt.Fprintf(bw, "          %s: %s\n", l[0], yamlString(l[1]))
		}
		fmt.Fprintf(bw, "        annotations:\n")
		for _, l := range a.Annotations {
			fmt.Fprintf(bw, "          %s: %s\n", l[0], yamlString(l[1]))
		}
	}
	return bw.Flush()
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString(pad + l + "\n")
	}
	return b.String()
}
