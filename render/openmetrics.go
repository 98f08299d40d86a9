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
	slo := sloFamilies(fam)

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
		slo.add(b)
		if b.MacOSMinutes != nil {
			minutesCum += *b.MacOSMinutes
			macos.push("", sample{60 * minutesCum, ts})
		}
		last.series[""] = []sample{{ts, ts}}
	}
	return append([]*metricFamily{batches, tests, passes, failures, skips, rateTests, ratePasses, infra, macos, duration, last}, slo.families()...)
}

// sloSums are the batch-clustered sums behind the SLO alert rules' evidence
// (docs/METHODS.md, "SLO gates"; batchsli rules): per objective, platform
// and ecosystem (none: all ecosystems), over the batches that tested it,
// the number of batches B, and the sums of n_b, f_b, f_b^2, f_b n_b and
// n_b^2 (n_b tests and f_b failures in batch b). Over any window, their
// increases give the failure rate and its cluster-robust variance
// B/(B-1) (Sf2 - 2r Sfn + r^2 Sn2) / N^2 exactly, which a sum of the
// per-ecosystem squares would not: so the all-ecosystem series has its
// own counters.
type sloSums struct {
	fams [6]*metricFamily
	cum  map[string]*[6]float64
}

func sloFamilies(fam func(name, typ, unit, help string) *metricFamily) *sloSums {
	s := &sloSums{cum: map[string]*[6]float64{}}
	for i, d := range [6][2]string{
		{"batchsli_slo_batches", "Batches that tested the platform (and the ecosystem, where the label is set) for the objective: pass_rate counts recipe results as the report's pass rate does, runner_health counts infrastructure failures among all tests."},
		{"batchsli_slo_tests", "Tests counted by the objective, summed over its batches (n_b)."},
		{"batchsli_slo_failures", "Failures counted by the objective, summed over its batches (f_b)."},
		{"batchsli_slo_failures_squared", "Sum over batches of the squared failures (f_b^2), for the cluster-robust variance."},
		{"batchsli_slo_failure_test_products", "Sum over batches of failures times tests (f_b n_b), for the cluster-robust variance."},
		{"batchsli_slo_tests_squared", "Sum over batches of the squared tests (n_b^2), for the cluster-robust variance."},
	} {
		s.fams[i] = fam(d[0], "counter", "", d[1])
	}
	return s
}

func (s *sloSums) push(l string, n, f, ts float64) {
	if n <= 0 {
		return
	}
	a := s.cum[l]
	if a == nil {
		a = &[6]float64{}
		s.cum[l] = a
	}
	for i, v := range [6]float64{1, n, f, f * f, f * n, n * n} {
		a[i] += v
		s.fams[i].push(l, sample{a[i], ts})
	}
}

// add counts a batch: each platform's pass rate over all its ecosystems
// and within each, and its runner health.
func (s *sloSums) add(b analyze.ExportBatch) {
	ts := float64(b.Time.UnixNano()) / 1e9
	type nf struct{ n, f float64 }
	all := map[string]*nf{}
	tested := map[string]float64{}
	var plats []string
	for _, c := range b.Cells {
		a := all[c.Platform]
		if a == nil {
			a = &nf{}
			all[c.Platform] = a
			plats = append(plats, c.Platform)
		}
		n, f := float64(c.RateTests), float64(c.RateTests-c.RatePasses)
		a.n += n
		a.f += f
		tested[c.Platform] += float64(c.Tested)
		s.push(labels("objective", "pass_rate", "platform", c.Platform, "ecosystem", c.Ecosystem), n, f, ts)
	}
	for _, p := range plats {
		s.push(labels("objective", "pass_rate", "platform", p), all[p].n, all[p].f, ts)
	}
	for _, p := range b.Platforms {
		s.push(labels("objective", "runner_health", "platform", p.Platform), tested[p.Platform], float64(p.Infrastructure), ts)
	}
}

func (s *sloSums) families() []*metricFamily { return s.fams[:] }

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
func PrometheusText(w io.Writer, e *analyze.Exported) error {
	bw := bufio.NewWriter(w)
	for _, f := range metrics(e) {
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
