package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/batchsli/batchsli/internal/golden"
	"github.com/batchsli/batchsli/store"
)

// TestMain lets the test binary stand in for batchsli in tests that need
// separate processes.
func TestMain(m *testing.M) {
	if os.Getenv("BATCHSLI_TEST_MAIN") == "1" {
		main()
		return
	}
	// Tests set the GitHub Actions variables themselves where they need them.
	for _, v := range []string{"GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ACTIONS", "NO_COLOR", "COLUMNS", "CLICOLOR_FORCE", "GOMEMLIMIT", "GOGC",
		"GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB", "GITHUB_ACTION"} {
		os.Unsetenv(v)
	}
	// The report cache is tested on its own (TestReportCache); elsewhere
	// it stays out of the test data.
	os.Setenv("BATCHSLI_CACHE", "off")
	code := m.Run()
	if simDir != "" {
		os.RemoveAll(simDir)
	}
	os.Exit(code)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	// Attempt tokens and random IDs from a fixed seed, so goldens are stable.
	entropy = mathrand.NewChaCha8([32]byte{1})
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	code := exitCode(err, &errb)
	return cliResult{out.String(), errb.String(), code}
}

// tree returns every file under dir with its contents, for golden files.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != store.LockName && d.Name() != store.GateName {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "== %s\n%s", filepath.ToSlash(rel), data)
	}
	return b.String()
}

const batch1 = "testdata/results/batch1"

func TestRecordGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"single-file", []string{"--ecosystem", "cargo", "--batch-id", "2026-01-29-cargo-001", "--timestamp", "2026-01-29T10:30:00Z", batch1}},
		{"per-run", []string{"--ecosystem", "cargo", "--timestamp", "2026-01-29T10:30:00Z", "--per-run", "--total", "30", "--generated", "25", "--merged", "1", batch1}},
		{"job-seconds", []string{"--ecosystem", "cargo", "--batch-id", "b-1", "--timestamp", "2026-01-29T10:30:00Z",
			"--job-seconds", "linux-x86_64=900", "--job-seconds", "darwin-arm64=185", "--job-seconds", "linux-debian-glibc-arm64=100", batch1}},
		{"mixed", []string{"--ecosystem", "cargo", "--batch-id", "m-1", "--timestamp", "2026-01-29T10:30:00Z", "testdata/results/mixed/results.jsonl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			res := cli(t, append([]string{"record", "--data", dir}, tt.args...)...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			out := strings.ReplaceAll(res.stdout, dir, "DATA")
			golden.Check(t, "testdata/record/"+tt.name+".golden", []byte("$ batchsli record "+strings.Join(tt.args, " ")+"\n"+out+tree(t, dir)))
			checkSchemas(t, dir)
			// What was written reads back without a problem.
			v := cli(t, "validate", "--data", dir, "--format", "json")
			if v.code != 0 {
				t.Errorf("validate after record: exit %d\n%s", v.code, v.stdout)
			}
		})
	}
}

// checkSchemas validates every written record against schemas/.
func checkSchemas(t testing.TB, dir string) {
	t.Helper()
	runSchema := compileSchema(t, "batch-run.v2.schema.json")
	failSchema := compileSchema(t, "failure.v2.schema.json")
	outSchema := compileSchema(t, "outcomes.v2.schema.json")
	n := 0
	for sub, sch := range map[string]*jsonschema.Schema{"metrics": runSchema, "failures": failSchema, "outcomes": outSchema} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*.jsonl"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
				if err != nil {
					t.Fatalf("%s:%d: %v", f, i+1, err)
				}
				if err := sch.Validate(v); err != nil {
					t.Errorf("%s:%d does not fit its schema: %v", f, i+1, err)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Error("no record was checked against the schemas")
	}
}

func TestSchemaRejectsBadRecords(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "metrics"), 0o755)
	os.WriteFile(filepath.Join(dir, "metrics", "batch-runs.jsonl"), []byte(`{"schema_version":2,"batch_id":"x","ecosystem":"cargo","total":-1,"platforms":{},"timestamp":"2026-01-01T00:00:00Z"}`+"\n"), 0o644)
	ft := &fakeT{}
	checkSchemas(ft, dir)
	if !ft.failed {
		t.Error("a record with a negative total passed the schema")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatal(...any)          { f.failed = true; panic("fatal") }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Error(...any)          { f.failed = true }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRecordRefusesBadInput checks that every kind of bad input is refused
// with an error naming the file (and line), and that nothing is written.
func TestRecordRefusesBadInput(t *testing.T) {
	good := `{"recipe":"a","platform":"linux-x86_64","status":"pass"}`
	tests := []struct {
		name    string
		results string // content of r.jsonl; "" for none
		extra   []string
		want    string // substring of stderr
	}{
		{"unreadable", "", []string{"does-not-exist.json"}, "does-not-exist.json"},
		{"bad json", good + "\n{\"recipe\":\"b\",\"platform\":\"linux-x86_64\",\"status\":\"pass\"\n", nil, "r.jsonl:2:"},
		{"bad json array", "[\n" + good + ",\n{\"recipe\": }\n]", nil, "r.jsonl:3:"},
		{"no recipe", good + "\n{\"platform\":\"linux-x86_64\",\"status\":\"pass\"}\n", nil, "r.jsonl:2: result has no recipe"},
		{"no platform", `{"recipe":"a","status":"pass"}`, nil, "r.jsonl:1: result for \"a\" has no platform"},
		{"no status", `{"recipe":"a","platform":"linux-x86_64"}`, nil, "r.jsonl:1: result for \"a\" on linux-x86_64 has no status"},
		{"bad status", `{"recipe":"a","platform":"linux-x86_64","status":"passed"}`, nil, `r.jsonl:1: status "passed" is not pass, fail or skipped`},
		{"negative duration", `{"recipe":"a","platform":"linux-x86_64","status":"pass","duration_seconds":-1}`, nil, "r.jsonl:1: duration_seconds is negative"},
		{"negative attempts", `{"recipe":"a","platform":"linux-x86_64","status":"pass","attempts":-1}`, nil, "r.jsonl:1: attempts is negative"},
		{"negative exit code", `{"recipe":"a","platform":"linux-x86_64","status":"fail","exit_code":-3}`, nil, "r.jsonl:1: exit_code -3 is out of range"},
		{"bad platform", `{"recipe":"a","platform":"linux/../x","status":"pass"}`, nil, `r.jsonl:1: platform "linux/../x" has characters outside [a-z0-9_.-]`},
		{"upper-case platform", `{"recipe":"a","platform":"Linux-x86_64","status":"pass"}`, nil, `r.jsonl:1: platform "Linux-x86_64"`},
		{"bad result ecosystem", `{"recipe":"a","ecosystem":"../x","platform":"linux-x86_64","status":"pass"}`, nil, `r.jsonl:1: ecosystem "../x" is not a plain name`},
		{"bad ecosystem flag", good, []string{"--ecosystem", "../x"}, `ecosystem "../x" is not a plain name`},
		{"bad batch id", good, []string{"--batch-id", "../../etc"}, `batch ID "../../etc"`},
		{"negative total", good, []string{"--total", "-1"}, `"-1" is not a non-negative whole number`},
		{"negative job seconds", good, []string{"--job-seconds", "linux-x86_64=-5"}, "non-negative"},
		{"job seconds no platform", good, []string{"--job-seconds", "darwin-arm64=5"}, "--job-seconds darwin-arm64: no result is on that platform"},
		{"empty file", " \n", nil, "r.jsonl: no results"},
		{"not an object", "[1]", nil, "r.jsonl:1: result [0]: invalid JSON"},
		{"bad timestamp", good, []string{"--timestamp", "yesterday"}, "--timestamp"},
		{"timestamp before 2000", good, []string{"--timestamp", "1999-12-31T23:00:00Z"}, "out of range (years 2000 to 9999)"},
		{"duplicate key", `{"recipe":"a","platform":"linux-x86_64","status":"fail","status":"pass"}`, nil, `r.jsonl:1: key "status" appears twice in one result`},
		{"duplicate key in array", "[\n" + good + ",\n{\"recipe\":\"a\",\n\"recipe\":\"b\",\"platform\":\"linux-x86_64\",\"status\":\"pass\"}]", nil, `r.jsonl:4: result [1]: key "recipe" appears twice`},
		{"invalid utf-8", good + "\n" + "{\"recipe\":\"a\xff\",\"platform\":\"linux-x86_64\",\"status\":\"pass\"}", nil, "r.jsonl:2: not valid UTF-8 (byte 0xff)"},
		{"invalid utf-8 in array", "[\n" + good + ",\n" + "{\"recipe\":\"\xc3\",\"platform\":\"linux-x86_64\",\"status\":\"pass\"}]", nil, "r.jsonl:3: not valid UTF-8"},
		{"huge duration", `{"recipe":"a","platform":"darwin-arm64","status":"pass","duration_seconds":1e300}`, nil, "r.jsonl:1: duration_seconds is too large"},
		{"durations past the bound", `{"recipe":"a","platform":"darwin-arm64","status":"pass","duration_seconds":6e8}` + "\n" + `{"recipe":"b","platform":"darwin-arm64","status":"pass","duration_seconds":6e8}`, nil, "duration_seconds is too large"},
		{"huge job seconds", good, []string{"--job-seconds", "linux-x86_64=1e300"}, "not a number of seconds from 0 to 1e+09"},
		{"number past 2^53", `{"recipe":"a","platform":"linux-x86_64","status":"pass","attempts":4611686018427387904}`, nil, "r.jsonl:1: number 4611686018427387904 is too large"},
		{"huge total", good, []string{"--total", "9223372036854775807"}, "is too large"},
		{"over-long line", good + "\n{\"recipe\":\"" + strings.Repeat("x", 65<<20) + "\"}trailing garbage\n", nil, "r.jsonl:2: line longer than 67108864 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			args := []string{"record", "--data", data}
			if !containsFlag(tt.extra, "--ecosystem") {
				args = append(args, "--ecosystem", "cargo")
			}
			args = append(args, tt.extra...)
			if tt.results != "" {
				args = append(args, writeFile(t, dir, "r.jsonl", tt.results))
			} else {
				args = append(args, filepath.Join(dir, "does-not-exist.json"))
			}
			res := cli(t, args...)
			if res.code == 0 {
				t.Fatalf("exit 0, want an error; stdout:\n%s", res.stdout)
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", res.stderr, tt.want)
			}
			if _, err := os.Stat(data); err == nil {
				if got := tree(t, data); got != "" {
					t.Errorf("something was written:\n%s", got)
				}
			}
		})
	}
}

func containsFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

// TestRecordRetryAndDuplicate: recording a committed batch again with the
// same results is a retry (exit 0, "already recorded", nothing written); with
// other results it is refused.
func TestRecordRetryAndDuplicate(t *testing.T) {
	for _, perRun := range []bool{false, true} {
		dir := t.TempDir()
		args := []string{"record", "--data", dir, "--ecosystem", "cargo", "--batch-id", "b-1", "--timestamp", "2026-01-29T10:30:00Z", batch1}
		if perRun {
			args = append(args, "--per-run")
		}
		if res := cli(t, args...); res.code != 0 {
			t.Fatal(res.stderr)
		}
		before := tree(t, dir)
		res := cli(t, args...)
		if res.code != 0 || !strings.Contains(res.stdout, "batch b-1 is already recorded") {
			t.Errorf("per-run %v: retry: exit %d, %q %q", perRun, res.code, res.stdout, res.stderr)
		}
		// Other results under the same ID are refused.
		res = cli(t, append(args, "--total", "99")...)
		if res.code != 3 || !strings.Contains(res.stderr, "batch b-1 is already recorded with different results in ") {
			t.Errorf("per-run %v: different results: exit %d, %s", perRun, res.code, res.stderr)
		}
		if after := tree(t, dir); after != before {
			t.Errorf("per-run %v: a refused or repeated record changed the data:\n%s", perRun, after)
		}
	}
}

func TestRecordMakesUniqueIDs(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	re := regexp.MustCompile(`^recorded batch (2026-01-29-cargo-[0-9a-f]{8}) `)
	// Hours apart: the same results within RetryWindow would be a retry.
	for i, ts := range []string{"2026-01-29T00:30:00Z", "2026-01-29T08:30:00Z", "2026-01-29T16:30:00Z"} {
		res := cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--timestamp", ts, batch1)
		m := re.FindStringSubmatch(res.stdout)
		if res.code != 0 || m == nil || seen[m[1]] {
			t.Fatalf("run %d: exit %d, %q", i, res.code, res.stdout)
		}
		seen[m[1]] = true
	}
	// The same results at the same time: the earlier attempt's batch.
	res := cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--timestamp", "2026-01-29T08:30:00Z", batch1)
	if res.code != 0 || !strings.Contains(res.stdout, "is already recorded") {
		t.Errorf("retry: exit %d, %q", res.code, res.stdout)
	}
}

// TestRecordCIIdentity: in GitHub Actions the automatic ID comes from the
// run, so a retry of the same step is recognised; another step gets another.
func TestRecordCIIdentity(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GITHUB_RUN_ID", "123456")
	t.Setenv("GITHUB_RUN_ATTEMPT", "2")
	t.Setenv("GITHUB_JOB", "merge")
	t.Setenv("GITHUB_ACTION", "sli")
	args := []string{"record", "--data", dir, "--ecosystem", "cargo", "--timestamp", "2026-01-29T10:30:00Z", batch1}
	res := cli(t, args...)
	re := regexp.MustCompile(`^recorded batch (2026-01-29-cargo-gh123456-2-[0-9a-f]{6}-[0-9a-f]{6}) `)
	m := re.FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil {
		t.Fatalf("exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
	// The same step again, a day later by the clock: already recorded.
	res = cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--timestamp", "2026-01-30T00:10:00Z", batch1)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "batch "+m[1]+" is already recorded") {
		t.Errorf("retry: exit %d, %q", res.code, res.stdout)
	}
	// Another leg of a matrix job (the same variables) with other results
	// records a batch of its own.
	res = cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--timestamp", "2026-01-29T10:30:00Z", "--total", "9", batch1)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "recorded batch 2026-01-29-cargo-gh123456-2-") || strings.Contains(res.stdout, m[1]) {
		t.Errorf("another matrix leg: exit %d, %q", res.code, res.stdout)
	}
	// After a crash left uncommitted records under the step's ID, the retry
	// records the batch under a fresh one, and a later retry finds it.
	crashed := t.TempDir()
	writeFile(t, crashed, "failures/cargo.jsonl", `{"schema_version":2,"batch_id":"`+m[1]+`","ecosystem":"cargo","environment":"darwin-x86_64","package_id":"cargo:x","category":"install_failed","timestamp":"2026-01-29T10:30:00Z","attempt_id":"0123456789abcdef0123456789abcdef"}`+"\n")
	res = cli(t, "record", "--data", crashed, "--ecosystem", "cargo", "--timestamp", "2026-01-29T10:30:00Z", batch1)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "recorded batch "+m[1]+".2 ") {
		t.Fatalf("retry after a crash: exit %d, %q", res.code, res.stdout)
	}
	for i := 0; i < 2; i++ {
		res = cli(t, "record", "--data", crashed, "--ecosystem", "cargo", "--timestamp", "2026-01-30T10:30:00Z", batch1)
		if res.code != 0 || !strings.HasPrefix(res.stdout, "batch "+m[1]+".2 is already recorded") {
			t.Errorf("retry %d after the retry: exit %d, %q", i, res.code, res.stdout)
		}
	}
	// Another step of the run records a batch of its own.
	t.Setenv("GITHUB_ACTION", "sli2")
	res = cli(t, args...)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "recorded batch 2026-01-29-cargo-gh123456-2-") || strings.Contains(res.stdout, m[1]) {
		t.Errorf("another step: exit %d, %q", res.code, res.stdout)
	}
}

// TestRecordAfterTornLine: a crash mid-write leaves a line without its
// newline; the next record starts on a fresh line and validate names the torn one.
func TestRecordAfterTornLine(t *testing.T) {
	dir := t.TempDir()
	torn := `{"schema_version":2,"batch_id":"torn","ecosystem":"cargo","total":1,"platfor`
	writeFile(t, dir, "metrics/batch-runs.jsonl", torn)
	writeFile(t, dir, "failures/cargo.jsonl", `{"schema_version":2,"batch_id":"torn","ecosys`)
	res := cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--batch-id", "after", "--timestamp", "2026-01-29T10:30:00Z", batch1)
	if res.code != 0 {
		t.Fatal(res.stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "metrics", "batch-runs.jsonl"))
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || lines[0] != torn || !json.Valid([]byte(lines[1])) {
		t.Fatalf("metrics file:\n%s", data)
	}
	v := cli(t, "validate", "--data", dir, "--format", "json")
	if v.code != 1 {
		t.Errorf("validate exit %d, want 1", v.code)
	}
	var inv struct {
		BatchRuns      int `json:"batch_runs"`
		FailureRecords int `json:"failure_records"`
		Problems       []struct {
			File    string
			Line    int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(v.stdout), &inv); err != nil {
		t.Fatal(err)
	}
	if inv.BatchRuns != 1 || inv.FailureRecords != 6 || len(inv.Problems) != 2 {
		t.Fatalf("validate: %+v", inv)
	}
	for _, p := range inv.Problems {
		if p.Line != 1 || !strings.Contains(p.Message, "truncated record") {
			t.Errorf("problem %+v, want the torn line 1", p)
		}
	}
}

// TestRecordConcurrent runs 8 record processes at once on one data directory.
// TestRecordConcurrent: 32 record processes and 8 readers at once on one
// directory. Every batch lands whole, and no reader ever sees a problem or
// an uncommitted record: readers wait for a commit in progress.
func TestRecordConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	const writers, readers = 32, 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	outs := make([][]byte, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Distinct times: the same results at the same time would be a retry.
			ts := time.Date(2026, 1, 29, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour).Format(time.RFC3339)
			args := []string{"record", "--data", dir, "--ecosystem", "cargo", "--timestamp", ts, batch1}
			if i%2 == 1 {
				args = append(args, "--per-run")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "BATCHSLI_TEST_MAIN=1")
			outs[i], errs[i] = cmd.CombinedOutput()
		}(i)
	}
	done := make(chan struct{})
	var rwg sync.WaitGroup
	readErrs := make([][]string, readers)
	reads := make([]int, readers)
	for r := 0; r < readers; r++ {
		rwg.Add(1)
		go func(r int) {
			defer rwg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				cmd := exec.Command(os.Args[0], "validate", "--data", dir, "--format", "json")
				cmd.Env = append(os.Environ(), "BATCHSLI_TEST_MAIN=1")
				out, err := cmd.Output()
				reads[r]++
				if err != nil {
					readErrs[r] = append(readErrs[r], fmt.Sprintf("%v: %s", err, out))
				}
			}
		}(r)
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Errorf("writer %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	total := 0
	for r := range readErrs {
		total += reads[r]
		for _, e := range readErrs[r] {
			t.Errorf("reader %d: %s", r, e)
		}
	}
	t.Logf("%d reads while %d writers wrote", total, writers)
	res := cli(t, "validate", "--data", dir, "--format", "json")
	var inv struct {
		BatchRuns      int `json:"batch_runs"`
		FailureRecords int `json:"failure_records"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &inv); err != nil || res.code != 0 {
		t.Fatalf("validate: exit %d, %v\n%s", res.code, err, res.stdout)
	}
	if inv.BatchRuns != writers || inv.FailureRecords != 6*writers {
		t.Errorf("%d batch runs and %d failure records, want %d and %d", inv.BatchRuns, inv.FailureRecords, writers, 6*writers)
	}
	checkSchemas(t, dir)
}
