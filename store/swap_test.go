package store

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// seen is what a reader sees: every file of metrics/ and failures/ with its
// content, and the quarantine.
func seen(t *testing.T, dir string) string {
	t.Helper()
	fsys, release, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var out []string
	for _, sub := range Replaced {
		ents, err := fs.ReadDir(fsys, sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := fs.ReadFile(fsys, sub+"/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sub+"/"+e.Name()+"="+string(b))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

var errCrash = errors.New("crash")

// TestCommitCrashAtEveryStep stops Commit (and then Recover) at every step,
// as a crash would: readers see the whole old layout or the whole new one,
// never a mix, and the next Recover finishes the swap with nothing left.
func TestCommitCrashAtEveryStep(t *testing.T) {
	recoverOnRead = false // see what readers read before anyone finishes
	defer func() { recoverOnRead = true }()
	steps := []string{"staged", "committed", "linked metrics", "linked failures", "linked quarantine",
		"moved old metrics", "placed metrics", "moved old failures", "placed failures", "retired ready"}
	const oldView = "failures/f.jsonl=old-f failures/g.jsonl=old-g metrics/batch-runs.jsonl=old-m"
	const newView = "failures/cargo-2026-03.jsonl=new-f metrics/batch-runs-2026-03.jsonl=new-m metrics/seeding-runs.jsonl=kept"
	for i, step := range steps {
		for _, twice := range []bool{false, true} {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "metrics/batch-runs.jsonl"), "old-m")
			write(t, filepath.Join(dir, "failures/f.jsonl"), "old-f")
			write(t, filepath.Join(dir, "failures/g.jsonl"), "old-g")
			st := filepath.Join(dir, StagingDir)
			// The manifest of what the compaction read, as compact writes it.
			write(t, filepath.Join(st, ManifestName), manifestOf(t, dir))
			write(t, filepath.Join(st, "metrics/batch-runs-2026-03.jsonl"), "new-m")
			write(t, filepath.Join(st, "metrics/seeding-runs.jsonl"), "kept")
			write(t, filepath.Join(st, "failures/cargo-2026-03.jsonl"), "new-f")
			write(t, filepath.Join(st, "quarantine/compact-1.jsonl"), "q")
			if seen(t, dir) != oldView {
				t.Fatalf("before: %s", seen(t, dir))
			}
			stop := func(s string) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			crashPoint = stop
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			err = Commit(root)
			if !errors.Is(err, errCrash) {
				t.Fatalf("%s: Commit = %v", step, err)
			}
			want := newView
			if i == 0 {
				want = oldView // before the commit point
			}
			if got := seen(t, dir); got != want {
				t.Errorf("crash at %q: readers see %s, want %s", step, got, want)
			}
			if twice && i > 1 {
				// A crash inside the recovery of a crash (at the same
				// step, when the recovery still has it to do).
				if err := Recover(root); err != nil && !errors.Is(err, errCrash) {
					t.Fatalf("%s: second Recover = %v", step, err)
				}
				if got := seen(t, dir); got != want {
					t.Errorf("second crash at %q: readers see %s, want %s", step, got, want)
				}
			}
			crashPoint = func(string) error { return nil }
			if err := Recover(root); err != nil {
				t.Fatalf("%s: Recover: %v", step, err)
			}
			if got := seen(t, dir); got != want {
				t.Errorf("after recovering from %q: readers see %s, want %s", step, got, want)
			}
			ents, _ := os.ReadDir(dir)
			var names []string
			for _, e := range ents {
				if e.Name() != LockName && e.Name() != GateName {
					names = append(names, e.Name())
				}
			}
			wantNames := "failures metrics"
			if want == newView {
				wantNames = "failures metrics quarantine"
				if b, err := os.ReadFile(filepath.Join(dir, QuarantineDir, "compact-1.jsonl")); err != nil || string(b) != "q" {
					t.Errorf("%s: quarantine file %q, %v", step, b, err)
				}
			}
			if got := strings.Join(names, " "); got != wantNames {
				t.Errorf("after recovering from %q the folder holds %s, want %s", step, got, wantNames)
			}
		}
	}
}

// TestRecoverRefusesLinks: a link where batchsli keeps a folder of its own
// (a .compact-ready or quarantine leading elsewhere) is refused, and nothing
// is moved, deleted or written through it.
func TestRecoverRefusesLinks(t *testing.T) {
	for _, name := range []string{ReadyDir, QuarantineDir, oldDir, StagingDir, "metrics"} {
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		evil := filepath.Join(dir, "evil")
		write(t, filepath.Join(data, "metrics/batch-runs.jsonl"), "m")
		write(t, filepath.Join(data, "failures/f.jsonl"), "f")
		write(t, filepath.Join(evil, "metrics/batch-runs.jsonl"), "evil")
		write(t, filepath.Join(evil, "failures/x.jsonl"), "evil")
		if name == "metrics" {
			os.RemoveAll(filepath.Join(data, "metrics"))
		}
		if err := os.Symlink(evil, filepath.Join(data, name)); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(data)
		if err != nil {
			t.Fatal(err)
		}
		err = Recover(root)
		root.Close()
		if err == nil || !strings.Contains(err.Error(), "is a symbolic link, not a folder") {
			t.Errorf("%s: Recover = %v", name, err)
		}
		ents, _ := os.ReadDir(evil)
		if len(ents) != 2 {
			t.Errorf("%s: the link's target changed: %v", name, ents)
		}
		if name != "metrics" {
			if b, err := os.ReadFile(filepath.Join(data, "failures/f.jsonl")); err != nil || string(b) != "f" {
				t.Errorf("%s: the data changed", name)
			}
		}
	}
}

// TestRecoverKeepsArrivals: files that arrive (a git pull) or grow after a
// compaction's commit point are kept: new ones as they are, appended
// records in a file of their own; a file changed otherwise stops the swap
// with nothing retired. A reader finishes the swap when it can.
func TestRecoverKeepsArrivals(t *testing.T) {
	for _, change := range []string{"arrive", "append", "rewrite", "gone", "torn-continued"} {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "metrics/batch-runs.jsonl"), "old-m\n")
		if change == "torn-continued" {
			write(t, filepath.Join(dir, "failures/f.jsonl"), "old-f") // a torn last line
		} else {
			write(t, filepath.Join(dir, "failures/f.jsonl"), "old-f\n")
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := Manifest{}
		for _, p := range []string{"metrics/batch-runs.jsonl", "failures/f.jsonl"} {
			m[p], _ = Describe(root, p)
		}
		st := filepath.Join(dir, StagingDir)
		write(t, filepath.Join(st, "metrics/batch-runs-2026-03.jsonl"), "new-m\n")
		write(t, filepath.Join(st, "failures/cargo-2026-03.jsonl"), "new-f\n")
		mb, _ := json.Marshal(m)
		write(t, filepath.Join(st, ManifestName), string(mb))
		crashPoint = func(s string) error {
			if s == "committed" {
				return errCrash
			}
			return nil
		}
		Commit(root)
		crashPoint = func(string) error { return nil }
		switch change {
		case "arrive":
			write(t, filepath.Join(dir, "metrics/batch-runs-n1.jsonl"), "n1\n")
		case "append":
			write(t, filepath.Join(dir, "failures/f.jsonl"), "old-f\nmore-f\n")
		case "rewrite":
			write(t, filepath.Join(dir, "failures/f.jsonl"), "other\n")
		case "gone":
			os.Rename(filepath.Join(dir, "failures/f.jsonl"), filepath.Join(dir, "failures/g.jsonl"))
		case "torn-continued":
			write(t, filepath.Join(dir, "failures/f.jsonl"), "old-f-continued\nmore-f\n")
		}
		if change == "rewrite" || change == "gone" || change == "torn-continued" {
			// A reader that cannot finish says so instead of undercounting.
			if err := Drift(root); err == nil {
				t.Errorf("%s: no drift found", change)
			}
		}
		err = Recover(root)
		root.Close()
		switch change {
		case "arrive":
			if err != nil || seen(t, dir) != "failures/cargo-2026-03.jsonl=new-f\n metrics/batch-runs-2026-03.jsonl=new-m\n metrics/batch-runs-n1.jsonl=n1\n" {
				t.Errorf("arrive: %v: %q", err, seen(t, dir))
			}
		case "append":
			if err != nil || seen(t, dir) != "failures/cargo-2026-03.jsonl=new-f\n failures/f.appended.jsonl=more-f\n metrics/batch-runs-2026-03.jsonl=new-m\n" {
				t.Errorf("append: %v: %q", err, seen(t, dir))
			}
		case "rewrite", "torn-continued":
			if err == nil || !strings.Contains(err.Error(), "failures/f.jsonl changed after the compaction read it") {
				t.Errorf("%s: %v", change, err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "failures/f.jsonl")); len(b) == 0 {
				t.Errorf("%s: the changed file is gone", change)
			}
			// Readers say so too, rather than read a layout that misses it.
			if _, _, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "an interrupted compaction cannot be finished") {
				t.Errorf("%s: Open = %v", change, err)
			}
		case "gone":
			if err == nil || !strings.Contains(err.Error(), "failures/f.jsonl was read by the compaction and is gone") {
				t.Errorf("gone: %v", err)
			}
		}
	}
}

// TestOpenFinishesACompaction: a reader that can write finishes a swap a
// crash interrupted.
func TestOpenFinishesACompaction(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "metrics/batch-runs.jsonl"), "old-m")
	write(t, filepath.Join(dir, "failures/f.jsonl"), "old-f")
	write(t, filepath.Join(dir, StagingDir, "metrics/batch-runs-2026-03.jsonl"), "new-m")
	write(t, filepath.Join(dir, StagingDir, "failures/cargo-2026-03.jsonl"), "new-f")
	os.Rename(filepath.Join(dir, StagingDir), filepath.Join(dir, ReadyDir))
	if got := seen(t, dir); got != "failures/cargo-2026-03.jsonl=new-f metrics/batch-runs-2026-03.jsonl=new-m" {
		t.Errorf("readers see %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ReadyDir)); err == nil {
		t.Error("the reader did not finish the swap")
	}
}

func manifestOf(t *testing.T, dir string) string {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	m := Manifest{}
	for _, sub := range Replaced {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			p := sub + "/" + e.Name()
			m[p], _ = Describe(root, p)
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}
