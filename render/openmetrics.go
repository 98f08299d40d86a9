package render

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/batchsli/batchsli/analyze"
)

// metricFamily is one exported metric: its samples per label set, in
// batch order.
type metricFamily struct {
	name, typ, help, unit string
	series                map[string][]sample // by rendered label set
}

type sample struct {
	v  float64
	ts float64 // Unix seconds
}

// Metrics builds the exported families from the per-batch counts: counters
// accumulate over the batches (one sample at each batch that moves them),
// gauges take each batch's value. Labels are low-cardinality only: the
// platform (at the export's level) and the ecosystem, never a recipe.
func metrics(e *analyze.Exported) []*metricFamily {
	fam := func(name, typ, unit, help string) *metricFamily {
		return &metricFamily{name: name, typ: typ, unit: unit, help: help, series: map[string][]sample{}}
	}
	batches := fam("batchsli_batches", "counter", "", "Batches recorded (runs that tested something), by the batch's ecosystem.")
	tests := fam("batchsli_recipe_tests", "counter", "", "Recipe tests (one recipe on one platform) as the report's Tested counts them.")
	passes := fam("batchsli_recipe_passes", "counter", "", "Recipe tests that passed.")
	failures := fam("batchsli_recipe_failures", "counter", "", "Recipe tests that failed, infrastructure failures included.")
	skips := fam("batchsli_recipe_skips", "counter", "", "Recipes not tested on the platform (skipped, for example after failing earlier).")
	rateTests := fam("batchsli_pass_rate_tests", "counter", "", "Recipe tests the report's pass rate counts: infrastructure failures, incident batches and flaky recipes' retried passes left out.")
	ratePasses := fam("batchsli_pass_rate_passes", "counter", "", "Passes the report's pass rate counts (see batchsli_pass_rate_tests).")
	infra := fam("batchsli_infrastructure_failures", "counter", "", "Failed tests that were the infrastructure's (network_error, timeout).")
	macos := fam("batchsli_macos_runner_seconds", "counter", "seconds", "macOS CI time used (the records' minutes, in seconds), where the records give it.")
	duration := fam("batchsli_validation_duration_seconds", "gauge", "seconds", "A platform's validation time in the batch, where recorded.")
	last := fam("batchsli_last_batch_timestamp_seconds", "gauge", "seconds", "When the newest batch finished (Unix time).")

	type acc struct{ sums [7]int64 }
	cum := map[string]*acc{}
	infraCum := map[string]int64{}
	batchCum := map[string]int64{}
	var minutesCum float64
	for _, b := range e.Batches {
		ts := float64(b.Time.UnixNano()) / 1e9
		el := labels("ecosystem", b.Ecosystem)
		batchCum[el]++
		batches.push(el, sample{float64(batchCum[el]), ts})
		for _, c := range b.Cells {
			l := labels("ecosystem", c.Ecosystem, "platform", c.Platform)
			a := cum[l]
			if a == nil {
				a = &acc{}
				cum[l] = a
			}
			for i, v := range []int64{c.Tested, c.Passed, c.Failed, c.Skipped, c.RateTests, c.RatePasses} {
				a.sums[i] += v
			}
			for i, f := range []*metricFamily{tests, passes, failures, skips, rateTests, ratePasses} {
				f.push(l, sample{float64(a.sums[i]), ts})
			}
		}
		for _, p := range b.Platforms {
			l := labels("platform", p.Platform)
			infraCum[l] += p.Infrastructure
			infra.push(l, sample{float64(infraCum[l]), ts})
			if p.Seconds != nil {
				duration.push(l, sample{*p.Seconds, ts})
			}
		}
		if b.MacOSMinutes != nil {
			minutesCum += *b.MacOSMinutes
			macos.push("", sample{60 * minutesCum, ts})
		}
		last.series[""] = []sample{{ts, ts}}
	}
	return []*metricFamily{batches, tests, passes, failures, skips, rateTests, ratePasses, infra, macos, duration, last}
}

// push appends a sample to a series; a sample at the same instant as the
// series' last (two batches finishing in the same second) replaces it, as a
// series may hold one value a timestamp.
func (f *metricFamily) push(l string, s sample) {
	ss := f.series[l]
	if n := len(ss); n > 0 && ss[n-1].ts == s.ts {
		ss[n-1] = s
		return
	}
	f.series[l] = append(ss, s)
}

// labels renders a label set, its values escaped as the exposition
// formats require (backslash, double quote, newline).
func labels(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(kv[i+1])
		parts = append(parts, kv[i]+`="`+v+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// OpenMetrics writes the history as OpenMetrics text with a timestamp on
// every sample, each series' samples in time order: what `promtool tsdb
// create-blocks-from openmetrics` backfills into Prometheus.
func OpenMetrics(w io.Writer, e *analyze.Exported) error {
	bw := bufio.NewWriter(w)
	for _, f := range metrics(e) {
		if len(f.series) == 0 {
			continue
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.name, f.typ)
		if f.unit != "" {
			fmt.Fprintf(bw, "# UNIT %s %s\n", f.name, f.unit)
		}
		fmt.Fprintf(bw, "# HELP %s %s\n", f.name, f.help)
		suffix := ""
		if f.typ == "counter" {
			suffix = "_total"
		}
		for _, l := range sortedSeries(f) {
			for _, s := range f.series[l] {
				fmt.Fprintf(bw, "%s%s%s %s %s\n", f.name, suffix, l, num(s.v), strconv.FormatFloat(s.ts, 'f', 3, 64))
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

// PrometheusText writes each series' latest value in the Prometheus text
// format, without timestamps: a node_exporter textfile collector's file.
// With c, it adds the check's state (checkFamilies), which the alert rules
// of batchsli rules read.
func PrometheusText(w io.Writer, e *analyze.Exported, c *analyze.Check) error {
	bw := bufio.NewWriter(w)
	fams := metrics(e)
	if c != nil {
		fams = append(fams, checkFamilies(c)...)
	}
	for _, f := range fams {
		if len(f.series) == 0 {
			continue
		}
		name := f.name
		if f.typ == "counter" {
			name += "_total"
		}
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, f.help, name, f.typ)
		for _, l := range sortedSeries(f) {
			s := f.series[l]
			fmt.Fprintf(bw, "%s%s %s\n", name, l, num(s[len(s)-1].v))
		}
	}
	return bw.Flush()
}

func sortedSeries(f *metricFamily) []string {
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// num writes a sample value: integers without a fraction.
func num(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// checkFamilies are the check's state as gauges: each SLO series' windows
// (batches, tests, failures, burn rate, and for the long windows the
// adjusted p-value) and status, and the macOS week: minutes used and
// budgeted, the forecast, and the gate. The alert rules compare these with
// the configured burn rates: the check's decision, on the check's windows
// counted in batches (docs/METHODS.md, "Prometheus rules").
func checkFamilies(c *analyze.Check) []*metricFamily {
	fam := func(name, help string) *metricFamily {
		return &metricFamily{name: name, typ: "gauge", help: help, series: map[string][]sample{}}
	}
	target := fam("batchsli_slo_target", "An SLO's target share on the platform (and ecosystem).")
	batches := fam("batchsli_slo_window_batches", "Batches in an SLO window: the period and the breach and warning alerts' long and short windows, counted in the batches that tested the series.")
	tests := fam("batchsli_slo_window_tests", "Tests in an SLO window.")
	failures := fam("batchsli_slo_window_failures", "Failures in an SLO window (recipe failures for pass_rate, infrastructure failures for runner_health).")
	burn := fam("batchsli_slo_window_burn_rate", "An SLO window's failure rate over the error budget's (1 - target).")
	padj := fam("batchsli_slo_window_p_adjusted", "For a long window, the one-sided p-value of its failure rate exceeding the budget's, with batches as clusters, times the series checked (Bonferroni).")
	status := fam("batchsli_slo_status", "The check's status of an SLO series: 1 for the status it has (ok, warn, breach, too_few), 0 for the others.")
	for _, r := range c.SLOs {
		if r.Platform == "" {
			continue
		}
		kv := []string{"slo", r.Name, "objective", r.Objective, "platform", r.Platform}
		if r.Ecosystem != "" {
			kv = append(kv, "ecosystem", r.Ecosystem)
		}
		target.series[labels(kv...)] = []sample{{v: r.Target}}
		for _, w := range append([]analyze.BurnWindow{r.Period}, r.Windows...) {
			l := labels(append(kv, "window", w.Name)...)
			batches.series[l] = []sample{{v: float64(w.Batches)}}
			tests.series[l] = []sample{{v: float64(w.Tests)}}
			failures.series[l] = []sample{{v: float64(w.Failures)}}
			burn.series[l] = []sample{{v: w.Burn}}
			if w.PAdj != nil {
				padj.series[l] = []sample{{v: *w.PAdj}}
			}
		}
		for _, st := range []string{analyze.StatusOK, analyze.StatusWarn, analyze.StatusBreach, analyze.StatusTooFew} {
			v := 0.0
			if r.Status == st {
				v = 1
			}
			status.series[labels(append(kv, "status", st)...)] = []sample{{v: v}}
		}
	}
	bu := c.Budget
	budget := fam("batchsli_macos_week_budget_seconds", "The macOS budget of a week.")
	budget.series[""] = []sample{{v: 60 * bu.BudgetMinutes}}
	start := fam("batchsli_macos_week_start_timestamp_seconds", "When the current budget week began (Unix time).")
	start.series[""] = []sample{{v: float64(bu.WeekStart.Unix())}}
	used := fam("batchsli_macos_week_used_seconds", "macOS time used this budget week by the batches that recorded it (absent when none did).")
	if bu.UsedMinutes != nil {
		used.series[""] = []sample{{v: 60 * *bu.UsedMinutes}}
	}
	unknown := fam("batchsli_macos_week_unknown_batches", "Batches this week that did not record their macOS minutes.")
	unknown.series[""] = []sample{{v: float64(bu.UnknownBatches)}}
	projected := fam("batchsli_macos_week_projected_seconds", "The budget forecast of the week's total macOS time: its median and 90% prediction interval (absent while it is too early to project).")
	if bu.ProjectedMinutes != nil && bu.ProjectedLow != nil && bu.ProjectedHigh != nil {
		projected.series[labels("bound", "low")] = []sample{{v: 60 * *bu.ProjectedLow}}
		projected.series[labels("bound", "median")] = []sample{{v: 60 * *bu.ProjectedMinutes}}
		projected.series[labels("bound", "high")] = []sample{{v: 60 * *bu.ProjectedHigh}}
	}
	exceed := fam("batchsli_macos_week_exceed_probability", "The forecast's chance that the week's minutes reach the budget (absent while it is too early to project).")
	if bu.ExceedProbability != nil {
		exceed.series[""] = []sample{{v: *bu.ExceedProbability}}
	}
	gate := fam("batchsli_macos_gate", "The check's macOS gate: 1 for its state (run, sample, pause), 0 for the others.")
	for _, st := range []string{"run", "sample", "pause"} {
		v := 0.0
		if c.MacOS == st {
			v = 1
		}
		gate.series[labels("state", st)] = []sample{{v: v}}
	}
	return []*metricFamily{target, batches, tests, failures, burn, padj, status, budget, start, used, unknown, projected, exceed, gate}
}
