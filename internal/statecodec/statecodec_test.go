package statecodec

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestVarints: every value written is read back; a longer spelling of
// the same value is refused (one spelling per value).
func TestVarints(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1 << 35, math.MaxUint64} {
		w := NewWriter("m")
		w.Uint(v)
		w.Int(int64(v))
		w.Int(-int64(v))
		r := NewReader(w.B, "m")
		if got := r.Uint(); got != v {
			t.Errorf("Uint %d read as %d", v, got)
		}
		if got := r.Int(); got != int64(v) {
			t.Errorf("Int %d read as %d", int64(v), got)
		}
		if got := r.Int(); got != -int64(v) {
			t.Errorf("Int %d read as %d", -int64(v), got)
		}
		if err := r.Done(); err != nil {
			t.Errorf("%d: %v", v, err)
		}
	}
	// 1 spelt in two bytes, and 0 as a signed varint in two.
	for _, long := range [][]byte{{0x81, 0x00}, {0x80, 0x00}} {
		r := NewReader(append([]byte("m"), long...), "m")
		r.Uint()
		if r.Err() == nil {
			t.Errorf("% x read as a uvarint", long)
		}
		r = NewReader(append([]byte("m"), long...), "m")
		r.Int()
		if r.Err() == nil {
			t.Errorf("% x read as a varint", long)
		}
	}
	if n := len(binary.AppendUvarint(nil, math.MaxUint64)); UvarintLen(math.MaxUint64) != n {
		t.Errorf("UvarintLen(max) = %d, want %d", UvarintLen(math.MaxUint64), n)
	}
}
