//go:build unix

package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/store"
)

var (
	crashTrials   = flag.Int("crash-trials", 100, "record crash trials (the long mode runs 1000)")
	compactTrials = flag.Int("compact-crash-trials", 40, "compact crash trials (the long mode runs 300)")
)

// crashBatch writes trial i's results: 30 recipes on 4 platforms, about a
// third failing with long messages; every fourth batch spans two
// ecosystems, so its failures go to two files. It returns the results file,
// the batch's time and its expected failure records.
func crashBatch(t *testing.T, dir string, i int) (string, string, int) {
	var b strings.Builder
	fails := 0
	plats := []string{"linux-debian-glibc-x86_64", "linux-alpine-musl-x86_64", "linux-debian-glibc-arm64", "darwin-arm64"}
	for r := 0; r < 30; r++ {
		for _, p := range plats {
			h := fnv.New32a()
			fmt.Fprintf(h, "%d/%d/%s", i, r, p)
			status := "pass"
			if h.Sum32()%3 == 0 {
				status = "fail"
				fails++
			}
			id := fmt.Sprintf(`"recipe":"r%d"`, r)
			if i%4 == 3 && r%2 == 1 {
				id = fmt.Sprintf(`"package_id":"npm:r%d"`, r)
			}
			fmt.Fprintf(&b, `{%s,"platform":%q,"status":%q,"exit_code":6,"duration_seconds":%d,"message":%q}`+"\n",
				id, p, status, 10+r, strings.Repeat(fmt.Sprintf("trial %d recipe %d failed; ", i, r), 12))
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("results-%d.jsonl", i))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
	return path, ts, fails
}

// committedState reads dir as every command does (through store.Open and
// the reader) and returns, per batch time, how many batch-run records and
// counted failure records it holds, and the uncommitted records left out.
func committedState(t *testing.T, dir string) (runs, fails map[string]int, uncommitted, problems int) {
	t.Helper()
	fsys, release, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	rd := reader.New(fsys, dir, reader.Options{SkipMessages: true})
	runs, fails = map[string]int{}, map[string]int{}
	tsOf := map[string]string{}
	if err := rd.Metrics(func(b *model.BatchRun) {
		ts := b.Timestamp.Format(time.RFC3339)
		runs[ts]++
		tsOf[b.BatchID] = ts
	}); err != nil {
		t.Fatal(err)
	}
	if err := rd.Failures(func(f *model.Failure) {
		ts, ok := tsOf[f.BatchID]
		if !ok {
			t.Errorf("failure record %s:%d of batch %s was counted, but the batch has no record", f.Source.File, f.Source.Line, f.BatchID)
		}
		fails[ts]++
	}); err != nil {
		t.Fatal(err)
	}
	u, more := rd.Uncommitted()
	p, pmore := rd.Problems()
	return runs, fails, len(u) + more, len(p) + pmore
}

func summaryFailures(t *testing.T, dir, batchID string) int {
	t.Helper()
	fsys, release, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	o := analyze.DefaultSummaryOptions()
	o.BatchID = batchID
	s, err := analyze.BuildSummary(fsys, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return len(s.Failures)
}

func batchIDAt(t *testing.T, dir, ts string) string {
	fsys, release, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	id := ""
	reader.New(fsys, dir, reader.Options{SkipMessages: true}).Metrics(func(b *model.BatchRun) {
		if b.Timestamp.Format(time.RFC3339) == ts {
			id = b.BatchID
		}
	})
	return id
}

func testBinary(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BATCHSLI_TEST_MAIN=1")
	return cmd
}

// TestRecordCrash kills record with SIGKILL at random points, over single
// files and --per-run, explicit and automatic IDs, half the time right as
// it gets the lock (the test holds the lock and releases it just before the
// kill, so the kill lands in the commit), and retries after each kill. After
// every kill and every retry: no committed record lost, none counted twice,
// and no uncommitted record counted by validate, report or summary.
func TestRecordCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rng := mathrand.New(mathrand.NewPCG(7, uint64(*crashTrials)))
	work := t.TempDir()
	modes := []struct {
		name     string
		perRun   bool
		explicit bool
	}{{"single-explicit", false, true}, {"single-auto", false, false}, {"per-run-explicit", true, true}, {"per-run-auto", true, false}}
	dirs := make([]string, len(modes))
	expected := make([]map[string]int, len(modes))
	for m := range modes {
		dirs[m] = filepath.Join(work, modes[m].name)
		os.MkdirAll(dirs[m], 0o755)
		expected[m] = map[string]int{}
	}
	var killedBefore, killedInside, killedAfter, exitedFirst, held, watched int
	orphans := make([]int, len(modes))
	for i := 0; i < *crashTrials; i++ {
		m := i % len(modes)
		mode, dir := modes[m], dirs[m]
		results, ts, nfail := crashBatch(t, work, i)
		args := []string{"record", "--data", dir, "--ecosystem", "cargo", "--timestamp", ts}
		if mode.explicit {
			args = append(args, "--batch-id", fmt.Sprintf("crash-%d", i))
		}
		if mode.perRun {
			args = append(args, "--per-run")
		}
		args = append(args, results)

		cmd := testBinary(args...)
		// Three ways to kill: at a random time; right after the lock the
		// test held is released; or the moment the failure records are
		// written (watching the folder), inside the commit.
		strategy := rng.IntN(3)
		hold := strategy > 0
		var unlock func()
		if hold {
			held++
			var err error
			if unlock, err = store.Lock(context.Background(), dir); err != nil {
				t.Fatal(err)
			}
		}
		before := folderState(filepath.Join(dir, "failures"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var err error
		done := make(chan struct{})
		go func() { err = cmd.Wait(); close(done) }()
		switch strategy {
		case 0:
			time.Sleep(time.Duration(rng.IntN(40000)) * time.Microsecond)
		case 1:
			time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond) // record reads its input and waits
			unlock()
			time.Sleep(time.Duration(rng.IntN(12000)) * time.Microsecond)
		case 2:
			time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			unlock()
			watched++
		watch:
			for folderState(filepath.Join(dir, "failures")) == before {
				select {
				case <-done:
					break watch
				default:
					time.Sleep(20 * time.Microsecond)
				}
			}
		}
		cmd.Process.Kill()
		<-done
		if err == nil {
			exitedFirst++
		}
		runs, fails, u, _ := committedState(t, dir)
		switch runs[ts] {
		case 0:
			killedBefore++
			if u > orphans[m] {
				killedInside++ // between its failure records and its commit
			}
			orphans[m] = u
		case 1:
			if err != nil {
				killedAfter++
			}
		default:
			t.Fatalf("trial %d: batch recorded %d times after the kill", i, runs[ts])
		}
		checkCommitted(t, i, "after the kill", dir, expected[m], ts, nfail, runs, fails)

		// The retry succeeds and leaves the batch committed exactly once.
		res := testBinary(args...)
		if out, err := res.CombinedOutput(); err != nil {
			t.Fatalf("trial %d: retry failed: %v\n%s", i, err, out)
		}
		expected[m][ts] = nfail
		runs, fails, _, _ = committedState(t, dir)
		checkCommitted(t, i, "after the retry", dir, expected[m], ts, nfail, runs, fails)
		if t.Failed() {
			t.FailNow()
		}
	}
	totalOrphans, totalProblems := 0, 0
	for m := range modes {
		_, _, u, p := committedState(t, dirs[m])
		totalOrphans += u
		totalProblems += p
		want := 0
		for _, n := range expected[m] {
			want += n
		}
		vr, vf, rf := commandTotals(t, dirs[m])
		if vr != len(expected[m]) || vf != want || rf != want {
			t.Errorf("%s: validate %d batch runs and %d failures, report %d failures; want %d and %d", modes[m].name, vr, vf, rf, len(expected[m]), want)
		}
	}
	t.Logf("%d trials (%d with the lock held until just before the kill, %d of them killed as the failure records appeared): killed before the commit %d (%d of them between writing failure records and the commit), after it %d, finished before the kill %d; "+
		"0 committed records lost, 0 counted twice, 0 uncommitted counted; %d uncommitted failure records and %d torn lines left, listed by validate",
		*crashTrials, held, watched, killedBefore, killedInside, killedAfter, exitedFirst, totalOrphans, totalProblems)
}

// checkCommitted checks every batch committed so far: one record each, with
// exactly its own failures, in the reader, validate, report and summary; and
// nothing counted for a batch that is not committed.
func checkCommitted(t *testing.T, trial int, when, dir string, expected map[string]int, ts string, nfail int, runs, fails map[string]int) {
	t.Helper()
	want := map[string]int{}
	for k, v := range expected {
		want[k] = v
	}
	if runs[ts] == 1 {
		want[ts] = nfail
	}
	total := 0
	for k, v := range want {
		total += v
		if runs[k] != 1 {
			t.Errorf("trial %d %s: batch at %s recorded %d times, want once", trial, when, k, runs[k])
		}
		if fails[k] != v {
			t.Errorf("trial %d %s: batch at %s counts %d failure records, want %d", trial, when, k, fails[k], v)
		}
	}
	for k, n := range runs {
		if _, ok := want[k]; !ok {
			t.Errorf("trial %d %s: unexpected batch at %s (%d records)", trial, when, k, n)
		}
	}
	for k, n := range fails {
		if _, ok := want[k]; !ok {
			t.Errorf("trial %d %s: %d failure records of an uncommitted batch counted", trial, when, n)
		}
	}
	// The commands agree (checked every few trials: they read everything).
	if trial%10 == 0 || runs[ts] == 1 && trial%3 == 0 {
		vr, vf, rf := commandTotals(t, dir)
		if vr != len(want) || vf != total || rf != total {
			t.Errorf("trial %d %s: validate %d batch runs and %d failures, report %d failures; want %d and %d", trial, when, vr, vf, rf, len(want), total)
		}
		if runs[ts] == 1 {
			if n := summaryFailures(t, dir, batchIDAt(t, dir, ts)); n != nfail {
				t.Errorf("trial %d %s: summary lists %d failures, want %d", trial, when, n, nfail)
			}
		}
	}
}

// copyTree copies a folder of regular files.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// compactBase builds a history in every shape compaction meets: simulated
// v2 batches, tsuku's v1 files (pretty-printed metrics, grouped and flat
// failures, one file per run), record's per-run files, failure records of a
// batch that never committed, and a torn line.
func compactBase(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if res := cli(t, "simulate", "--out", base, "--batches", "150", "--seed", "3"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	copyTree(t, "../../reader/testdata/tsuku/metrics", filepath.Join(base, "metrics"))
	copyTree(t, "../../reader/testdata/tsuku/failures", filepath.Join(base, "failures"))
	for i := 0; i < 6; i++ {
		results, ts, _ := crashBatch(t, t.TempDir(), 1000+i)
		if res := cli(t, "record", "--data", base, "--ecosystem", "cargo", "--per-run", "--timestamp", ts, results); res.code != 0 {
			t.Fatal(res.stderr)
		}
	}
	orphan := `{"schema_version":2,"batch_id":"never","ecosystem":"cargo","environment":"linux-debian-glibc-x86_64","package_id":"cargo:x","category":"install_failed","timestamp":"2026-03-02T10:00:00Z","attempt_id":"0123456789abcdef0123456789abcdef"}` + "\n"
	torn := `{"schema_version":2,"batch_id":"torn","ecosys`
	f, err := os.OpenFile(filepath.Join(base, "failures", "cargo-orphans.jsonl"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(orphan + torn)
	f.Close()
	os.WriteFile(filepath.Join(base, "metrics", "seeding-runs.jsonl"), []byte(`{"not":"batchsli data"}`+"\n"), 0o644)
	return base
}

// TestCompactCrash kills compact with SIGKILL at random points: every
// command then reads the same committed data as before, and the next
// compact (or record) finishes the job.
func TestCompactCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	base := compactBase(t)
	want := comparableReport(t, base)
	// How long a whole compaction takes here, to spread the kills over it.
	probe := t.TempDir()
	copyTree(t, base, probe)
	start := time.Now()
	if out, err := testBinary("compact", "--data", probe).CombinedOutput(); err != nil {
		t.Fatalf("compact: %v\n%s", err, out)
	}
	took := time.Since(start)
	if got := comparableReport(t, probe); got != want {
		t.Fatalf("compact changed the committed data:\n%s\nwant\n%s", got, want)
	}
	rng := mathrand.New(mathrand.NewPCG(11, uint64(*compactTrials)))
	var beforeCommit, inSwap, afterSwap, finished int
	for i := 0; i < *compactTrials; i++ {
		dir := filepath.Join(t.TempDir(), "data")
		copyTree(t, base, dir)
		cmd := testBinary("compact", "--data", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Half the kills anywhere, half near the end, where the swap is.
		if i%2 == 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(took) * 12 / 10)))
		} else {
			time.Sleep(took*8/10 + time.Duration(rng.Int64N(int64(took)*3/10)))
		}
		cmd.Process.Kill()
		_, readyErr := os.Stat(filepath.Join(dir, store.ReadyDir))
		_, placedErr := os.Stat(filepath.Join(dir, "metrics", "batch-runs-2026-03.jsonl"))
		switch {
		case cmd.Wait() == nil:
			finished++
		case readyErr == nil:
			inSwap++
		case placedErr == nil:
			afterSwap++
		default:
			beforeCommit++
		}
		if got := comparableReport(t, dir); got != want {
			t.Fatalf("trial %d: after the kill the data reads differently:\n%s\nwant\n%s", i, got, want)
		}
		// Every other time a record comes next (it finishes the compaction
		// first); then compact runs to the end.
		if i%2 == 1 {
			results, ts, _ := crashBatch(t, t.TempDir(), 5000+i)
			if out, err := testBinary("record", "--data", dir, "--ecosystem", "cargo", "--timestamp", ts, results).CombinedOutput(); err != nil {
				t.Fatalf("trial %d: record after the kill: %v\n%s", i, err, out)
			}
			for _, p := range []string{store.ReadyDir, store.StagingDir} {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Fatalf("trial %d: record left %s behind", i, p)
				}
			}
			continue
		}
		if out, err := testBinary("compact", "--data", dir).CombinedOutput(); err != nil {
			t.Fatalf("trial %d: compact after the kill: %v\n%s", i, err, out)
		}
		if got := comparableReport(t, dir); got != want {
			t.Fatalf("trial %d: after compacting again the data reads differently:\n%s\nwant\n%s", i, got, want)
		}
	}
	t.Logf("%d trials over a %v compaction: killed before its commit point %d, between it and the end of the swap %d, after the swap %d, finished first %d; every command read the same committed data each time",
		*compactTrials, took.Round(time.Millisecond), beforeCommit, inSwap, afterSwap, finished)
}

// folderState sums the sizes and count of a folder's files: it changes the
// moment a writer appends to one.
func folderState(dir string) [2]int64 {
	ents, _ := os.ReadDir(dir)
	var st [2]int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			st[0] += info.Size()
			st[1]++
		}
	}
	return st
}
