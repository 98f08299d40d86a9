package analyze

import (
	"slices"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/internal/names"
	"github.com/batchsli/batchsli/internal/statecodec"
)

// The detectors' state is saved whole (MarshalBinary) so that a later run
// extends it by the batches since (add) instead of reading the history
// again; UnmarshalBinary refuses anything MarshalBinary could not have
// written.

const detectorRunMagic = "bsDR\x01"

func writeSuffs(w *statecodec.Writer, xs []infer.Suff) {
	w.Uint(uint64(len(xs)))
	for _, x := range xs {
		w.Float(x.X)
		w.Float(x.N)
		w.Float(x.SX2N)
		w.Float(x.SN2)
		w.Int(int64(x.K))
	}
}

func writeSnap(w *statecodec.Writer, s *detSnap) {
	w.Int(int64(s.pos))
	w.Uint(uint64(len(s.totals)))
	for _, t := range s.totals {
		writeSuffs(w, t)
	}
	writeSuffs(w, s.yield)
	w.Bool(s.gateSeen)
	writeStrings(w, s.gates)
	writeStrings(w, s.before)
}

func writeStrings(w *statecodec.Writer, xs []string) {
	w.Uint(uint64(len(xs)))
	for _, x := range xs {
		w.String(x)
	}
}

// writeTable writes a name table as writeStrings writes its names in
// order.
func writeTable(w *statecodec.Writer, t *names.Table) {
	w.Uint(uint64(t.Len()))
	for i := range t.Len() {
		w.String(t.Name(uint32(i)))
	}
}

// MarshalBinary saves the detectors' state.
func (r *detectorRun) MarshalBinary() ([]byte, error) {
	w := statecodec.NewWriter(detectorRunMagic)
	writeStrings(w, r.ids)
	writeStrings(w, r.ecos)
	pool, err := r.pool.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w.Bytes(pool)
	w.Int(int64(r.ng))
	for p, pr := range r.plats {
		w.Uint(uint64(len(r.groups[p])))
		for _, g := range r.groups[p] {
			w.Int(int64(g))
		}
		writeSuffs(w, r.totals[p])
		det, err := pr.det.MarshalBinary()
		if err != nil {
			return nil, err
		}
		w.Bytes(det)
		writeSuffs(w, pr.yield)
		writeStrings(w, pr.named)
		keys := make([]string, 0, len(pr.pend))
		for k := range pr.pend {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.Uint(uint64(len(keys)))
		for _, k := range keys {
			w.String(k)
			writeSnap(w, pr.pend[k])
		}
		w.Bool(pr.run != nil)
		if pr.run != nil {
			writeSnap(w, pr.run)
		}
		w.Uint(uint64(len(pr.alarms)))
		for _, a := range pr.alarms {
			for _, n := range []int{a.At, a.Start, a.Batches, int(a.Tests), a.from, a.to} {
				w.Int(int64(n))
			}
			for _, f := range []float64{a.Stat, a.Before, a.After} {
				w.Float(f)
			}
			w.Bool(a.popChanged)
			w.String(a.reason)
		}
	}
	return w.B, nil
}

func readSuffs(r *statecodec.Reader, max int) []infer.Suff {
	n := r.Count(33)
	if n > max {
		r.Fail()
	}
	if r.Err() != nil {
		return nil
	}
	xs := make([]infer.Suff, n)
	for i := range xs {
		x := infer.Suff{X: r.Float(), N: r.Float(), SX2N: r.Float(), SN2: r.Float(), K: r.Index(false)}
		if x.X < 0 || x.N < x.X || x.SN2 < 0 || (x.K == 0) != (x.N == 0) {
			r.Fail()
		}
		xs[i] = x
	}
	return xs
}

func readStrings(r *statecodec.Reader, unique bool) []string {
	n := r.Count(1)
	xs := make([]string, 0, n)
	var seen map[string]bool
	if unique {
		seen = make(map[string]bool, n)
	}
	for range n {
		x := r.String()
		if unique && seen[x] {
			r.Fail()
		}
		if unique {
			seen[x] = true
		}
		xs = append(xs, x)
	}
	return xs
}

// readIndexed reads strings that must be unique, handing each to add,
// which returns the index it gave the string: a repeated one gets an
// earlier index and fails the reader (one map, the caller's, which grow
// first sizes for n strings).
func readIndexed(r *statecodec.Reader, grow func(n int), add func(string) uint32) int {
	n := r.Count(1)
	if r.Err() != nil {
		return 0
	}
	grow(n)
	for i := range n {
		if add(r.String()) != uint32(i) {
			r.Fail()
			return i
		}
	}
	return n
}

func readSnap(r *statecodec.Reader, plats, ecos int) *detSnap {
	s := &detSnap{pos: r.Index(false)}
	n := r.Count(1)
	if n > plats {
		r.Fail()
		return s
	}
	for range n {
		s.totals = append(s.totals, readSuffs(r, ecos))
	}
	s.yield = readSuffs(r, ecos)
	s.gateSeen = r.Bool()
	s.gates = readStrings(r, false) // as named: a batch may repeat one
	s.before = readStrings(r, false)
	if !slices.IsSorted(s.gates) || !slices.IsSorted(s.before) || !s.gateSeen && len(s.gates) > 0 {
		r.Fail()
	}
	return s
}

// UnmarshalBinary restores a state MarshalBinary saved. Its batch
// positions are those of the history it was built from: whoever keeps it
// keeps it with that history's identity.
func (r *detectorRun) UnmarshalBinary(b []byte) error {
	rd := statecodec.NewReader(b, detectorRunMagic)
	q := newDetectorRun()
	ids := readStrings(rd, true)
	for _, e := range readStrings(rd, true) {
		q.eco(e)
	}
	if err := q.pool.UnmarshalBinary(rd.Bytes()); err != nil {
		rd.Fail()
	}
	q.ng = rd.Index(false)
	if q.ng > len(ids)*len(q.ecos) { // a group per platform and ecosystem at most
		rd.Fail()
	}
	for _, id := range ids {
		if rd.Err() != nil {
			break
		}
		p := q.platform(id)
		pr := q.plats[p]
		n := rd.Count(1)
		if n > len(q.ecos) {
			rd.Fail()
			break
		}
		used := map[int]bool{}
		for range n {
			g := rd.Index(false)
			if g > q.ng || g > 0 && used[g] {
				rd.Fail()
			}
			used[g] = true
			q.groups[p] = append(q.groups[p], g)
		}
		q.totals[p] = readSuffs(rd, len(q.ecos))
		if err := pr.det.UnmarshalBinary(rd.Bytes()); err != nil {
			rd.Fail()
		}
		pr.yield = readSuffs(rd, len(q.ecos))
		pr.named = readStrings(rd, false)
		if !slices.IsSorted(pr.named) {
			rd.Fail()
		}
		np := rd.Count(1)
		prev := ""
		for i := range np {
			k := rd.String()
			if i > 0 && k <= prev {
				rd.Fail()
			}
			prev = k
			pr.pend[k] = readSnap(rd, len(ids), len(q.ecos))
		}
		if rd.Bool() {
			pr.run = readSnap(rd, len(ids), len(q.ecos))
		}
		na := rd.Count(10)
		for range na {
			var a runAlarm
			a.At, a.Start, a.Batches = rd.Index(false), rd.Index(false), rd.Index(false)
			a.Tests = int64(rd.Index(false))
			a.from, a.to = rd.Index(false), rd.Index(false)
			a.Stat, a.Before, a.After = rd.Float(), rd.Float(), rd.Float()
			a.popChanged = rd.Bool()
			a.reason = rd.String()
			if a.from > a.to || a.Start > a.At {
				rd.Fail()
			}
			pr.alarms = append(pr.alarms, a)
		}
		// A run exactly while the detector's statistic is above zero,
		// pooled chunks exactly where it has them.
		st := pr.det.State()
		if (st.Start >= 0) != (pr.run != nil) {
			rd.Fail()
		}
		for k := range pr.pend {
			if _, ok := pr.det.Pending(infer.EcoOf(k)); !ok {
				rd.Fail()
			}
		}
		if len(pr.pend) != pr.det.PendingCount() {
			rd.Fail()
		}
	}
	if err := rd.Done(); err != nil {
		return err
	}
	*r = *q
	return nil
}
