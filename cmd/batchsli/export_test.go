package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

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
