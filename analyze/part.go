package analyze

import "io"

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
