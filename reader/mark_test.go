package reader

import (
	"crypto/sha256"
	"encoding/binary"
	"io/fs"
	"testing"
	"testing/fstest"
)

// seqFS hides its files' ReadAt, as a stream reader's would be.
type seqFS struct{ fs.FS }

type seqFile struct{ f fs.File }

func (s seqFS) Open(name string) (fs.File, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return seqFile{f}, nil
}
func (s seqFile) Stat() (fs.FileInfo, error) { return s.f.Stat() }
func (s seqFile) Read(p []byte) (int, error) { return s.f.Read(p) }
func (s seqFile) Close() error               { return s.f.Close() }

// markOf is PrefixMark's definition, written out: the length, then the
// parts hashed.
func markOf(data []byte, n int64) Mark {
	h := sha256.New()
	h.Write([]byte("batchsli prefix mark 1\n"))
	h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
	if n <= 256<<10 {
		h.Write(data[:n])
	} else {
		h.Write(data[:64<<10])
		for i := int64(1); i <= 15; i++ {
			off := 64<<10 + (n-132<<10)*i/16
			h.Write(data[off : off+4<<10])
		}
		h.Write(data[n-64<<10 : n])
	}
	var m Mark
	copy(m[:], h.Sum(nil))
	return m
}

// TestPrefixMark: the mark is its definition, read with ReadAt or as a
// stream; it changes with the length and with any byte hashed (at the
// start, in each block between, at the end), not with the bytes after the
// prefix; a file shorter than the prefix has none.
func TestPrefixMark(t *testing.T) {
	for _, size := range []int{0, 1, 1000, 256 << 10, 256<<10 + 1, 300 << 10, 5 << 20} {
		data := make([]byte, size+100)
		for i := range data {
			data[i] = byte(i*7 + i>>10)
		}
		n := int64(size)
		mem := fstest.MapFS{"f": {Data: data}}
		for _, fsys := range []fs.FS{mem, seqFS{mem}} {
			m, ok := PrefixMark(fsys, "f", n)
			if !ok || m != markOf(data, n) {
				t.Fatalf("size %d (%T): mark %x, %v; want %x", size, fsys, m, ok, markOf(data, n))
			}
		}
		if _, ok := PrefixMark(mem, "f", int64(len(data))+1); ok {
			t.Fatalf("size %d: a mark past the end", size)
		}
		if _, ok := PrefixMark(mem, "g", 0); ok {
			t.Fatal("a mark of no file")
		}
		// The bytes after the prefix are not in it.
		data[size] ^= 1
		if m, _ := PrefixMark(mem, "f", n); m != markOf(data, n) {
			t.Fatalf("size %d: a byte after the prefix changed the mark", size)
		}
		if size == 0 {
			continue
		}
		base, _ := PrefixMark(mem, "f", n)
		if m, _ := PrefixMark(mem, "f", n-1); m == base {
			t.Fatalf("size %d: the length is not in the mark", size)
		}
		// A byte changed in each part hashed.
		var at []int64
		if n <= 256<<10 {
			at = []int64{0, n / 2, n - 1}
		} else {
			at = []int64{0, 64<<10 - 1, n - 64<<10, n - 1}
			for i := int64(1); i <= 15; i++ {
				off := 64<<10 + (n-132<<10)*i/16
				at = append(at, off, off+4<<10-1)
			}
		}
		for _, i := range at {
			data[i] ^= 0x20
			for _, fsys := range []fs.FS{mem, seqFS{mem}} {
				if m, _ := PrefixMark(fsys, "f", n); m == base {
					t.Fatalf("size %d (%T): byte %d changed, mark the same", size, fsys, i)
				}
			}
			data[i] ^= 0x20
		}
	}
}
