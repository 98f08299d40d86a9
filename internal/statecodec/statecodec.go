// Package statecodec writes and reads the binary states batchsli saves in
// its checkpoints: varints, floats and strings in one spelling each, read
// back with every length checked against the bytes left, so that a damaged
// state is refused rather than taken.
package statecodec

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrDamaged is returned for a saved state that cannot be read.
var ErrDamaged = errors.New("saved state is damaged")

// Writer appends a state's fields.
type Writer struct{ B []byte }

// NewWriter starts a state with its magic.
func NewWriter(magic string) *Writer { return &Writer{B: []byte(magic)} }

// Uint appends an unsigned varint.
func (w *Writer) Uint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Int appends a signed varint.
func (w *Writer) Int(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Float appends a float's 8 bytes.
func (w *Writer) Float(v float64) { w.B = binary.LittleEndian.AppendUint64(w.B, math.Float64bits(v)) }

// String appends a length and the bytes.
func (w *Writer) String(s string) { w.Uint(uint64(len(s))); w.B = append(w.B, s...) }

// Bytes appends a length and the bytes.
func (w *Writer) Bytes(b []byte) { w.Uint(uint64(len(b))); w.B = append(w.B, b...) }

// Bool appends 0 or 1.
func (w *Writer) Bool(v bool) {
	if v {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

// Reader reads a state's fields; after the first error every read gives
// a zero value and Done reports the error.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads a state that must begin with magic.
func NewReader(b []byte, magic string) *Reader {
	r := &Reader{b: b}
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		r.Fail()
	} else {
		r.b = b[len(magic):]
	}
	return r
}

// UvarintLen is the length of v's shortest uvarint spelling.
func UvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Zigzag is v as binary.AppendVarint encodes it.
func Zigzag(v int64) uint64 {
	ux := uint64(v) << 1
	if v < 0 {
		ux = ^ux
	}
	return ux
}

// Fail marks the state damaged.
func (r *Reader) Fail() { r.err, r.b = ErrDamaged, nil }

// Err is the first error met.
func (r *Reader) Err() error { return r.err }

// Uint reads an unsigned varint in its shortest spelling.
func (r *Reader) Uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != UvarintLen(v) { // one spelling per value
		r.Fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Int reads a signed varint in its shortest spelling.
func (r *Reader) Int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 || n != UvarintLen(Zigzag(v)) {
		r.Fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads a length, each element taking at least min bytes: a count
// the remaining bytes cannot hold is refused before anything is allocated.
func (r *Reader) Count(min int) int {
	v := r.Uint()
	if r.err != nil || v > uint64(len(r.b)/min) {
		r.Fail()
		return 0
	}
	return int(v)
}

// Index reads a non-negative int below 2^31, or -1 where minusOne allows.
func (r *Reader) Index(minusOne bool) int {
	v := r.Int()
	if v < 0 && !(minusOne && v == -1) || v > math.MaxInt32 {
		r.Fail()
		return 0
	}
	return int(v)
}

// Float reads a finite float.
func (r *Reader) Float() float64 {
	if len(r.b) < 8 {
		r.Fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.Fail()
	}
	return v
}

// String reads a length and that many bytes.
func (r *Reader) String() string {
	n := r.Count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Bytes reads a byte string (a copy).
func (r *Reader) Bytes() []byte {
	n := r.Count(1)
	if r.err != nil {
		return nil
	}
	b := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return b
}

// View reads a byte string without copying it: the bytes are the input's,
// valid while it is and not to be written to.
func (r *Reader) View() []byte {
	n := r.Count(1)
	if r.err != nil {
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// Bool reads 0 or 1.
func (r *Reader) Bool() bool {
	if len(r.b) < 1 || r.b[0] > 1 {
		r.Fail()
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

// Done checks that the state was read to its end.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.Fail()
	}
	return r.err
}

// FoldAt is how many entries the upper part of a two-part checkpoint table
// may hold over a lower part of n before the two are folded into one: the
// lower part (read in place, stored apart) is written again once every n/16
// entries added, at a cost of n, so each entry costs O(1) in the long run,
// and the upper part (written at every record) stays small.
func FoldAt(n int) int { return max(512, n/16) }
