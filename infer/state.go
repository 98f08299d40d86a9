package infer

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// The detector's state and the pooled correlation are saved between runs
// (a checkpoint that `record` extends by one batch): MarshalBinary writes
// them, UnmarshalBinary reads them back and refuses anything it did not
// write. A checkpoint is a cache: its file carries its own checksum, and
// a state refused here is rebuilt from the records.

const (
	detectorMagic = "bsDT\x01"
	iccPoolMagic  = "bsIP\x01"
)

// errState is returned for a saved state that cannot be read.
var errState = errors.New("saved detector state is damaged")

type stateWriter struct{ b []byte }

func (w *stateWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *stateWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *stateWriter) float(v float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v))
}
func (w *stateWriter) string(s string) { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *stateWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *stateWriter) acc(a *detAcc) { w.float(a.x); w.float(a.n); w.float(a.c); w.int(int64(a.k)) }
func (w *stateWriter) accs(m map[string]*detAcc) {
	keys := sortedKeys(m)
	w.uint(uint64(len(keys)))
	for _, k := range keys {
		w.string(k)
		w.acc(m[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail() { r.err, r.b = errState, nil }

func (r *stateReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) { // one spelling per value
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 || n != len(binary.AppendVarint(nil, v)) {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, each element taking at least min bytes: a count
// the remaining bytes cannot hold is refused before anything is allocated.
func (r *stateReader) count(min int) int {
	v := r.uint()
	if r.err != nil || v > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(v)
}

// index reads a non-negative int, or -1 where allowed.
func (r *stateReader) index(minusOne bool) int {
	v := r.int()
	if v < 0 && !(minusOne && v == -1) || v > math.MaxInt32 {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *stateReader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.fail()
	}
	return v
}

func (r *stateReader) string() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *stateReader) bool() bool {
	if len(r.b) < 1 || r.b[0] > 1 {
		r.fail()
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

func (r *stateReader) acc() *detAcc {
	a := &detAcc{x: r.float(), n: r.float(), c: r.float(), k: r.index(false)}
	if a.x < 0 || a.n < a.x || a.c < 0 {
		r.fail()
	}
	return a
}

func (r *stateReader) accs() map[string]*detAcc {
	n := r.count(26)
	m := make(map[string]*detAcc, n)
	prev := ""
	for i := range n {
		k := r.string()
		if i > 0 && k <= prev { // sorted, once each
			r.fail()
		}
		prev = k
		m[k] = r.acc()
		if r.err != nil {
			return nil
		}
	}
	return m
}

func (r *stateReader) magic(m string) {
	if len(r.b) < len(m) || string(r.b[:len(m)]) != m {
		r.fail()
		return
	}
	r.b = r.b[len(m):]
}

// done checks that the state was read to its end.
func (r *stateReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return r.err
}

// MarshalBinary saves the detector's state.
func (d *Detector) MarshalBinary() ([]byte, error) {
	w := &stateWriter{b: []byte(detectorMagic)}
	w.float(d.h)
	w.int(int64(d.minHist))
	keys := sortedKeys(d.pend)
	w.uint(uint64(len(keys)))
	for _, k := range keys {
		p := d.pend[k]
		w.string(k)
		w.int(p.tested)
		w.int(p.passed)
		w.int(int64(p.first))
		w.int(int64(p.firstSeq))
	}
	w.accs(d.ref)
	w.bool(d.run != nil)
	if d.run != nil {
		w.accs(d.run)
	}
	for _, f := range []float64{d.rnum, d.rden, d.floor, d.stat, d.expX, d.obsX, d.tests} {
		w.float(f)
	}
	for _, n := range []int{d.nr, d.start, d.startSeq, d.compared, d.n, d.seq} {
		w.int(int64(n))
	}
	return w.b, nil
}

// UnmarshalBinary restores a state MarshalBinary saved.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := &stateReader{b: b}
	r.magic(detectorMagic)
	var e Detector
	e.h = r.float()
	e.minHist = r.index(false)
	n := r.count(5)
	e.pend = make(map[string]*detPending, n)
	prev := ""
	for i := range n {
		k := r.string()
		p := &detPending{tested: r.int(), passed: r.int(), first: r.index(false), firstSeq: r.index(false)}
		if i > 0 && k <= prev || p.tested <= 0 || p.tested >= DetectMinTests || p.passed < 0 || p.passed > p.tested {
			r.fail()
		}
		if r.err != nil {
			return r.err
		}
		prev = k
		e.pend[k] = p
	}
	e.ref = r.accs()
	if r.bool() {
		e.run = r.accs()
	}
	e.rnum, e.rden, e.floor, e.stat, e.expX, e.obsX, e.tests = r.float(), r.float(), r.float(), r.float(), r.float(), r.float(), r.float()
	e.nr, e.start, e.startSeq, e.compared, e.n, e.seq = r.index(false), r.index(true), r.index(false), r.index(false), r.index(false), r.index(false)
	if err := r.done(); err != nil {
		return err
	}
	// What Add relies on: a run exactly while the statistic is above 0,
	// indices within the observations seen.
	if e.h <= 0 || e.stat < 0 || e.stat > e.h || (e.stat > 0) != (e.start >= 0) || (e.start >= 0) != (e.run != nil) ||
		e.start >= e.n || e.seq > e.n || e.startSeq > e.seq || e.compared > e.seq || e.nr > e.compared ||
		e.floor < 0 || e.floor > 1 || e.tests < 0 {
		return errState
	}
	for _, p := range e.pend {
		if p.first >= e.n || p.firstSeq > e.seq {
			return errState
		}
	}
	*d = e
	return nil
}

// MarshalBinary saves the pooled sums.
func (p *ICCPool) MarshalBinary() ([]byte, error) {
	w := &stateWriter{b: []byte(iccPoolMagic)}
	w.uint(uint64(len(p.groups)))
	for _, g := range p.groups {
		for _, f := range []float64{g.x, g.n, g.sx2n, g.sn2} {
			w.float(f)
		}
		w.int(int64(g.k))
	}
	for _, f := range []float64{p.ssb, p.ssw, p.dfb, p.dfw, p.n0num} {
		w.float(f)
	}
	return w.b, nil
}

// UnmarshalBinary restores sums MarshalBinary saved.
func (p *ICCPool) UnmarshalBinary(b []byte) error {
	r := &stateReader{b: b}
	r.magic(iccPoolMagic)
	var q ICCPool
	n := r.count(33)
	q.groups = make([]iccGroup, n)
	for i := range q.groups {
		g := iccGroup{x: r.float(), n: r.float(), sx2n: r.float(), sn2: r.float(), k: r.index(false)}
		if g.x < 0 || g.n < g.x || (g.k == 0) != (g.n == 0) {
			r.fail()
		}
		if r.err != nil {
			return r.err
		}
		q.groups[i] = g
	}
	q.ssb, q.ssw, q.dfb, q.dfw, q.n0num = r.float(), r.float(), r.float(), r.float(), r.float()
	if err := r.done(); err != nil {
		return err
	}
	if q.dfb < 0 || q.dfw < 0 {
		return errState
	}
	*p = q
	return nil
}
