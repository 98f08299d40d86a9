//go:build linux

package record

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/store"
)

// scanBoth scans dir with its checkpoint and without, checks they agree,
// and reports whether the checkpoint was read on from.
func scanBoth(t *testing.T, dir string) bool {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	full, err := scanIDs(root, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := store.OpenCache(dir)
	if cache == nil {
		t.Fatal("no cache")
	}
	defer cache.Close()
	got, err := scanIDs(root, dir, cache)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.seen, full.seen) {
		t.Fatalf("IDs seen differ with the checkpoint (resumed %v): %d against %d", got.resumed, len(got.seen), len(full.seen))
	}
	if !reflect.DeepEqual(got.committed(), full.committed()) {
		for id, c := range full.committed() {
			if got.committed()[id] != c {
				t.Errorf("batch %s: %+v with the checkpoint, %+v without", id, got.committed()[id], c)
			}
		}
		t.Fatalf("committed batches differ with the checkpoint (resumed %v): %d against %d", got.resumed, len(got.committed()), len(full.committed()))
	}
	if len(full.committed()) == 0 {
		t.Fatal("no committed batch")
	}
	return got.resumed
}

// TestIDCheckpoint: record's batch IDs read on from the checkpoint are the
// ones a whole reading finds, after batches are appended, and the
// checkpoint is refused when a file it read changed anywhere in what it
// read, went away, or when the entry is corrupt.
func TestIDCheckpoint(t *testing.T) {
	dir := t.TempDir()
	recordBatches(t, dir, 30, nil)
	if !scanBoth(t, dir) {
		t.Fatal("record kept no checkpoint")
	}
	if err := os.RemoveAll(filepath.Join(dir, store.CacheDir)); err != nil {
		t.Fatal(err)
	}
	if scanBoth(t, dir) {
		t.Fatal("a checkpoint read before any was written")
	}
	if !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not read on from")
	}
	// Batches appended, by record (which keeps the checkpoint too).
	o := AppendOptions{Rand: mathrand.NewChaCha8([32]byte{1})}
	for i := range 3 {
		run, fails := batchAt(time.Date(2030, 1, 1+i, 0, 0, 0, 0, time.UTC))
		if _, err := Append(context.Background(), dir, run, fails, nil, o); err != nil {
			t.Fatal(err)
		}
		if !scanBoth(t, dir) {
			t.Fatalf("batch %d: the checkpoint was not read on from", i)
		}
	}
	// An uncommitted tail (a crashed attempt's failure lines) and a torn
	// last line: read on from, then whole.
	appendTo(t, filepath.Join(dir, "failures/cargo.jsonl"), `{"schema_version":2,"batch_id":"2030-02-01-cargo-crashed","ecosystem":"cargo","environment":"linux-x86_64","package_id":"cargo:x","category":"install_failed","timestamp":"2030-02-01T00:00:00Z","attempt_id":"a"}`+"\n"+`{"schema_version":2,"batch_id":"2030-02-01-cargo-torn`)
	if !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not read on from after an uncommitted tail")
	}
	appendTo(t, filepath.Join(dir, "failures/cargo.jsonl"), `","ecosystem":"cargo"}`+"\n")
	if !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not read on from after the torn line ended")
	}

	// A byte changed in the middle of what was read, the file's length
	// kept: refused.
	p := filepath.Join(dir, "metrics/batch-runs.jsonl")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data[len(data)/2:]), `"total":`) + len(data)/2 + len(`"total":`)
	data[i] ^= 1 // another digit
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if scanBoth(t, dir) {
		t.Fatal("a checkpoint read on from a file changed in the middle")
	}
	if !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not written again")
	}
	// A byte changed near the end of what was read of a file over 256 KiB
	// (where the mark does not hash it all), the length kept: refused.
	big := filepath.Join(dir, "failures/cargo.jsonl")
	var lines strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&lines, `{"schema_version":1,"ecosystem":"cargo","environment":"linux-x86_64","package_id":"cargo:hand-%04d","category":"install_failed","timestamp":"2029-06-01T00:00:00Z"}`+"\n", i)
	}
	appendTo(t, big, lines.String())
	if !scanBoth(t, dir) || !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not read on from after the big file was read")
	}
	data, err = os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 300<<10 {
		t.Fatalf("the big file has %d bytes", len(data))
	}
	i = strings.LastIndex(string(data), "hand-2990") + len("hand-")
	data[i] = '3' // another package
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if scanBoth(t, dir) {
		t.Fatal("a checkpoint read on from a big file changed near its end")
	}
	// A file gone: refused.
	if err := os.Remove(filepath.Join(dir, "failures/npm.jsonl")); err != nil {
		t.Fatal(err)
	}
	if scanBoth(t, dir) {
		t.Fatal("a checkpoint read on from with a file gone")
	}
	// A corrupt entry: a miss.
	scanBoth(t, dir)
	ents, _ := filepath.Glob(filepath.Join(dir, store.CacheDir, "ids-*"))
	if len(ents) != 1 {
		t.Fatalf("%d checkpoint entries", len(ents))
	}
	e, _ := os.ReadFile(ents[0])
	e[len(e)/2] ^= 1
	os.WriteFile(ents[0], e, 0o644)
	if scanBoth(t, dir) {
		t.Fatal("a corrupt checkpoint read on from")
	}
}

// TestIDCheckpointFirstWins: of two records of one batch in two metrics
// files, the first in file order counts, also when the one in the earlier
// file was appended after the checkpoint read the later one.
func TestIDCheckpointFirstWins(t *testing.T) {
	dir := t.TempDir()
	recordBatches(t, dir, 6, nil)
	data, err := os.ReadFile(filepath.Join(dir, "metrics/batch-runs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	// The last batch, recorded again with other results in a later file.
	dup := strings.Replace(lines[len(lines)-1], `"total":`, `"total":1`, 1)
	if dup == lines[len(lines)-1] {
		t.Fatal("no total to change")
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics/batch-runs.jsonl"), []byte(strings.Join(lines[:len(lines)-1], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics/batch-runs.z.jsonl"), []byte(strings.TrimSuffix(dup, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	scanBoth(t, dir)
	// Now the first file gets the batch's original record.
	appendTo(t, filepath.Join(dir, "metrics/batch-runs.jsonl"), lines[len(lines)-1]+"\n")
	if !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not read on from")
	}
}

func appendTo(t *testing.T, p, text string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// recordBatches records n batches of two ecosystems into dir, each with a
// failure record.
func recordBatches(t *testing.T, dir string, n int, o *AppendOptions) {
	t.Helper()
	if o == nil {
		o = &AppendOptions{Rand: mathrand.NewChaCha8([32]byte{2})}
	}
	for i := range n {
		run, fails := batchAt(time.Date(2029, 1, 1, i, 0, 0, 0, time.UTC))
		if i%2 == 1 {
			run.Ecosystem, fails[0].Ecosystem, fails[0].PackageID = "npm", "npm", "npm:b"
		}
		if _, err := Append(context.Background(), dir, run, fails, nil, *o); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIDCheckpointUnclean: a file read that does not end clean (an
// object left open at its end, a last line without a newline, a file of
// one line without one) leaves the checkpoint as it was: what comes after
// its last clean point is read again, however it ends up.
func TestIDCheckpointUnclean(t *testing.T) {
	metrics := func(dir string) string { return filepath.Join(dir, "metrics/batch-runs.jsonl") }
	lastLine := func(t *testing.T, dir string) string {
		data, err := os.ReadFile(metrics(dir))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
		return strings.TrimSuffix(lines[len(lines)-1], "\n")
	}
	// A committed record of a new batch, one line, made from the last one.
	another := func(t *testing.T, dir, id string) string {
		l := lastLine(t, dir)
		i := strings.Index(l, `"batch_id":"`) + len(`"batch_id":"`)
		j := strings.Index(l[i:], `"`) + i
		return l[:i] + id + l[j:]
	}
	t.Run("open object", func(t *testing.T) {
		dir := t.TempDir()
		recordBatches(t, dir, 4, nil)
		rec := another(t, dir, "2030-05-05-cargo-pretty")
		appendTo(t, metrics(dir), "{\n")
		scanBoth(t, dir)
		appendTo(t, metrics(dir), rec[1:]+"\n")
		scanBoth(t, dir)
		scanBoth(t, dir)
	})
	t.Run("open line then indented", func(t *testing.T) {
		dir := t.TempDir()
		recordBatches(t, dir, 4, nil)
		rec := another(t, dir, "2030-05-05-cargo-indented")
		appendTo(t, metrics(dir), `{"schema_version":2,"batch_id":"torn","platforms":{`+"\n")
		scanBoth(t, dir)
		appendTo(t, metrics(dir), "  "+rec+"\n")
		scanBoth(t, dir)
	})
	t.Run("tail without newline, removed", func(t *testing.T) {
		dir := t.TempDir()
		recordBatches(t, dir, 4, nil)
		before, err := os.ReadFile(metrics(dir))
		if err != nil {
			t.Fatal(err)
		}
		appendTo(t, metrics(dir), another(t, dir, "2030-05-05-cargo-tail"))
		scanBoth(t, dir)
		if err := os.WriteFile(metrics(dir), before, 0o644); err != nil {
			t.Fatal(err)
		}
		scanBoth(t, dir)
	})
	t.Run("one line without newline, emptied", func(t *testing.T) {
		dir := t.TempDir()
		recordBatches(t, dir, 4, nil)
		p := filepath.Join(dir, "metrics/batch-runs.z.jsonl")
		if err := os.WriteFile(p, []byte(another(t, dir, "2030-05-05-cargo-lone")), 0o644); err != nil {
			t.Fatal(err)
		}
		scanBoth(t, dir)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		scanBoth(t, dir)
	})
}

// TestIDCheckpointIdentity: a file record itself appended to is taken by
// its identity (no write since the checkpoint), without reading its bytes;
// a file written to since (its times changed, its bytes not) is read whole
// and taken; a batch ID changed by hand in the middle of a large file, its
// length kept, where the mark does not look, is seen: record refuses to
// record that batch again with other results.
func TestIDCheckpointIdentity(t *testing.T) {
	dir, p, o := bigHistory(t, 3)
	// Two records: the first reads everything and keeps a checkpoint, the
	// second reads on from it by the files' identities.
	for i, day := range []int{2, 3} {
		run, fails := batchAt(time.Date(2029, 2, day, 0, 0, 0, 0, time.UTC))
		run.BatchID = fmt.Sprintf("2029-02-0%d-cargo-new", day)
		n := prefixChecks.Load()
		if _, err := Append(context.Background(), dir, run, fails, nil, o); err != nil {
			t.Fatal(err)
		}
		if checked := prefixChecks.Load() - n; i == 1 && checked != 0 {
			t.Fatalf("record read %d files whole after a record", checked)
		}
	}
	if !scanBoth(t, dir) {
		t.Fatal("the checkpoint was not read on from")
	}
	// Times changed, bytes not: read whole, and taken.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	n := prefixChecks.Load()
	if !scanBoth(t, dir) || prefixChecks.Load() == n {
		t.Fatal("a file touched since the checkpoint was not read whole, or not taken")
	}
	// An ID changed by hand where the mark does not look, the length kept.
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	victim, at := unmarkedID(t, data)
	data[at] = 'z'
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	renamed := "2029-01-01-cargo-z" + victim[1:]
	run, fails := batchAt(time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC))
	run.Total = 7 // other results
	run.BatchID = renamed
	if w, err := Append(context.Background(), dir, run, fails, nil, o); err == nil || !errors.Is(err, ErrRecordedDifferently) {
		t.Fatalf("batch %s, committed in %s, recorded again: %+v, %v", renamed, p, w, err)
	}
}

// TestIDCheckpointWrittenWhileRead: a file written to while record read
// it (by a writer that ignores the lock; the same length, in place, where
// the mark does not look) keeps no identity in the checkpoint, so the next
// record reads its bytes whole and sees the change.
func TestIDCheckpointWrittenWhileRead(t *testing.T) {
	dir, p, o := bigHistory(t, 4)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	victim, at := unmarkedID(t, data)
	defer func() { afterIDRead = nil }()
	afterIDRead = func() {
		afterIDRead = nil
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte("z"), int64(at)); err != nil {
			t.Fatal(err)
		}
	}
	run, fails := batchAt(time.Date(2029, 2, 1, 0, 0, 0, 0, time.UTC))
	run.BatchID = "2029-02-01-cargo-new"
	if _, err := Append(context.Background(), dir, run, fails, nil, o); err != nil {
		t.Fatal(err)
	}
	if afterIDRead != nil {
		t.Fatal("the file was not written to while it was read")
	}
	run, fails = batchAt(time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC))
	run.Total = 7 // other results
	run.BatchID = "2029-01-01-cargo-z" + victim[1:]
	if w, err := Append(context.Background(), dir, run, fails, nil, o); !errors.Is(err, ErrRecordedDifferently) {
		t.Fatalf("batch %s, committed, recorded again: %+v, %v", run.BatchID, w, err)
	}
}

// bigHistory records one batch (ID ...-b0000) into a new data directory,
// then makes its batch-run file over 400 KiB with copies of that record
// under other IDs (b0001, ...; no failures: the reader takes them), so
// the mark hashes only part of it. It returns the directory, the file and
// the options to record with.
func bigHistory(t *testing.T, seed byte) (dir, p string, o AppendOptions) {
	t.Helper()
	dir = t.TempDir()
	o = AppendOptions{Rand: mathrand.NewChaCha8([32]byte{seed})}
	run, fails := batchAt(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC))
	run.BatchID = "2029-01-01-cargo-b0000"
	if _, err := Append(context.Background(), dir, run, fails, nil, o); err != nil {
		t.Fatal(err)
	}
	p = filepath.Join(dir, "metrics/batch-runs.jsonl")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(string(data), "\n")
	var b strings.Builder
	b.WriteString(line + "\n")
	for i := 1; b.Len() < 400<<10; i++ {
		b.WriteString(strings.Replace(line, "b0000", fmt.Sprintf("b%04d", i), 1) + "\n")
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, p, o
}

// unmarkedID finds, in a batch-run file written by bigHistory (all of it
// read: the span is its length), an ID bNNNN none of whose bytes the mark
// hashes (reader.PrefixMark's parts), and the offset of its "b".
func unmarkedID(t *testing.T, data []byte) (string, int) {
	t.Helper()
	span := int64(len(data))
	hashed := func(off int64) bool {
		if off < 64<<10 || off >= span-64<<10 {
			return true
		}
		for i := int64(1); i <= 15; i++ {
			s := 64<<10 + (span-132<<10)*i/16
			if off >= s && off < s+4<<10 {
				return true
			}
		}
		return false
	}
	for i := 1; ; i++ {
		id := fmt.Sprintf("b%04d", i)
		at := strings.Index(string(data), id)
		if at < 0 {
			t.Fatal("no ID outside the blocks the mark hashes")
		}
		if !hashed(int64(at)) && !hashed(int64(at+len(id)-1)) {
			return id, at
		}
	}
}

// entropyHook reads random bytes, first running once (record draws its
// attempt token after reading the batch IDs and before appending).
type entropyHook struct{ once func() }

func (h *entropyHook) Read(b []byte) (int, error) {
	if f := h.once; f != nil {
		h.once = nil
		f()
	}
	return rand.Read(b)
}

// TestIDCheckpointWrittenBeforeAppend: a file written to after record read
// it and before it appends (by a program that ignores the lock) is not
// vouched for: neither the checkpoint record leaves nor the prefix it
// notes for its job summary take the bytes it read for the file's.
func TestIDCheckpointWrittenBeforeAppend(t *testing.T) {
	dir := t.TempDir()
	for i, id := range []string{"2029-01-01-cargo-aaaa", "2029-01-02-cargo-bbbb"} {
		run, fails := batchAt(time.Date(2029, 1, 1+i, 0, 0, 0, 0, time.UTC))
		run.BatchID = id
		if _, err := Append(context.Background(), dir, run, fails, nil, AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	p := filepath.Join(dir, "metrics", "batch-runs.jsonl")
	old, _ := os.ReadFile(p)
	at := strings.Index(string(old), "cargo-aaaa")
	hook := &entropyHook{once: func() {
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		f.WriteAt([]byte("z"), int64(at+len("cargo-"))) // same length
		f.Close()
	}}
	run, fails := batchAt(time.Date(2029, 1, 3, 0, 0, 0, 0, time.UTC))
	run.BatchID = "2029-01-03-cargo-cccc"
	if _, err := Append(context.Background(), dir, run, fails, nil, AppendOptions{Rand: hook}); err != nil || hook.once != nil {
		t.Fatalf("%v (hook run: %t)", err, hook.once == nil)
	}
	if store.KnownPrefix(os.DirFS(dir), dir, "metrics/batch-runs.jsonl", int64(len(old)), crc32.Checksum(old, crc32.MakeTable(crc32.Castagnoli))) {
		t.Error("the bytes read before the write are noted as the file's")
	}
	scanBoth(t, dir)
}
