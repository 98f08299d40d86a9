package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/internal/golden"
)

// promtoolPath finds promtool (Debian's prometheus package; .ci/run
// installs it): the test is skipped without it, except in CI.
func promtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (.ci/run installs Debian's prometheus package)")
		}
		t.Skip("promtool is not installed")
	}
	return p
}

// TestExportGolden: both formats on the hand-made four-batch history.
func TestExportGolden(t *testing.T) {
	dir := recordHistory(t)
	for _, f := range []string{"openmetrics", "prometheus"} {
		res := cli(t, "export", "--data", dir, "--format", f)
		if res.code != 0 {
			t.Fatalf("%s: exit %d: %s", f, res.code, res.stderr)
		}
		golden.Check(t, "testdata/export/history."+f, []byte(res.stdout))
	}
}

// TestExportPromtool: promtool's linter accepts the textfile format, and
// promtool backfills the OpenMetrics output into TSDB blocks.
func TestExportPromtool(t *testing.T) {
	promtool := promtoolPath(t)
	prom := cli(t, "export", "--demo", "--format", "prometheus")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(prom.stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	om := filepath.Join(t.TempDir(), "demo.om")
	if res := cli(t, "export", "--demo", "--out", om); res.code != 0 {
		t.Fatal(res.stderr)
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, filepath.Join(t.TempDir(), "tsdb")).CombinedOutput()
	if err != nil {
		t.Errorf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
}

// TestExportMatchesReport: the exported counters, summed over ecosystems
// at the last batch, are the report's per-platform figures: tested,
// passed, failed, skipped, and the pass rate's own tests and passes.
func TestExportMatchesReport(t *testing.T) {
	for _, by := range []string{"env", "family"} {
		exp := cli(t, "export", "--demo", "--format", "prometheus", "--by", by)
		rep := cli(t, "report", "--demo", "--format", "json", "--by", by)
		var r struct {
			Platforms []struct {
				Platform                        string
				Tested, Passed, Failed, Skipped int64
				N                               int64    `json:"n"`
				PassRate                        *float64 `json:"pass_rate"`
			}
		}
		if err := json.Unmarshal([]byte(rep.stdout), &r); err != nil {
			t.Fatal(err)
		}
		line := regexp.MustCompile(`^(\w+)\{(?:ecosystem="[^"]*",)?platform="([^"]*)"\} (\d+)$`)
		sums := map[string]map[string]int64{}
		for _, l := range strings.Split(exp.stdout, "\n") {
			m := line.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			if sums[m[1]] == nil {
				sums[m[1]] = map[string]int64{}
			}
			v, _ := strconv.ParseInt(m[3], 10, 64)
			sums[m[1]][m[2]] += v
		}
		if len(r.Platforms) == 0 {
			t.Fatal("no platforms")
		}
		for _, p := range r.Platforms {
			got := []int64{sums["batchsli_recipe_tests_total"][p.Platform], sums["batchsli_recipe_passes_total"][p.Platform],
				sums["batchsli_recipe_failures_total"][p.Platform], sums["batchsli_recipe_skips_total"][p.Platform],
				sums["batchsli_pass_rate_tests_total"][p.Platform]}
			want := []int64{p.Tested, p.Passed, p.Failed, p.Skipped, p.N}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("--by %s %s: exported %v, report %v (tested, passed, failed, skipped, n)", by, p.Platform, got, want)
					break
				}
			}
			passes := sums["batchsli_pass_rate_passes_total"][p.Platform]
			if p.PassRate == nil || float64(passes)/float64(p.N) != *p.PassRate {
				t.Errorf("--by %s %s: exported pass rate %d/%d, report %v", by, p.Platform, passes, p.N, p.PassRate)
			}
		}
	}
}

// TestExportPrometheusEndToEnd backfills the built-in sample into a real
// Prometheus TSDB, starts Prometheus on 127.0.0.1 against it, and checks
// through its HTTP query API that each platform's tests and pass rate over
// windows (the whole history, and a week) are the report's: the counters'
// values at the window's end less those just before its start.
func TestExportPrometheusEndToEnd(t *testing.T) {
	promtool := promtoolPath(t)
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("promtool without prometheus")
	}
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	dir := t.TempDir()
	om := filepath.Join(dir, "demo.om")
	if res := cli(t, "export", "--demo", "--out", om); res.code != 0 {
		t.Fatal(res.stderr)
	}
	tsdb := filepath.Join(dir, "tsdb")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, tsdb).CombinedOutput(); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logb bytes.Buffer
	cmd := exec.Command(prometheus, "--config.file="+cfg, "--storage.tsdb.path="+tsdb, "--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	ready := false
	for range 120 {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = true
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !ready {
		t.Fatalf("Prometheus did not start:\n%s", logb.String())
	}
	// query returns the per-platform sum of a counter's last value at or
	// before at.
	query := func(metric string, at time.Time) map[string]float64 {
		q := url.Values{"query": {"sum by (platform) (last_over_time(" + metric + "[400d]))"}, "time": {at.Format(time.RFC3339Nano)}}
		resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
			t.Fatalf("query %s: %v %s", q.Get("query"), err, body.Status)
		}
		out := map[string]float64{}
		for _, r := range body.Data.Result {
			v, _ := strconv.ParseFloat(r.Value[1].(string), 64)
			out[r.Metric["platform"]] = v
		}
		return out
	}
	for _, w := range []struct{ since, until string }{{"", ""}, {"2026-03-09", "2026-03-15"}} {
		args := []string{"report", "--demo", "--format", "json"}
		start, end := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 22, 0, 0, 0, 0, time.UTC)
		if w.since != "" {
			args = append(args, "--since", w.since, "--until", w.until)
			start, _ = time.Parse("2006-01-02", w.since)
			end, _ = time.Parse("2006-01-02", w.until)
			end = end.Add(24*time.Hour - time.Millisecond)
		}
		var r struct {
			Platforms []struct {
				Platform string
				Tested   int64
				N        int64    `json:"n"`
				PassRate *float64 `json:"pass_rate"`
			}
		}
		if err := json.Unmarshal([]byte(cli(t, args...).stdout), &r); err != nil {
			t.Fatal(err)
		}
		before := start.Add(-time.Millisecond)
		tests, tests0 := query("batchsli_pass_rate_tests_total", end), query("batchsli_pass_rate_tests_total", before)
		passes, passes0 := query("batchsli_pass_rate_passes_total", end), query("batchsli_pass_rate_passes_total", before)
		tested, tested0 := query("batchsli_recipe_tests_total", end), query("batchsli_recipe_tests_total", before)
		if len(r.Platforms) == 0 {
			t.Fatalf("window %v: no platform", w)
		}
		for _, p := range r.Platforms {
			n, k := tests[p.Platform]-tests0[p.Platform], passes[p.Platform]-passes0[p.Platform]
			if int64(n) != p.N || p.PassRate == nil || k/n != *p.PassRate || int64(tested[p.Platform]-tested0[p.Platform]) != p.Tested {
				t.Errorf("window %v, %s: Prometheus %v passes of %v (tested %v); report %v of n %d (tested %d)",
					w, p.Platform, k, n, tested[p.Platform]-tested0[p.Platform], p.PassRate, p.N, p.Tested)
			}
		}
	}
}

// TestRecordPushgateway records a batch with --pushgateway against a real
// Pushgateway on 127.0.0.1 and reads the batch's series back from it; a
// Pushgateway that cannot be reached leaves the batch recorded, with a
// warning (status 4).
func TestRecordPushgateway(t *testing.T) {
	bin, err := exec.LookPath("prometheus-pushgateway")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus-pushgateway is not installed (.ci/run installs it)")
		}
		t.Skip("prometheus-pushgateway is not installed")
	}
	if testing.Short() {
		t.Skip("starts a Pushgateway")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--web.listen-address="+addr)
	var logb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i == 80 {
			t.Fatalf("the Pushgateway did not start:\n%s", logb.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	data := t.TempDir()
	res := cli(t, "record", "--data", data, "--ecosystem", "cargo", "--batch-id", "push-1", "--timestamp", "2026-01-29T10:30:00Z",
		"--summary", os.DevNull, "--pushgateway", base, batch1)
	if res.code != 0 || !strings.Contains(res.stdout, "pushed the batch's figures to "+base) {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`batchsli_batch_recipe_tests{ecosystem="cargo",instance="",job="batchsli",platform="linux-debian-glibc-x86_64"} 4`,
		`batchsli_batch_recipe_failures{ecosystem="cargo",instance="",job="batchsli",platform="linux-alpine-musl-arm64"} 2`,
		`batchsli_batch_timestamp_seconds{ecosystem="cargo",instance="",job="batchsli",platform="darwin-arm64"} 1.7696826e+09`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the Pushgateway lacks %s", want)
		}
	}
	// Nobody listening: the batch is recorded, the push is a warning.
	data2 := t.TempDir()
	res = cli(t, "record", "--data", data2, "--ecosystem", "cargo", "--batch-id", "push-2", "--summary", os.DevNull,
		"--pushgateway", "http://127.0.0.1:1", batch1)
	if res.code != 4 || !strings.Contains(res.stderr, "batch push-2 is recorded") || !strings.Contains(res.stderr, "pushgateway") {
		t.Errorf("unreachable: exit %d, %s", res.code, res.stderr)
	}
	if v := cli(t, "validate", "--data", data2); v.code != 0 || !strings.Contains(v.stdout, "batch runs") {
		t.Errorf("the batch was not recorded: %s", v.stdout)
	}
	if res := cli(t, "record", "--data", t.TempDir(), "--ecosystem", "cargo", "--pushgateway", "localhost:9091", batch1); res.code != 2 {
		t.Errorf("a URL without a scheme: exit %d", res.code)
	}
}

// TestExportCheckGauges: the textfile carries batchsli check's state, as
// the check reports it with the same configuration: every SLO series'
// windows (batches, tests, failures, burn rate, adjusted p-value), its
// status, and the macOS week and gate.
func TestExportCheckGauges(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "batchsli.toml")
	os.WriteFile(cfg, []byte(rulesConfig), 0o644)
	chk := cli(t, "check", "--demo", "--config", cfg, "--format", "json")
	var c struct {
		MacOS  string `json:"macos"`
		Budget struct {
			BudgetMinutes float64  `json:"budget_minutes"`
			UsedMinutes   *float64 `json:"used_minutes"`
		}
		SLOs []struct {
			Name, Objective, Platform, Ecosystem, Status string
			Target                                       float64
			Period                                       json.RawMessage
			Windows                                      []json.RawMessage
		} `json:"slos"`
	}
	if err := json.Unmarshal([]byte(chk.stdout), &c); err != nil {
		t.Fatal(err)
	}
	exp := cli(t, "export", "--demo", "--config", cfg, "--format", "prometheus")
	got := exposition(t, exp.stdout)
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	n := 0
	for _, s := range c.SLOs {
		l := `slo=` + strconv.Quote(s.Name) + `,objective="` + s.Objective + `",platform="` + s.Platform + `"`
		if s.Ecosystem != "" {
			l += `,ecosystem="` + s.Ecosystem + `"`
		}
		l = strings.ReplaceAll(l, `\u0026`, "&")
		for _, raw := range append([]json.RawMessage{s.Period}, s.Windows...) {
			var w struct {
				Name                     string
				Batches, Tests, Failures float64
				Burn                     float64  `json:"burn_rate"`
				PAdj                     *float64 `json:"p_adjusted"`
			}
			json.Unmarshal(raw, &w)
			wl := "{" + l + `,window="` + w.Name + `"}`
			for name, want := range map[string]float64{"batches": w.Batches, "tests": w.Tests, "failures": w.Failures, "burn_rate": w.Burn} {
				if g := got["batchsli_slo_window_"+name+wl]; g != num(want) {
					t.Errorf("batchsli_slo_window_%s%s = %q, check %v", name, wl, g, want)
				}
				n++
			}
			if g, ok := got["batchsli_slo_window_p_adjusted"+wl]; (w.PAdj == nil) == ok || w.PAdj != nil && g != num(*w.PAdj) {
				t.Errorf("batchsli_slo_window_p_adjusted%s = %q, check %v", wl, g, w.PAdj)
			}
		}
		for _, st := range []string{"ok", "warn", "breach", "too_few"} {
			want := "0"
			if st == s.Status {
				want = "1"
			}
			if g := got["batchsli_slo_status{"+l+`,status="`+st+`"}`]; g != want {
				t.Errorf("status %s of %s: %q, want %s", st, l, g, want)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d window values compared", n)
	}
	if g := got[`batchsli_macos_gate{state="`+c.MacOS+`"}`]; g != "1" {
		t.Errorf("gate %s: %q", c.MacOS, g)
	}
	if g := got["batchsli_macos_week_budget_seconds"]; g != num(60*c.Budget.BudgetMinutes) {
		t.Errorf("budget %q", g)
	}
	if g, ok := got["batchsli_macos_week_used_seconds"]; (c.Budget.UsedMinutes == nil) == ok || ok && g != num(60**c.Budget.UsedMinutes) {
		t.Errorf("used minutes %q, check %v", g, c.Budget.UsedMinutes)
	}
	cmd := exec.Command(promtoolPath(t), "check", "metrics")
	cmd.Stdin = strings.NewReader(exp.stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestRedacted: a Pushgateway URL's password is never printed.
func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:secret@127.0.0.1:9091": "http://user:xxxxx@127.0.0.1:9091",
		"http://127.0.0.1:9091/":            "http://127.0.0.1:9091/",
		"http://[::1]:namedport":            "(the --pushgateway URL)",
	} {
		if got := redacted(in); got != want {
			t.Errorf("redacted(%q) = %q, want %q", in, got, want)
		}
	}
	res := cli(t, "record", "--data", t.TempDir(), "--ecosystem", "npm", "--summary", os.DevNull, "--pushgateway", "http://user:secret@127.0.0.1:1",
		"testdata/results/history/batch1.json")
	if res.code != 4 || strings.Contains(res.stdout+res.stderr, "secret") {
		t.Errorf("exit %d; the password shows: %q %q", res.code, res.stdout, res.stderr)
	}
}
