package analyze

import (
	"bytes"
	"io"
	"math"
	"sort"

	"github.com/batchsli/batchsli/internal/statecodec"
)

// Part is a lower part of a checkpoint (SummaryParts), read in place: a
// cache entry stored in blocks (store.Blocks, each block checked when read)
// or bytes (bytes.Reader).
type Part interface {
	io.ReaderAt
	Size() int64
}

// partView reads a part: from memory when it is all there (mem), else a
// read at a time from src. bad is set when a read fails: the part is then
// not used.
type partView struct {
	src  Part
	mem  []byte
	size int64
	bad  bool
}

// viewOf is a view of src, or of mem when src is nil.
func viewOf(src Part, mem []byte) partView {
	if src == nil {
		return partView{mem: mem, size: int64(len(mem))}
	}
	return partView{src: src, size: src.Size()}
}

// read returns n bytes at off (in buf when read from src: valid until buf
// is read into again), or nil when they cannot be read.
func (v *partView) read(off int64, n int, buf *[]byte) []byte {
	if off < 0 || n < 0 || off > v.size || int64(n) > v.size-off {
		v.bad = true
		return nil
	}
	if v.mem != nil || v.src == nil {
		return v.mem[off : off+int64(n)]
	}
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := v.src.ReadAt(b, off); err != nil {
		v.bad = true
		return nil
	}
	return b
}

// load reads the whole part into memory (for a fold); false when it
// cannot be read.
func (v *partView) load() bool {
	if v.mem != nil || v.src == nil {
		return !v.bad
	}
	var buf []byte
	b := v.read(0, int(v.size), &buf)
	if b == nil {
		return false
	}
	v.mem = b
	return true
}

// findName is the index of id among n names sorted (name(i) is the i-th),
// or -1.
func findName(n int, name func(int) []byte, id string) int {
	want := []byte(id)
	i := sort.Search(n, func(m int) bool { return bytes.Compare(name(m), want) >= 0 })
	if i < n && bytes.Equal(name(i), want) {
		return i
	}
	return -1
}

// partRef is how a checkpoint names a lower part stored apart: its rows
// (pairs, gaps), its keys (recipes, packages) and its token; the zero
// value for none.
type partRef struct {
	n, keys int
	token   [16]byte
}

func (ref partRef) write(w *statecodec.Writer) {
	w.Uint(uint64(ref.n))
	w.Uint(uint64(ref.keys))
	if ref.n > 0 {
		w.Bytes(ref.token[:])
	} else {
		w.Bytes(nil)
	}
}

// readPartRef reads what partRef.write wrote: a token with rows, none
// without, and no keys without rows.
func readPartRef(r *statecodec.Reader) partRef {
	var ref partRef
	ref.n = int(readUint(r, math.MaxInt32))
	ref.keys = int(readUint(r, math.MaxInt32))
	tok := r.Bytes()
	switch {
	case ref.n > 0 && len(tok) == len(ref.token):
		copy(ref.token[:], tok)
	case ref.n > 0 || len(tok) != 0 || ref.keys != 0:
		r.Fail()
	}
	return ref
}
