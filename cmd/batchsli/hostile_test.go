//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchsli/batchsli/store"
)

const goodResult = `{"recipe":"a","platform":"linux-debian-glibc-x86_64","status":"fail","exit_code":6}` + "\n" +
	`{"recipe":"b","platform":"linux-debian-glibc-x86_64","status":"pass"}` + "\n"

func recordArgs(data string, extra ...string) []string {
	return append([]string{"record", "--data", data, "--ecosystem", "cargo", "--timestamp", "2026-03-02T10:00:00Z"}, extra...)
}

// TestRecordNeverWritesThroughLinksOut: a data file or folder that is a
// symbolic link out of the data directory is refused with a clear error,
// and nothing is written anywhere.
func TestRecordNeverWritesThroughLinksOut(t *testing.T) {
	for _, link := range []string{"metrics", "failures/cargo.jsonl", "metrics/batch-runs.jsonl"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			outside := filepath.Join(dir, "outside")
			data := filepath.Join(dir, "data")
			os.MkdirAll(outside, 0o755)
			os.MkdirAll(filepath.Join(data, "failures"), 0o755)
			os.MkdirAll(filepath.Join(data, "metrics"), 0o755)
			target := filepath.Join(outside, "target.jsonl")
			if link == "metrics" {
				os.Remove(filepath.Join(data, "metrics"))
				target = outside
			}
			if err := os.Symlink(target, filepath.Join(data, link)); err != nil {
				t.Fatal(err)
			}
			results := writeFile(t, dir, "r.jsonl", goodResult)
			before := tree(t, data)
			res := cli(t, recordArgs(data, "--batch-id", "b-1", results)...)
			if res.code != 3 || !strings.Contains(res.stderr, "a symbolic link leads out of the data directory") || !strings.Contains(res.stderr, "nothing was recorded") {
				t.Errorf("exit %d, %q", res.code, res.stderr)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("wrote outside the data directory: %v", ents)
			}
			if after := tree(t, data); after != before {
				t.Errorf("the data changed:\n%s", after)
			}
		})
	}
}

// TestSymlinkedDataFiles: a data file linked inside the directory is read;
// one linked outside, a dangling link, a link loop, a FIFO and a name that
// is not UTF-8 are each a problem for that file only, and the rest is read.
func TestSymlinkedDataFiles(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if res := cli(t, recordArgs(data, "--batch-id", "b-1", writeFile(t, dir, "r.jsonl", goodResult))...); res.code != 0 {
		t.Fatal(res.stderr)
	}
	// Move the records into a folder of the data directory and link them.
	os.MkdirAll(filepath.Join(data, "archive"), 0o755)
	os.Rename(filepath.Join(data, "metrics", "batch-runs.jsonl"), filepath.Join(data, "archive", "runs.jsonl"))
	os.Symlink("../archive/runs.jsonl", filepath.Join(data, "metrics", "batch-runs.jsonl"))
	outside := writeFile(t, dir, "outside.jsonl", `{"schema_version":2,"batch_id":"out","ecosystem":"cargo","total":1,"platforms":{"linux-x86_64":{"tested":1,"passed":1,"failed":0,"skipped":0}},"timestamp":"2026-03-02T10:00:00Z"}`+"\n")
	os.Symlink(outside, filepath.Join(data, "metrics", "batch-runs-out.jsonl"))
	os.Symlink("nowhere.jsonl", filepath.Join(data, "metrics", "batch-runs-dangling.jsonl"))
	os.Symlink("batch-runs-loop.jsonl", filepath.Join(data, "metrics", "batch-runs-loop.jsonl"))
	if err := syscall.Mkfifo(filepath.Join(data, "failures", "fifo.jsonl"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, data, "failures/\xff\x1b[31mred.jsonl", "")

	done := make(chan cliResult, 1)
	go func() { done <- cli(t, "validate", "--data", data, "--format", "json") }()
	var res cliResult
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("validate hangs (on the FIFO?)")
	}
	var inv struct {
		BatchRuns      int `json:"batch_runs"`
		FailureRecords int `json:"failure_records"`
		Problems       []struct {
			File, Message string
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &inv); err != nil {
		t.Fatalf("%v: %s %s", err, res.stdout, res.stderr)
	}
	if res.code != 1 || inv.BatchRuns != 1 || inv.FailureRecords != 1 {
		t.Errorf("exit %d, %d batch runs and %d failure records; want 1, 1 and 1", res.code, inv.BatchRuns, inv.FailureRecords)
	}
	want := map[string]string{
		"batch-runs-out.jsonl":      "symbolic link not read: path escapes from parent",
		"batch-runs-dangling.jsonl": "symbolic link not read",
		"batch-runs-loop.jsonl":     "symbolic link not read",
		"fifo.jsonl":                "not a regular file",
		`\xff\x1b[31mred.jsonl`:     "file name is not valid UTF-8",
	}
	for _, p := range inv.Problems {
		for name, msg := range want {
			if strings.HasSuffix(p.File, name) && strings.Contains(p.Message, msg) {
				delete(want, name)
			}
		}
		if strings.ContainsAny(p.File, "\x1b\xff") {
			t.Errorf("problem names a file unescaped: %q", p.File)
		}
	}
	for name, msg := range want {
		t.Errorf("no problem %q for %s in %+v", msg, name, inv.Problems)
	}
	// The text output escapes the name too, and record still works.
	text := cli(t, "validate", "--data", data)
	if strings.ContainsAny(text.stdout, "\x1b\xff") {
		t.Errorf("validate printed raw control bytes: %q", text.stdout)
	}
	if r := cli(t, recordArgs(data, "--batch-id", "b-2", writeFile(t, dir, "r2.jsonl", goodResult))...); r.code != 0 {
		t.Errorf("record next to a bad file name: exit %d, %s", r.code, r.stderr)
	}
	if r := cli(t, "report", "--data", data, "--format", "json"); r.code != 0 {
		t.Errorf("report: exit %d, %s", r.code, r.stderr)
	}
}

// TestResultsFilesThatAreNotFiles: a FIFO given as results is refused at
// once (no hang), and a results file linked from a results folder is read.
func TestResultsFilesThatAreNotFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "results.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan cliResult, 1)
	go func() { done <- cli(t, recordArgs(filepath.Join(dir, "data"), fifo)...) }()
	select {
	case res := <-done:
		if res.code != 1 || !strings.Contains(res.stderr, "is not a regular file") {
			t.Errorf("FIFO: exit %d, %q", res.code, res.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("record hangs on a FIFO")
	}
	for _, dev := range []string{"/dev/zero", "/dev/null"} {
		res := cli(t, recordArgs(filepath.Join(dir, "data"), dev)...)
		if res.code != 1 || !strings.Contains(res.stderr, "is not a regular file") {
			t.Errorf("%s: exit %d, %q", dev, res.code, res.stderr)
		}
	}
	folder := filepath.Join(dir, "results")
	writeFile(t, folder, "validation-results-linux.json", goodResult)
	darwin := writeFile(t, dir, "elsewhere/darwin.json", `{"recipe":"a","platform":"darwin-arm64","status":"pass"}`)
	os.Symlink(darwin, filepath.Join(folder, "validation-results-darwin.json"))
	res := cli(t, recordArgs(filepath.Join(dir, "data"), "--batch-id", "b-1", folder)...)
	if res.code != 0 || !strings.Contains(res.stdout, "darwin-arm64") {
		t.Errorf("linked results: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
	// A link in a results folder to something that is not a file is refused.
	os.Symlink("/dev/zero", filepath.Join(folder, "validation-results-zero.json"))
	res = cli(t, recordArgs(filepath.Join(dir, "data"), "--batch-id", "b-2", folder)...)
	if res.code != 1 || !strings.Contains(res.stderr, "symbolic link to something other than a regular file") {
		t.Errorf("link to a device: exit %d, %q", res.code, res.stderr)
	}
}

// TestResultsByteOrderMark: a UTF-8 BOM at the start is accepted.
func TestResultsByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	for i, body := range []string{"\xef\xbb\xbf" + goodResult, "\xef\xbb\xbf[" + strings.ReplaceAll(strings.TrimSpace(goodResult), "\n", ",") + "]"} {
		res := cli(t, recordArgs(filepath.Join(dir, "data"), "--batch-id", "bom-"+string(rune('a'+i)), writeFile(t, dir, "r.json", body))...)
		if res.code != 0 {
			t.Errorf("BOM %d: exit %d, %s", i, res.code, res.stderr)
		}
	}
}

// TestInterrupt: SIGINT stops a command promptly with status 130, even
// while it waits for the lock; record then has written nothing.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	results := writeFile(t, dir, "r.jsonl", goodResult)
	if res := cli(t, recordArgs(data, "--batch-id", "b-0", results)...); res.code != 0 {
		t.Fatal(res.stderr)
	}
	before := tree(t, data)
	unlock, err := store.Lock(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	for _, args := range [][]string{
		recordArgs(data, "--batch-id", "b-1", results),
		{"report", "--data", data},
		{"validate", "--data", data},
		{"summary", "--data", data},
	} {
		cmd := testBinary(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // it waits for the lock the test holds
		start := time.Now()
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 130 {
			t.Errorf("%s: after SIGINT: %v", args[0], err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v to stop", args[0], d)
		}
	}
	unlock()
	if after := tree(t, data); after != before {
		t.Errorf("an interrupted record wrote:\n%s", after)
	}
}

// TestReadersWaitForAWriter: a reader started while a writer is appending
// (holding the lock, its last line half written) does not report the half
// line: it waits, and reads the finished line.
func TestReadersWaitForAWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if res := cli(t, recordArgs(data, "--batch-id", "b-0", writeFile(t, dir, "r.jsonl", goodResult))...); res.code != 0 {
		t.Fatal(res.stderr)
	}
	unlock, err := store.Lock(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"schema_version":2,"batch_id":"live","ecosystem":"cargo","total":1,"platforms":{"linux-x86_64":{"tested":1,"passed":1,"failed":0,"skipped":0}},"timestamp":"2026-03-02T11:00:00Z"}` + "\n"
	f, err := os.OpenFile(filepath.Join(data, "metrics", "batch-runs.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(line[:40])
	cmd := testBinary("validate", "--data", data, "--format", "json")
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Start()
	time.Sleep(300 * time.Millisecond)
	f.WriteString(line[40:])
	f.Close()
	unlock()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"batch_runs": 2`) {
		t.Errorf("validate did not read the finished line:\n%s", out.String())
	}
}

// TestSummaryFailureAfterCommit: when the summary cannot be written after
// the commit, record warns and exits 4 (the batch is recorded); a retry
// says "already recorded" and exits 0.
func TestSummaryFailureAfterCommit(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	results := writeFile(t, dir, "r.jsonl", goodResult)
	args := recordArgs(data, "--batch-id", "b-1", "--summary", filepath.Join(dir, "no-such-folder", "summary.md"), results)
	res := cli(t, args...)
	if res.code != exitCommittedWarning || !strings.Contains(res.stderr, "warning: batch b-1 is recorded") {
		t.Fatalf("exit %d, %q", res.code, res.stderr)
	}
	res = cli(t, recordArgs(data, "--batch-id", "b-1", results)...)
	if res.code != 0 || !strings.Contains(res.stdout, "batch b-1 is already recorded") {
		t.Errorf("retry: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
	v := cli(t, "validate", "--data", data, "--format", "json")
	if v.code != 0 || !strings.Contains(v.stdout, `"batch_runs": 1`) {
		t.Errorf("validate: exit %d\n%s", v.code, v.stdout)
	}
}

// TestErrorsEscapeFileNames: a results file name with terminal escapes is
// shown escaped on stderr.
func TestErrorsEscapeFileNames(t *testing.T) {
	dir := t.TempDir()
	name := writeFile(t, dir, "r\x1b]0;owned\x07\u202e.jsonl", `{"recipe":"a"}`)
	res := cli(t, recordArgs(filepath.Join(dir, "data"), name)...)
	if res.code != 1 || strings.ContainsAny(res.stderr, "\x1b\x07\u202e") || !strings.Contains(res.stderr, `r\x1b]0;owned\x07\u202e.jsonl:1: result for "a" has no platform`) {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

// TestReportInYear9999: a batch in the last week the format allows renders
// in every format.
func TestReportInYear9999(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "metrics/batch-runs.jsonl", `{"schema_version":2,"batch_id":"y","ecosystem":"npm","total":1,"platforms":{"darwin-arm64":{"tested":1,"passed":1,"failed":0,"skipped":0,"duration_seconds":60}},"macos_minutes_used":1,"timestamp":"9999-12-31T10:00:00Z"}`+"\n")
	for _, f := range []string{"json", "text", "markdown"} {
		res := cli(t, "report", "--data", dir, "--format", f, "--now", "9999-12-31T11:00:00Z")
		if res.code != 0 {
			t.Errorf("%s: exit %d, %s", f, res.code, res.stderr)
		}
		if f == "json" && !strings.Contains(res.stdout, `"week_end": "9999-12-31T23:59:59Z"`) {
			t.Errorf("week_end is not the last representable time:\n%s", res.stdout)
		}
	}
	if res := cli(t, "summary", "--data", dir); res.code != 0 {
		t.Errorf("summary: exit %d, %s", res.code, res.stderr)
	}
}

// TestCountsThatWouldOverflow: counts past reader.MaxCount are problems,
// so no sum can wrap.
func TestCountsThatWouldOverflow(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	// 2^52 is a whole number every JSON reader takes; 2,100 of them sum
	// past 2^63.
	for i := 0; i < 2100; i++ {
		fmt.Fprintf(&b, `{"schema_version":2,"batch_id":"big-%d","ecosystem":"npm","total":1,"platforms":{"linux-x86_64":{"tested":4503599627370496,"passed":4503599627370496,"failed":0,"skipped":0}},"timestamp":"2026-03-02T10:00:00Z"}`+"\n", i)
	}
	b.WriteString(`{"schema_version":2,"batch_id":"ok","ecosystem":"npm","total":1,"platforms":{"linux-x86_64":{"tested":2,"passed":1,"failed":1,"skipped":0}},"timestamp":"2026-03-02T11:00:00Z"}` + "\n")
	writeFile(t, dir, "metrics/batch-runs.jsonl", b.String())
	res := cli(t, "report", "--data", dir, "--format", "json", "--now", "2026-03-03T00:00:00Z")
	var rep struct {
		Platforms []struct {
			Tested int64 `json:"tested"`
		} `json:"platforms"`
		Problems []struct{ Message string } `json:"problems"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err, res.stderr)
	}
	if len(rep.Platforms) != 1 || rep.Platforms[0].Tested != 2 {
		t.Errorf("platforms %+v, want the one readable batch's 2 tests", rep.Platforms)
	}
	if len(rep.Problems) != 2100 || !strings.Contains(rep.Problems[0].Message, "tested is too large (4503599627370496; at most 1099511627776)") {
		t.Errorf("%d problems, the first %+v", len(rep.Problems), rep.Problems[0])
	}
}

// TestRepeatedRecordsCountOnce: a failures file linked, copied, or a line
// repeated, counts each record once, and says so.
func TestRepeatedRecordsCountOnce(t *testing.T) {
	for _, how := range []string{"link", "copy", "line"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			if res := cli(t, recordArgs(data, "--batch-id", "s1", writeFile(t, dir, "r.jsonl", goodResult))...); res.code != 0 {
				t.Fatal(res.stderr)
			}
			orig := filepath.Join(data, "failures", "cargo.jsonl")
			b, _ := os.ReadFile(orig)
			switch how {
			case "link":
				os.Symlink("cargo.jsonl", filepath.Join(data, "failures", "latest.jsonl"))
			case "copy":
				os.WriteFile(filepath.Join(data, "failures", "cargo-copy.jsonl"), b, 0o644)
			case "line":
				os.WriteFile(orig, append(b, b...), 0o644)
			}
			res := cli(t, "validate", "--data", data, "--format", "json")
			var inv struct {
				FailureRecords int `json:"failure_records"`
				Problems       []struct{ Message string }
			}
			json.Unmarshal([]byte(res.stdout), &inv)
			if res.code != 1 || inv.FailureRecords != 1 || len(inv.Problems) != 1 ||
				!(strings.Contains(inv.Problems[0].Message, "repeated") || strings.Contains(inv.Problems[0].Message, "not read twice")) {
				t.Errorf("exit %d, %d failure records, problems %+v", res.code, inv.FailureRecords, inv.Problems)
			}
			if _, _, rf := commandTotals(t, data); rf != 1 {
				t.Errorf("report counts %d failures, want 1", rf)
			}
			if n := summaryFailures(t, data, "s1"); n != 1 {
				t.Errorf("summary lists %d failures, want 1", n)
			}
		})
	}
}

// TestJSONOutputEscapes: control, C1, separator and bidi characters from the
// data reach no output raw, JSON included.
func TestJSONOutputEscapes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "metrics/batch-runs.jsonl", `{"schema_version":2,"batch_id":"b","ecosystem":"npm","total":1,"platforms":{"linux-x86_64":{"tested":1,"passed":0,"failed":1,"skipped":0}},"timestamp":"2026-03-02T10:00:00Z"}`+"\n")
	writeFile(t, dir, "failures/npm.jsonl", `{"schema_version":2,"batch_id":"b","ecosystem":"npm","environment":"linux-x86_64","package_id":"npm:a\u202eb","category":"cat\u0085\u2028\u007f\u202e\u200b\ufeff","timestamp":"2026-03-02T10:00:00Z"}`+"\n"+
		`{"schema_version":2,"batch_id":"never\u202e","ecosystem":"npm","environment":"linux-x86_64","package_id":"npm:c","category":"x","timestamp":"2026-03-02T10:00:00Z"}`+"\n")
	for _, args := range [][]string{
		{"report", "--data", dir, "--format", "json", "--now", "2026-03-03T00:00:00Z"},
		{"report", "--data", dir, "--now", "2026-03-03T00:00:00Z"},
		{"report", "--data", dir, "--format", "markdown", "--now", "2026-03-03T00:00:00Z"},
		{"validate", "--data", dir, "--format", "json"},
		{"validate", "--data", dir},
		{"summary", "--data", dir},
	} {
		res := cli(t, args...)
		for _, bad := range []string{"\u202e", "\u0085", "\u2028", "\x7f", "\u200b", "\ufeff"} {
			if strings.Contains(res.stdout+res.stderr, bad) {
				t.Errorf("%s: output holds %q raw", strings.Join(args[:len(args)-2], " "), bad)
			}
		}
		if strings.Contains(args[len(args)-1], "json") || (len(args) > 4 && args[4] == "json") {
			var v any
			if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
				t.Errorf("%v: not JSON: %v", args, err)
			}
		}
	}
}

// TestFailureRecordInMetricsIsNoCommit: a failure record copied into a
// metrics file (it has a batch ID, a token and a time) never passes for its
// batch's commit, and never hides the real one.
func TestFailureRecordInMetricsIsNoCommit(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if res := cli(t, recordArgs(data, "--batch-id", "b1", writeFile(t, dir, "r.jsonl", goodResult))...); res.code != 0 {
		t.Fatal(res.stderr)
	}
	fail, _ := os.ReadFile(filepath.Join(data, "failures", "cargo.jsonl"))
	// Sorted before the real record, and in place of it.
	writeFile(t, data, "metrics/batch-runs-a.jsonl", string(fail))
	vr, vf, rf := commandTotals(t, data)
	if vr != 1 || vf != 1 || rf != 1 {
		t.Errorf("validate %d runs %d failures, report %d failures; want 1, 1, 1", vr, vf, rf)
	}
	os.Rename(filepath.Join(data, "metrics", "batch-runs.jsonl"), filepath.Join(dir, "real.jsonl"))
	res := cli(t, "validate", "--data", data, "--format", "json")
	if !strings.Contains(res.stdout, `"batch_runs": 0`) || !strings.Contains(res.stdout, "batch-run record has no platforms") || !strings.Contains(res.stdout, "uncommitted: no readable batch-run record of batch b1") {
		t.Errorf("validate:\n%s", res.stdout)
	}
}
