package render

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
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

// promString quotes a PromQL string literal (Go's escapes, which PromQL
// reads).
func promString(s string) string { return strconv.Quote(s) }

// yamlString quotes a YAML scalar: a JSON string is a YAML double-quoted
// scalar.
func yamlString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// templateText makes untrusted text literal in a Prometheus template (an
// alert's labels and annotations are templates): "{{" is written as an
// action printing it.
func templateText(s string) string { return strings.ReplaceAll(s, "{{", "{{`{{`}}") }

// SLOSelector is the label matchers of an SLO's series.
func SLOSelector(s analyze.RuleSLO) string {
	var plats []string
	for _, p := range s.Platforms {
		plats = append(plats, regexp.QuoteMeta(p))
	}
	slices.Sort(plats)
	m := "objective=" + promString(s.Objective) + ",ecosystem=" + promString(s.Ecosystem)
	if len(plats) == 1 {
		m += ",platform=" + promString(s.Platforms[0])
	} else {
		m += ",platform=~" + promString(strings.Join(plats, "|"))
	}
	return "{" + m + "}"
}

// sloSums are the batchsli_slo_* counters a window's evidence needs.
var sloCounters = []string{"batches", "tests", "failures", "failures_squared", "failure_test_products", "tests_squared"}

// SLOWindows are the distinct alert windows of the plan, shortest first,
// and for each long window the most batches it is expected to hold.
func SLOWindows(p *analyze.RulePlan) ([]time.Duration, map[time.Duration]int) {
	var ws []time.Duration
	long := map[time.Duration]int{}
	for _, s := range p.SLOs {
		for _, a := range s.Alerts {
			ws = append(ws, a.Long, a.Short)
			long[a.Long] = max(long[a.Long], a.LongBatches)
		}
	}
	slices.Sort(ws)
	return slices.Compact(ws), long
}

// Dashboard windows: the pass rates and runner health over the last day
// and week, recorded for the dashboard and for queries.
var rateWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}

// RecordingRule is one rule of the generated file.
type RecordingRule struct{ Record, Expr string }

// AlertRule is an alerting rule.
type AlertRule struct {
	Alert, Expr string
	Labels      [][2]string
	Annotations [][2]string
}

// RuleGroups are the generated rules: recording rules, then alerts.
func RuleGroups(p *analyze.RulePlan) ([]RecordingRule, []AlertRule) {
	var rec []RecordingRule
	windows, longs := SLOWindows(p)
	for _, w := range windows {
		d := PromDuration(w)
		for _, m := range sloCounters {
			rec = append(rec, RecordingRule{"slo:batchsli_" + m + ":increase" + d, "increase(batchsli_slo_" + m + "_total[" + d + "])"})
		}
		inc := func(m string) string { return "slo:batchsli_" + m + ":increase" + d }
		ratio := "slo:batchsli_failure_ratio:ratio" + d
		rec = append(rec, RecordingRule{ratio, inc("failures") + " / " + inc("tests")})
		// The cluster-robust variance of the ratio (Cochran 1977, 6.3):
		// B/(B-1) * sum_b (f_b - r n_b)^2 / N^2, the sum expanded.
		rec = append(rec, RecordingRule{"slo:batchsli_failure_ratio_variance:ratio" + d,
			inc("batches") + " / (" + inc("batches") + " - 1)\n* (" + inc("failures_squared") + " - 2 * " + ratio + " * " + inc("failure_test_products") +
				" + " + ratio + " ^ 2 * " + inc("tests_squared") + ")\n/ " + inc("tests") + " ^ 2"})
		if lb, ok := longs[w]; ok {
			// The critical t for the batches the window holds (its
			// increase, rounded: the extrapolation of increase() can
			// make it fractional): Student's t on B-1 degrees of
			// freedom at 1 - alpha/series, as the check uses.
			up := analyze.CriticalUpTo(lb)
			var parts []string
			for b := 3; b <= up; b++ {
				sel := inc("batches") + " >= " + ruleNum(float64(b)-0.5)
				if b < up {
					sel += " < " + ruleNum(float64(b)+0.5)
				}
				parts = append(parts, "("+sel+") * 0 + "+strconv.FormatFloat(p.Critical(b), 'f', 4, 64))
			}
			rec = append(rec, RecordingRule{"slo:batchsli_t_critical:ratio" + d, strings.Join(parts, "\nor ")})
		}
	}
	for _, w := range rateWindows {
		d := PromDuration(w)
		rec = append(rec,
			RecordingRule{"platform:batchsli_pass_rate:ratio" + d, "sum by (platform) (increase(batchsli_pass_rate_passes_total[" + d + "]))\n/ sum by (platform) (increase(batchsli_pass_rate_tests_total[" + d + "]))"},
			RecordingRule{"platform:batchsli_infrastructure_failure_ratio:ratio" + d, "sum by (platform) (increase(batchsli_infrastructure_failures_total[" + d + "]))\n/ sum by (platform) (increase(batchsli_recipe_tests_total[" + d + "]))"},
		)
	}
	bl, bs, wl, ws := analyze.BudgetWindows()
	week := 7 * 24 * time.Hour
	for _, w := range []time.Duration{bs, ws, bl, 24 * time.Hour, wl, week} {
		d := PromDuration(w)
		rec = append(rec, RecordingRule{":batchsli_macos_minutes:increase" + d, "sum(increase(batchsli_macos_runner_seconds_total[" + d + "])) / 60"})
		rec = append(rec, RecordingRule{":batchsli_macos_budget_burn:ratio" + d, ":batchsli_macos_minutes:increase" + d + " / " +
			ruleNum(p.WeekBudget*float64(w)/float64(week))})
	}
	rec = append(rec, RecordingRule{":batchsli_macos_minutes_projected:week", ":batchsli_macos_minutes:increase1d * 7"})

	var alerts []AlertRule
	for _, s := range p.SLOs {
		sel := SLOSelector(s)
		sname, seco := templateText(s.Name), templateText(s.Ecosystem)
		budget := 1 - s.Target
		what := "recipe failures"
		if s.Objective == analyze.ObjectiveRunnerHealth {
			what = "infrastructure failures"
		}
		for _, a := range s.Alerts {
			l, sh := PromDuration(a.Long), PromDuration(a.Short)
			ratioL, ratioS := "slo:batchsli_failure_ratio:ratio"+l+sel, "slo:batchsli_failure_ratio:ratio"+sh+sel
			tests := "slo:batchsli_tests:increase" + l + sel
			floor := ruleNum(budget*(1-budget)) + " / " + tests
			expr := ratioL + " >= " + ruleNum(a.Rate*budget) + "\nand " + ratioS + " >= " + ruleNum(a.Rate*budget) +
				"\nand slo:batchsli_batches:increase" + l + sel + " >= " + ruleNum(float64(a.MinBatches)-0.5) +
				"\nand " + tests + " >= " + strconv.FormatInt(a.MinTests, 10) +
				"\nand (" + ratioL + " - " + ruleNum(budget) + ")\n  / sqrt((slo:batchsli_failure_ratio_variance:ratio" + l + sel + " > " + floor + ") or " + floor + ")\n  > slo:batchsli_t_critical:ratio" + l + sel
			name, sev := "BatchsliSLOBreach", "critical"
			if a.Severity == analyze.StatusWarn {
				name, sev = "BatchsliSLOWarning", "warning"
			}
			scope := ""
			if s.Ecosystem != "" {
				scope = " in " + seco
			}
			alerts = append(alerts, AlertRule{Alert: name, Expr: expr,
				Labels: [][2]string{{"severity", sev}, {"slo", sname}, {"objective", s.Objective}},
				Annotations: [][2]string{
					{"summary", fmt.Sprintf("SLO %s: %s on {{ $labels.platform }}%s burn the error budget at %gx or more", strconv.Quote(sname), what, scope, a.Rate)},
					{"description", fmt.Sprintf("The failure rate over the last %s (about %d batches at the cadence the rules were generated for) is {{ $value | humanizePercentage }}, at least %gx the budget of %s (target %s), and so it is over the last %s (about %d batches); the excess over the budget is significant with batches as clusters (Student's t against alpha %g over %d series). batchsli check gives the batches and tests.",
						l, a.LongBatches, a.Rate, share(budget), share(s.Target), sh, a.ShortBatches, p.Burn.Alpha, p.Series)},
				}})
		}
	}
	for _, b := range []struct {
		name, sev   string
		rate        float64
		long, short time.Duration
	}{{"BatchsliMacOSBudgetBurn", "critical", p.Burn.BreachRate, bl, bs}, {"BatchsliMacOSBudgetBurn", "warning", p.Burn.WarnRate, wl, ws}} {
		l, sh := PromDuration(b.long), PromDuration(b.short)
		alerts = append(alerts, AlertRule{Alert: b.name,
			Expr:   ":batchsli_macos_budget_burn:ratio" + l + " >= " + ruleNum(b.rate) + "\nand :batchsli_macos_budget_burn:ratio" + sh + " >= " + ruleNum(b.rate),
			Labels: [][2]string{{"severity", b.sev}},
			Annotations: [][2]string{
				{"summary", fmt.Sprintf("macOS minutes burn the weekly budget at %gx or more", b.rate)},
				{"description", fmt.Sprintf("macOS jobs used {{ $value | humanize }}x the budget's pace over the last %s, and %gx or more over the last %s: at that pace the %s-minute week runs out in %s or less.",
					l, b.rate, sh, ruleNum(p.WeekBudget), PromDuration(7*24*time.Hour/time.Duration(b.rate)))},
			}})
	}
	alerts = append(alerts, AlertRule{Alert: "BatchsliMacOSBudgetPause",
		Expr:   ":batchsli_macos_minutes:increase7d >= " + ruleNum(p.PauseFrom*p.WeekBudget),
		Labels: [][2]string{{"severity", "warning"}},
		Annotations: [][2]string{
			{"summary", fmt.Sprintf("macOS minutes over the last 7 days reached %s of the weekly budget", share(p.PauseFrom))},
			{"description", fmt.Sprintf("{{ $value | humanize }} macOS minutes over the last 7 days, at or above %s of %s: batchsli check pauses macOS jobs at this share of a budget week (its weeks are calendar weeks; this is a rolling 7 days).",
				share(p.PauseFrom), ruleNum(p.WeekBudget))},
		}})
	return rec, alerts
}

func share(v float64) string { return strconv.FormatFloat(100*v, 'g', 6, 64) + "%" }

// ruleNum writes a threshold to 12 significant digits: 4 x (1 - 0.9) is
// 0.4, not 0.3999999999999999.
func ruleNum(v float64) string { return strconv.FormatFloat(v, 'g', 12, 64) }

// PrometheusRules writes the plan as a Prometheus rule file.
func PrometheusRules(w io.Writer, p *analyze.RulePlan) error {
	rec, alerts := RuleGroups(p)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Prometheus rules generated by batchsli rules (docs/METHODS.md, \"Prometheus rules\").\n")
	fmt.Fprintf(bw, "# They read the counters of batchsli export --format prometheus (a textfile collector's file).\n")
	fmt.Fprintf(bw, "# Batch cadence: %s (%s); SLOs evaluated at the %s level on %d series.\n", PromDuration(p.Interval), p.IntervalFrom, p.By, p.Series)
	fmt.Fprintf(bw, "groups:\n  - name: batchsli-recording\n    rules:\n")
	for _, r := range rec {
		fmt.Fprintf(bw, "      - record: %s\n        expr: |-\n%s", r.Record, indent(r.Expr, 10))
	}
	fmt.Fprintf(bw, "  - name: batchsli-alerts\n    rules:")
	if len(alerts) == 0 {
		fmt.Fprintf(bw, " []")
	}
	fmt.Fprintf(bw, "\n")
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
