package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
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
	"github.com/batchsli/batchsli/stats"
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

// TestExportSLOSumsMatchCheck: the batch-clustered SLO counters give, over
// the whole history, the same batches, tests and failures as batchsli
// check's window over it, and the same p-value from the cluster-robust
// variance (infer.ExceedsClustered): what the alert rules compute in
// PromQL from their increases.
func TestExportSLOSumsMatchCheck(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "batchsli.toml")
	// A period of 2,000 batches: the breach window (a tenth) covers the
	// whole 120-batch sample, so its p-value is over every batch.
	os.WriteFile(cfg, []byte(`
[[slo]]
name = "pass"
objective = "pass_rate"
target = 0.9
window = 2000

[[slo]]
name = "homebrew"
objective = "pass_rate"
target = 0.8
ecosystem = "homebrew"
window = 2000

[[slo]]
name = "health"
objective = "runner_health"
target = 0.99
window = 2000
`), 0o644)
	res := cli(t, "check", "--demo", "--config", cfg, "--format", "json")
	if res.code != 0 && res.code&16 == 0 {
		t.Fatalf("check: exit %d: %s", res.code, res.stderr)
	}
	var c struct {
		SLOs []struct {
			Objective, Platform, Ecosystem string
			Target                         float64
			Windows                        []struct {
				Name     string
				Batches  int
				Tests    int64
				Failures int64
				P        *float64 `json:"p_value"`
			}
		} `json:"slos"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &c); err != nil {
		t.Fatal(err)
	}
	exp := cli(t, "export", "--demo", "--format", "prometheus")
	values := map[string]float64{}
	for _, line := range strings.Split(exp.stdout, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && strings.HasPrefix(k, "batchsli_slo_") {
			values[k], _ = strconv.ParseFloat(v, 64)
		}
	}
	if len(c.SLOs) != 18 {
		t.Fatalf("%d SLO series, want 6 platforms x 3", len(c.SLOs))
	}
	for _, s := range c.SLOs {
		l := `{objective="` + s.Objective + `",platform="` + s.Platform + `"`
		if s.Ecosystem != "" {
			l += `,ecosystem="` + s.Ecosystem + `"`
		}
		l += "}"
		get := func(name string) float64 {
			v, ok := values["batchsli_slo_"+name+"_total"+l]
			if !ok {
				t.Fatalf("no batchsli_slo_%s_total%s", name, l)
			}
			return v
		}
		B, N, F := get("batches"), get("tests"), get("failures")
		w := s.Windows[0]
		if w.Name != "breach_long" || w.P == nil {
			t.Fatalf("%s: window %q without a p-value", l, w.Name)
		}
		if float64(w.Batches) != B || float64(w.Tests) != N || float64(w.Failures) != F {
			t.Errorf("%s: counters give %v batches, %v tests, %v failures; check %d, %d, %d", l, B, N, F, w.Batches, w.Tests, w.Failures)
		}
		budget := 1 - s.Target
		r := F / N
		ss := get("failures_squared") - 2*r*get("failure_test_products") + r*r*get("tests_squared")
		v := max(B/(B-1)*ss/(N*N), budget*(1-budget)/N)
		p := 1 - stats.TCDF((r-budget)/math.Sqrt(v), B-1)
		if math.Abs(p-*w.P) > 1e-9*max(1, p) {
			t.Errorf("%s: p-value from the counters %v, check's %v", l, p, *w.P)
		}
	}
}
