//go:build linux

package store

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

func TestCacheEntryRoundTrip(t *testing.T) {
	key, payload := []byte("key"), []byte("payload")
	e := encodeEntry(key, payload)
	got, ok := decodeEntry(e, key)
	if !ok || !bytes.Equal(got, payload) {
		t.Fatalf("round trip: %q %v", got, ok)
	}
	if _, ok := decodeEntry(e, []byte("other key")); ok {
		t.Error("an entry was read under another key")
	}
	for i := range e {
		bad := bytes.Clone(e)
		bad[i] ^= 1
		if _, ok := decodeEntry(bad, key); ok {
			t.Fatalf("a flipped bit at byte %d was not seen", i)
		}
	}
	for n := range len(e) {
		if _, ok := decodeEntry(e[:n], key); ok {
			t.Fatalf("an entry torn at byte %d was read", n)
		}
	}
}

func FuzzCacheEntry(f *testing.F) {
	f.Add(encodeEntry([]byte("k"), []byte("v")), []byte("k"))
	f.Fuzz(func(t *testing.T, data, key []byte) {
		if p, ok := decodeEntry(data, key); ok && !bytes.Equal(encodeEntry(key, p), data) {
			t.Fatal("decoded an entry that does not encode back")
		}
	})
}

func TestCachePutGet(t *testing.T) {
	dir := t.TempDir()
	c := OpenCache(dir)
	if c == nil {
		t.Fatal("no cache")
	}
	defer c.Close()
	for i := range maxCacheEntries + 5 {
		c.Put("report", []byte{byte(i)}, []byte{byte(i), 1})
	}
	ents, _ := os.ReadDir(filepath.Join(dir, CacheDir))
	if len(ents) != maxCacheEntries {
		t.Errorf("%d entries kept, want %d", len(ents), maxCacheEntries)
	}
	if p, ok := c.Get("report", []byte{byte(maxCacheEntries + 4)}); !ok || p[0] != byte(maxCacheEntries+4) {
		t.Errorf("the newest entry is gone: %v %v", p, ok)
	}
	var nilCache *Cache
	nilCache.Put("report", nil, nil)
	if _, ok := nilCache.Get("report", nil); ok {
		t.Error("a nil cache answered")
	}
}

// TestFingerprint: every change a reader could see changes it.
func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "metrics"), 0o755)
	p := filepath.Join(dir, "metrics", "batch-runs.jsonl")
	os.WriteFile(p, bytes.Repeat([]byte("x"), 3*fingerprintSpan), 0o644)
	fsys := os.DirFS(dir)
	fp := func() []byte {
		b, _, err := Fingerprint(fsys, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := fp()
	if !bytes.Equal(a, fp()) {
		t.Fatal("fingerprint not stable")
	}
	st, _ := os.Stat(p)
	data := bytes.Repeat([]byte("x"), 3*fingerprintSpan)
	data[len(data)/2] = 'y' // the middle: only the change time says so
	time.Sleep(5 * time.Millisecond)
	os.WriteFile(p, data, 0o644)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	b := fp()
	if bytes.Equal(a, b) {
		t.Fatal("a rewrite of the middle kept the fingerprint")
	}
	os.WriteFile(filepath.Join(dir, "metrics", "other.txt"), nil, 0o644)
	if bytes.Equal(b, fp()) {
		t.Fatal("a new entry kept the fingerprint")
	}
	if _, settled, _ := Fingerprint(fsys, time.Now()); settled {
		t.Error("files written just now were taken as settled")
	}
	if _, settled, _ := Fingerprint(fsys, time.Now().Add(time.Minute)); !settled {
		t.Error("files written a minute ago were not settled")
	}
	// A file system without file identities gives none (and no cache).
	if _, _, err := Fingerprint(fstest.MapFS{"metrics/a.jsonl": {Data: []byte("{}")}}, time.Now()); err == nil {
		t.Error("a fingerprint without file identities")
	}
}

// TestCacheGetOddEntries: an entry that is a FIFO, or larger than any
// entry, is a miss, at once.
func TestCacheGetOddEntries(t *testing.T) {
	dir := t.TempDir()
	c := OpenCache(dir)
	defer c.Close()
	key := []byte("k")
	name := filepath.Join(dir, CacheDir, entryName("report", key))
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	go func() {
		_, ok := c.Get("report", key)
		done <- ok
	}()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("a FIFO was read as an entry")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get waited on a FIFO")
	}
	os.Remove(name)
	f, _ := os.Create(name)
	f.Truncate(maxCacheEntry + 1) // sparse
	f.Close()
	if _, ok := c.Get("report", key); ok {
		t.Fatal("an oversized entry was read")
	}
}

// TestCachePruneKeepsOthers: pruning removes only what batchsli named.
func TestCachePruneKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	c := OpenCache(dir)
	defer c.Close()
	foreign := filepath.Join(dir, CacheDir, "notes.txt")
	os.WriteFile(foreign, []byte("mine"), 0o644)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(foreign, old, old)
	for i := range maxCacheEntries + 3 {
		c.Put("report", []byte{byte(i)}, []byte{1})
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("pruning removed a file batchsli did not write: %v", err)
	}
}

// TestExeID: the program is identified by its content build ID.
func TestExeID(t *testing.T) {
	id := exeID()
	if !bytes.HasPrefix(id, []byte("go build ID ")) && !bytes.HasPrefix(id, []byte("sha256 ")) {
		t.Fatalf("exeID = %q", id)
	}
	if !bytes.Equal(id, exeID()) {
		t.Fatal("exeID is not stable")
	}
}

// TestWatched: errors met reading through it are counted; a folder or file
// that does not exist, listed or described, is not.
func TestWatched(t *testing.T) {
	fsys := fstest.MapFS{"metrics/a.jsonl": {Data: []byte("{}\n")}}
	w := Watch(fsys)
	if _, err := fs.ReadDir(w, "outcomes"); err == nil {
		t.Fatal("listed a folder that does not exist")
	}
	if _, err := fs.Stat(w, "failures/x.jsonl"); err == nil {
		t.Fatal("described a file that does not exist")
	}
	if data, err := fs.ReadFile(w, "metrics/a.jsonl"); err != nil || string(data) != "{}\n" {
		t.Fatalf("read %q, %v", data, err)
	}
	if n := w.Errors(); n != 0 {
		t.Fatalf("%d errors counted for what readers expect", n)
	}
	if _, err := w.Open("metrics/gone.jsonl"); err == nil {
		t.Fatal("opened a file that does not exist")
	}
	if n := w.Errors(); n != 1 {
		t.Fatalf("a file that could not be opened: %d errors counted, want 1", n)
	}
}

// TestCacheReadOnlyFolder: a data directory whose mode lets no one write
// gets no cache, even for root.
func TestCacheReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if c := OpenCache(dir); c != nil {
		c.Close()
		t.Fatal("a cache in a read-only folder")
	}
	if _, err := os.Stat(filepath.Join(dir, CacheDir)); err == nil {
		t.Fatal("a cache folder was made in a read-only folder")
	}
}

// encodeEntry is the entry Put writes: the frame around the payload.
func encodeEntry(key, payload []byte) []byte {
	head, sum := entryFrame(key, payload)
	return slices.Concat(head, payload, sum)
}

// TestEntrySum checks the entry's checksum against the published check
// values of both CRCs (the CRC catalogue's "123456789"), split anywhere.
func TestEntrySum(t *testing.T) {
	msg := []byte("123456789")
	want := []byte{0x83, 0x92, 0x06, 0xe3, 0x26, 0x39, 0xf4, 0xcb} // CRC-32C e3069283, CRC-32 cbf43926
	for i := range len(msg) + 1 {
		if got := entrySum(msg[:i], msg[i:]); !bytes.Equal(got, want) {
			t.Errorf("split at %d: % x, want % x", i, got, want)
		}
	}
	if len(want) != sumSize {
		t.Fatalf("sumSize %d", sumSize)
	}
}

// TestCachePruneParts: a part stored apart from its entry (a checkpoint's
// lower table) is kept while the entry is, and removed with it.
func TestCachePruneParts(t *testing.T) {
	dir := t.TempDir()
	c := OpenCache(dir)
	defer c.Close()
	c.Put("ids", []byte("a"), []byte{1})
	c.Put("idbase", []byte("a"), []byte{1})
	c.Put("idbase", []byte("b"), []byte{1}) // its entry is gone
	has := func(kind, key string) bool {
		_, err := os.Stat(filepath.Join(dir, CacheDir, entryName(kind, []byte(key))))
		return err == nil
	}
	if !has("ids", "a") || !has("idbase", "a") || has("idbase", "b") {
		t.Fatalf("after the puts: ids a %t, idbase a %t, idbase b %t", has("ids", "a"), has("idbase", "a"), has("idbase", "b"))
	}
	// Reports do not push a checkpoint out: they are pruned among
	// themselves.
	old := time.Now().Add(-48 * time.Hour)
	age := func(kind, key string) {
		os.Chtimes(filepath.Join(dir, CacheDir, entryName(kind, []byte(key))), old, old)
	}
	age("ids", "a")
	age("summary", "s0")
	for i := range maxCacheEntries + 2 {
		c.Put("report", []byte{byte(i)}, []byte{1})
	}
	reports, _ := filepath.Glob(filepath.Join(dir, CacheDir, "report-*"))
	if !has("ids", "a") || !has("idbase", "a") || len(reports) != maxCacheEntries {
		t.Fatalf("after many reports: ids a %t, its part %t, %d reports", has("ids", "a"), has("idbase", "a"), len(reports))
	}
	// Checkpoints of another build or spelling: the oldest of a kind go,
	// with their parts.
	c.Put("summary", []byte("s0"), []byte{1})
	c.Put("sumbase", []byte("s0"), []byte{1})
	age("summary", "s0")
	for i := range maxCheckpoints {
		c.Put("ids", []byte{'k', byte(i)}, []byte{1})
		c.Put("summary", []byte{'s', byte(i + 1)}, []byte{1})
	}
	if has("ids", "a") || has("idbase", "a") || has("summary", "s0") || has("sumbase", "s0") {
		t.Fatalf("the oldest checkpoints kept: ids a %t, its part %t, summary s0 %t, its part %t",
			has("ids", "a"), has("idbase", "a"), has("summary", "s0"), has("sumbase", "s0"))
	}
	for i := range maxCheckpoints {
		if !has("ids", string([]byte{'k', byte(i)})) || !has("summary", string([]byte{'s', byte(i + 1)})) {
			t.Fatalf("checkpoint %d pruned", i)
		}
	}
}
