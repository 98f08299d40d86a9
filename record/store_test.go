package record

import (
	"context"
	mathrand "math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
)

func batchAt(ts time.Time) (*model.BatchRun, []*model.Failure) {
	run := &model.BatchRun{SchemaVersion: model.SchemaVersion, Ecosystem: "cargo", Total: 1, Timestamp: ts,
		Platforms: map[string]model.Counts{"linux-x86_64": {Tested: 1, Failed: 1, SkippedKnown: true}}}
	f := &model.Failure{SchemaVersion: model.SchemaVersion, Ecosystem: "cargo", Environment: "linux-x86_64", PackageID: "cargo:a", Category: "install_failed", Timestamp: ts}
	return run, []*model.Failure{f}
}

// TestRetryWindow: without a batch ID, CI identity or --timestamp, the same
// results within RetryWindow are the earlier attempt's batch; with
// --timestamp only the same time is.
func TestRetryWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		after time.Duration
		given bool
		retry bool
	}{
		{0, true, true}, {0, false, true}, {5 * time.Hour, false, true}, {-5 * time.Hour, false, true},
		{7 * time.Hour, false, false}, {5 * time.Hour, true, false}, {time.Second, true, false},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		o := AppendOptions{Rand: mathrand.NewChaCha8([32]byte{})}
		run, fails := batchAt(t0)
		if _, err := Append(context.Background(), dir, run, fails, nil, o); err != nil {
			t.Fatal(err)
		}
		o.TimestampGiven = tt.given
		run, fails = batchAt(t0.Add(tt.after))
		w, err := Append(context.Background(), dir, run, fails, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		if w.Already != tt.retry {
			t.Errorf("%v later, time given %v: already recorded = %v, want %v", tt.after, tt.given, w.Already, tt.retry)
		}
	}
}

// TestScanIDsShortcut: taking batch IDs from lines without decoding them
// finds the same committed batches, and every ID decoding finds (more only
// where a line the reader rejects names one).
func TestScanIDsShortcut(t *testing.T) {
	for _, dir := range []string{"copies", "uncommitted", "formats", "tsuku", "bad"} {
		root, err := os.OpenRoot("../reader/testdata/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		scan := func(shortcut bool) idSet {
			scanShortcut = shortcut
			defer func() { scanShortcut = true }()
			s, err := scanIDs(root, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		fast, full := scan(true), scan(false)
		root.Close()
		if !reflect.DeepEqual(fast.committed(), full.committed()) {
			t.Errorf("%s: committed batches differ", dir)
		}
		for id := range full.seen {
			if !fast.has(id) {
				t.Errorf("%s: the shortcut misses batch ID %q", dir, id)
			}
		}
		if dir != "bad" && !reflect.DeepEqual(fast.seen, full.seen) {
			t.Errorf("%s: IDs seen differ: %d against %d", dir, len(fast.seen), len(full.seen))
		}
		if len(full.seen)+len(full.committed()) == 0 {
			t.Errorf("%s: no ID seen", dir)
		}
	}
}
