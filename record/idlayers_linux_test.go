//go:build linux

package record

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	mathrand "math/rand/v2"

	"github.com/batchsli/batchsli/store"
)

// loadedLayers is the committed tables of dir's checkpoint as the next
// record loads them.
func loadedLayers(t *testing.T, dir string) (idLayers, bool) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cache := store.OpenCache(dir)
	defer cache.Close()
	files := map[string]bool{}
	for _, d := range []string{"metrics", "failures", "outcomes"} {
		ents, _ := os.ReadDir(filepath.Join(dir, d))
		for _, e := range ents {
			files[d+"/"+e.Name()] = true
		}
	}
	ck := loadCheckpoint(cache, root, dir, files)
	if ck == nil {
		return idLayers{}, false
	}
	return ck.committed, true
}

// TestIDLayers: batches recorded one at a time go to the upper table until
// it passes the threshold, then both fold into a new lower table; at every
// step the checkpoint gives the batches a whole read gives. A lower table
// gone, damaged, or of another checkpoint (token) leaves no checkpoint.
func TestIDLayers(t *testing.T) {
	dir := t.TempDir()
	o := AppendOptions{Rand: mathrand.NewChaCha8([32]byte{3}), TimestampGiven: true}
	folds, lastToken := 0, [16]byte{}
	var first string
	for i := range 40 {
		run, fails := batchAt(time.Date(2029, 1, 1, i, 0, 0, 0, time.UTC))
		w, err := Append(context.Background(), dir, run, fails, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = w.BatchID
		}
		l, ok := loadedLayers(t, dir)
		if !ok {
			t.Fatalf("batch %d: no checkpoint", i)
		}
		if uint64(l.lower.len()) != l.lowerN || l.upper.len() > testFoldAt(l.lower.len()) || l.lower.len()+l.upper.len() != i+1 {
			t.Fatalf("batch %d: lower %d (named %d), upper %d", i, l.lower.len(), l.lowerN, l.upper.len())
		}
		if l.token != lastToken {
			folds++
			lastToken = l.token
		}
		if !scanBoth(t, dir) {
			t.Fatalf("batch %d: the checkpoint was not read on from", i)
		}
	}
	if folds < 4 {
		t.Fatalf("%d folds in 40 batches", folds)
	}
	l, _ := loadedLayers(t, dir)
	if l.upper.len() == 0 || l.lower.len() == 0 {
		t.Fatalf("the last checkpoint holds lower %d, upper %d: both wanted", l.lower.len(), l.upper.len())
	}
	if _, ok := l.upper.get(first); ok {
		t.Fatal("the first batch is in the upper table")
	}
	// The first batch, in the lower table, is found by ID (the same
	// results: a retry; others: refused) and by its results (a retry).
	run, fails := batchAt(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC))
	run.BatchID = first
	if w, err := Append(context.Background(), dir, run, fails, nil, o); err != nil || !w.Already {
		t.Fatalf("the first batch again, by ID: %+v, %v", w, err)
	}
	run, fails = batchAt(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC))
	if w, err := Append(context.Background(), dir, run, fails, nil, o); err != nil || !w.Already || w.BatchID != first {
		t.Fatalf("the first batch again, by its results: %+v, %v", w, err)
	}
	run, fails = batchAt(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC))
	run.BatchID, fails[0].PackageID = first, "cargo:other"
	if _, err := Append(context.Background(), dir, run, fails, nil, o); !errors.Is(err, ErrRecordedDifferently) {
		t.Fatalf("the first batch's ID with other results: %v", err)
	}

	base, _ := filepath.Glob(filepath.Join(dir, store.CacheDir, "idbase-*"))
	if len(base) != 1 {
		t.Fatalf("%d lower tables", len(base))
	}
	good, err := os.ReadFile(base[0])
	if err != nil {
		t.Fatal(err)
	}
	// Another checkpoint's lower table: the same entries, another token.
	cache := store.OpenCache(dir)
	defer cache.Close()
	payload, ok := cache.Get(idsBaseKind, idsKey(dir))
	if !ok {
		t.Fatal("no lower table in the cache")
	}
	other, tok, ok := parseLower(payload)
	if !ok {
		t.Fatal("the lower table does not parse")
	}
	tok[0] ^= 1
	cache.Put(idsBaseKind, idsKey(dir), encodeLower(other, tok))
	if _, ok := loadedLayers(t, dir); ok {
		t.Error("another checkpoint's lower table: a checkpoint was loaded")
	}
	if err := os.WriteFile(base[0], flip(good, len(good)/2), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := loadedLayers(t, dir); ok {
		t.Error("a damaged lower table: a checkpoint was loaded")
	}
	if err := os.WriteFile(base[0], good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := loadedLayers(t, dir); !ok {
		t.Fatal("the lower table put back: no checkpoint")
	}
	if err := os.Remove(base[0]); err != nil {
		t.Fatal(err)
	}
	if _, ok := loadedLayers(t, dir); ok {
		t.Error("no lower table: a checkpoint was loaded")
	}
	if scanBoth(t, dir) {
		t.Error("no lower table: the checkpoint was read on from")
	}
}
