package infer

import (
	"slices"

	"github.com/batchsli/batchsli/internal/statecodec"
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

var errState = statecodec.ErrDamaged

func writeAcc(w *statecodec.Writer, a *detAcc) {
	w.Float(a.x)
	w.Float(a.n)
	w.Float(a.c)
	w.Int(int64(a.k))
}

func writeAccs(w *statecodec.Writer, m map[Eco]*detAcc) {
	keys := sortedEcos(m)
	w.Uint(uint64(len(keys)))
	for _, k := range keys {
		w.String(k.String())
		writeAcc(w, m[k])
	}
}

// sortedEcos returns m's ecosystems in the order of their names.
func sortedEcos[V any](m map[Eco]V) []Eco {
	keys := make([]Eco, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, CompareEcos)
	return keys
}

func readAcc(r *statecodec.Reader) *detAcc {
	a := &detAcc{x: r.Float(), n: r.Float(), c: r.Float(), k: r.Index(false)}
	if a.x < 0 || a.n < a.x || a.c < 0 {
		r.Fail()
	}
	return a
}

func readAccs(r *statecodec.Reader) map[Eco]*detAcc {
	n := r.Count(26)
	m := make(map[Eco]*detAcc, n)
	prev := ""
	for i := range n {
		k := r.String()
		if i > 0 && k <= prev { // sorted, once each
			r.Fail()
		}
		prev = k
		m[EcoOf(k)] = readAcc(r)
		if r.Err() != nil {
			return nil
		}
	}
	return m
}

// MarshalBinary saves the detector's state.
func (d *Detector) MarshalBinary() ([]byte, error) {
	w := statecodec.NewWriter(detectorMagic)
	w.Float(d.h)
	w.Int(int64(d.minHist))
	keys := sortedEcos(d.pend)
	w.Uint(uint64(len(keys)))
	for _, k := range keys {
		p := d.pend[k]
		w.String(k.String())
		w.Int(p.tested)
		w.Int(p.passed)
		w.Int(int64(p.first))
		w.Int(int64(p.firstSeq))
	}
	writeAccs(w, d.ref)
	w.Bool(d.run != nil)
	if d.run != nil {
		writeAccs(w, d.run)
	}
	for _, f := range []float64{d.rnum, d.rden, d.floor, d.stat, d.expX, d.obsX, d.tests} {
		w.Float(f)
	}
	for _, n := range []int{d.nr, d.start, d.startSeq, d.compared, d.n, d.seq} {
		w.Int(int64(n))
	}
	return w.B, nil
}

// UnmarshalBinary restores a state MarshalBinary saved.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := statecodec.NewReader(b, detectorMagic)
	var e Detector
	e.h = r.Float()
	e.minHist = r.Index(false)
	n := r.Count(5)
	e.pend = make(map[Eco]*detPending, n)
	prev := ""
	for i := range n {
		k := r.String()
		p := &detPending{tested: r.Int(), passed: r.Int(), first: r.Index(false), firstSeq: r.Index(false)}
		if i > 0 && k <= prev || p.tested <= 0 || p.tested >= DetectMinTests || p.passed < 0 || p.passed > p.tested {
			r.Fail()
		}
		if r.Err() != nil {
			return r.Err()
		}
		prev = k
		e.pend[EcoOf(k)] = p
	}
	e.ref = readAccs(r)
	if r.Bool() {
		e.run = readAccs(r)
	}
	e.rnum, e.rden, e.floor, e.stat, e.expX, e.obsX, e.tests = r.Float(), r.Float(), r.Float(), r.Float(), r.Float(), r.Float(), r.Float()
	e.nr, e.start, e.startSeq, e.compared, e.n, e.seq = r.Index(false), r.Index(true), r.Index(false), r.Index(false), r.Index(false), r.Index(false)
	if err := r.Done(); err != nil {
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
	w := statecodec.NewWriter(iccPoolMagic)
	w.Uint(uint64(len(p.groups)))
	for _, g := range p.groups {
		for _, f := range []float64{g.X, g.N, g.SX2N, g.SN2} {
			w.Float(f)
		}
		w.Int(int64(g.K))
	}
	for _, f := range []float64{p.sums.ssb, p.sums.ssw, p.sums.dfb, p.sums.dfw, p.sums.n0num} {
		w.Float(f)
	}
	return w.B, nil
}

// UnmarshalBinary restores sums MarshalBinary saved.
func (p *ICCPool) UnmarshalBinary(b []byte) error {
	r := statecodec.NewReader(b, iccPoolMagic)
	var q ICCPool
	n := r.Count(33)
	q.groups = make([]Suff, n)
	for i := range q.groups {
		g := Suff{X: r.Float(), N: r.Float(), SX2N: r.Float(), SN2: r.Float(), K: r.Index(false)}
		if g.X < 0 || g.N < g.X || (g.K == 0) != (g.N == 0) {
			r.Fail()
		}
		if r.Err() != nil {
			return r.Err()
		}
		q.groups[i] = g
	}
	q.sums.ssb, q.sums.ssw, q.sums.dfb, q.sums.dfw, q.sums.n0num = r.Float(), r.Float(), r.Float(), r.Float(), r.Float()
	if err := r.Done(); err != nil {
		return err
	}
	if q.sums.dfb < 0 || q.sums.dfw < 0 {
		return errState
	}
	*p = q
	return nil
}
