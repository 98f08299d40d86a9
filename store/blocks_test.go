package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestBlocksRoundTrip: an entry stored in blocks reads back, from any
// offset and for any length, as stored; a damaged block fails the reads
// that reach it and no other; a damaged head, a torn or grown file, or
// another key is no entry.
func TestBlocksRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, BlockSize - 1, BlockSize, 3*BlockSize + 5} {
		dir := t.TempDir()
		c := OpenCache(dir)
		if c == nil {
			t.Fatal("no cache")
		}
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		key := []byte("key")
		c.PutBlocks("test", key, payload)
		b, ok := c.GetBlocks("test", key)
		if !ok || b.Size() != int64(n) {
			t.Fatalf("%d bytes: not read back (%v)", n, ok)
		}
		for range 200 {
			off := rng.IntN(n + 1)
			l := rng.IntN(n - off + 1)
			if rng.IntN(4) == 0 {
				l = min(n-off, BlockSize+rng.IntN(2*BlockSize))
			}
			got := make([]byte, l)
			if k, err := b.ReadAt(got, int64(off)); err != nil || k != l || !bytes.Equal(got, payload[off:off+l]) {
				t.Fatalf("%d bytes: read %d at %d: %d, %v", n, l, off, k, err)
			}
		}
		if _, err := b.ReadAt(make([]byte, 1), int64(n)); err == nil {
			t.Errorf("%d bytes: a read past the end succeeded", n)
		}
		b.Close()
		if _, ok := c.GetBlocks("test", []byte("other key")); ok {
			t.Errorf("%d bytes: read under another key", n)
		}
		if _, ok := c.Get("test", key); ok {
			t.Errorf("%d bytes: read as a whole entry", n)
		}
		path := filepath.Join(dir, CacheDir, entryName("test", key))
		whole, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		head := len(whole) - n
		for _, bad := range [][]byte{whole[:len(whole)-1], append(bytes.Clone(whole), 0)} {
			os.WriteFile(path, bad, 0o644)
			if _, ok := c.GetBlocks("test", key); ok {
				t.Errorf("%d bytes: a file of %d bytes for %d read", n, len(bad), len(whole))
			}
		}
		for i := range head {
			bad := bytes.Clone(whole)
			bad[i] ^= 0x10
			os.WriteFile(path, bad, 0o644)
			if b, ok := c.GetBlocks("test", key); ok {
				b.Close()
				t.Fatalf("%d bytes: the head damaged at byte %d read", n, i)
			}
		}
		if n < 2*BlockSize {
			c.Close()
			continue
		}
		// Block 1 damaged.
		bad := bytes.Clone(whole)
		bad[head+BlockSize+7] ^= 1
		os.WriteFile(path, bad, 0o644)
		b, ok = c.GetBlocks("test", key)
		if !ok {
			t.Fatalf("%d bytes: a damaged block fails the whole entry", n)
		}
		if _, err := b.ReadAt(make([]byte, 10), BlockSize+BlockSize/2); !errors.Is(err, errBlock) {
			t.Errorf("%d bytes: the damaged block read: %v", n, err)
		}
		if _, err := b.ReadAt(make([]byte, 3*BlockSize), 0); err == nil {
			t.Errorf("%d bytes: a read over the damaged block succeeded", n)
		}
		got := make([]byte, 10)
		if _, err := b.ReadAt(got, 2*BlockSize); err != nil || !bytes.Equal(got, payload[2*BlockSize:2*BlockSize+10]) {
			t.Errorf("%d bytes: another block: %v", n, err)
		}
		b.Close()
		c.Close()
	}
}

// FuzzBlocks: any file is no entry, or one whose every read returns
// checked bytes or an error.
func FuzzBlocks(f *testing.F) {
	dir := f.TempDir()
	c := OpenCache(dir)
	c.PutBlocks("test", []byte("k"), bytes.Repeat([]byte("abc"), BlockSize))
	seed, err := os.ReadFile(filepath.Join(dir, CacheDir, entryName("test", []byte("k"))))
	if err != nil {
		f.Fatal(err)
	}
	c.Close()
	f.Add(seed, int64(5), 100)
	f.Fuzz(func(t *testing.T, file []byte, off int64, n int) {
		p := filepath.Join(t.TempDir(), "e")
		if err := os.WriteFile(p, file, 0o644); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		b, ok := openBlocks(fh, []byte("k"))
		if !ok {
			return
		}
		if n < 0 || n > 1<<20 {
			n = 1 << 10
		}
		buf := make([]byte, n)
		if k, err := b.ReadAt(buf, off); err == nil && (k != n || off < 0 || off+int64(n) > b.Size()) {
			t.Fatalf("read %d at %d of %d: %d without error", n, off, b.Size(), k)
		}
	})
}

// BenchmarkBlocks stores a lower part the size of a registry's pairs (185
// MB, as at 200,000 batches) in blocks, opens it and reads it whole: what
// a fold pays besides the fold itself (analyze's BenchmarkFoldPairs).
func BenchmarkBlocks(b *testing.B) {
	payload := make([]byte, 185<<20)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	c := OpenCache(b.TempDir())
	defer c.Close()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		c.PutBlocks("test", []byte("k"), payload)
		e, ok := c.GetBlocks("test", []byte("k"))
		if !ok {
			b.Fatal("not read back")
		}
		if _, err := e.ReadAt(make([]byte, len(payload)), 0); err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}
