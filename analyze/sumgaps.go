package analyze

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/batchsli/batchsli/internal/statecodec"
)

// The summary checkpoint's gap states (what every failure of a recipe on a
// platform has in common) are kept in two parts, as its pairs are
// (sumpairs.go): a lower part, stored apart (SummaryParts.Gaps) and read in
// place, and an upper part (the checkpoint's failureAgg) of the gaps a
// batch's failures touched since the last fold, each taking its state from
// the lower part when first touched (failureAgg.gapFromLower). What the
// capability-gap insights count of every gap is kept as a tally
// (gapTally) in the checkpoint and followed through the gaps that change.
//
// The lower part's layout, little-endian: lowerGapsMagic, its token (16
// bytes), then four uint32: packages, gaps, the names' length and the
// gaps' length; each package's name end and gaps' end (uint32 each,
// cumulative), the names (sorted, each once), and the gaps, grouped by
// package, each as its platform, its category (uint32 each), mixed (a
// byte, 0 or 1), its number of blockers (uint32) and the blockers (uint32
// each). Platforms, categories and blockers are indexes into the
// checkpoint's tables, which only grow.
const lowerGapsMagic = "bsSG\x01"

const lowerGapsHead = len(lowerGapsMagic) + 16 + 4*4

// gapFixed is a gap's size in the lower part without its blockers.
const gapFixed = 4 + 4 + 1 + 4

// lowerGaps is a lower part, read in place: its offsets are read when it
// is opened, names and gaps when looked at.
type lowerGaps struct {
	v               partView
	token           [16]byte
	nPkg, nGaps     int
	pkgEnd, gapEnd  []byte
	namesAt, gapsAt int64
	nameBuf, gapBuf []byte
}

// parseLowerGaps checks a lower part's layout and offsets; its gaps are
// checked as they are read (gapFromLower), and the names' order is
// trusted, as the pairs' is.
func parseLowerGaps(v partView) (*lowerGaps, bool) {
	var hb []byte
	b := v.read(0, lowerGapsHead, &hb)
	if b == nil || string(b[:len(lowerGapsMagic)]) != lowerGapsMagic {
		return nil, false
	}
	le := binary.LittleEndian
	lo := &lowerGaps{v: v}
	copy(lo.token[:], b[len(lowerGapsMagic):])
	h := b[len(lowerGapsMagic)+16:]
	nPkg, nGaps := uint64(le.Uint32(h)), uint64(le.Uint32(h[4:]))
	nameLen, gapLen := uint64(le.Uint32(h[8:])), uint64(le.Uint32(h[12:]))
	if uint64(v.size-int64(lowerGapsHead)) != 8*nPkg+nameLen+gapLen || nGaps < nPkg || nGaps*gapFixed > gapLen {
		return nil, false
	}
	lo.nPkg, lo.nGaps = int(nPkg), int(nGaps)
	var ob []byte
	p := lo.v.read(int64(lowerGapsHead), int(8*nPkg), &ob)
	if p == nil {
		return nil, false
	}
	lo.pkgEnd, lo.gapEnd = p[:4*nPkg], p[4*nPkg:]
	lo.namesAt = int64(lowerGapsHead) + int64(8*nPkg)
	lo.gapsAt = lo.namesAt + int64(nameLen)
	var prevName, prevGap uint32
	for i := range lo.nPkg {
		e, g := le.Uint32(lo.pkgEnd[4*i:]), le.Uint32(lo.gapEnd[4*i:])
		if e <= prevName || uint64(g) < uint64(prevGap)+gapFixed {
			return nil, false // a name and a gap at least each
		}
		prevName, prevGap = e, g
	}
	if uint64(prevName) != nameLen || uint64(prevGap) != gapLen {
		return nil, false
	}
	return lo, true
}

// name is package i's name (valid until the next name read; nil when it
// cannot be read).
func (lo *lowerGaps) name(i int) []byte {
	from, to := span(lo.pkgEnd, i)
	return lo.v.read(lo.namesAt+int64(from), int(to-from), &lo.nameBuf)
}

// region is package i's gaps (valid until the next region read; nil when
// they cannot be read).
func (lo *lowerGaps) region(i int) []byte {
	from, to := span(lo.gapEnd, i)
	return lo.v.read(lo.gapsAt+int64(from), int(to-from), &lo.gapBuf)
}

// find is the index of a package, or -1.
func (lo *lowerGaps) find(id string) int { return findName(lo.nPkg, lo.name, id) }

// ref is how a checkpoint names the part.
func (lo *lowerGaps) ref() partRef { return partRef{n: lo.nGaps, keys: lo.nPkg, token: lo.token} }

// nextGap reads the first gap of a region: its platform, category, mixed,
// blockers (little-endian uint32 each) and the rest; ok is false when it
// does not fit.
func nextGap(r []byte) (plat, cat uint32, mixed byte, deps, rest []byte, ok bool) {
	if len(r) < gapFixed {
		return 0, 0, 0, nil, nil, false
	}
	le := binary.LittleEndian
	nd := uint64(le.Uint32(r[9:]))
	if nd > uint64(len(r)-gapFixed)/4 {
		return 0, 0, 0, nil, nil, false
	}
	end := gapFixed + 4*int(nd)
	return le.Uint32(r), le.Uint32(r[4:]), r[8], r[gapFixed:end], r[end:], true
}

// lowerBad reports whether a gap read from the lower part was out of
// range, or a read of it failed.
func (fa *failureAgg) lowerBad() bool { return fa.loBad || fa.gapLo != nil && fa.gapLo.v.bad }

// gapFromLower makes gap k an upper one with its state in the lower part,
// if it has one there. A gap out of range sets loBad: the checkpoint is
// not used.
func (fa *failureAgg) gapFromLower(k gapKey) (gapState, bool) {
	for len(fa.loPkg) <= int(k.pkg) {
		fa.loPkg = append(fa.loPkg, loUnknown)
	}
	li := fa.loPkg[k.pkg]
	if li == loUnknown {
		li = int32(fa.gapLo.find(fa.ids.pkgs.Name(k.pkg)))
		fa.loPkg[k.pkg] = li
	}
	if li < 0 {
		return gapState{}, false
	}
	nn := uint64(len(fa.ids.names))
	r := fa.gapLo.region(int(li))
	if r == nil {
		fa.loBad = true
		return gapState{}, false
	}
	for len(r) > 0 {
		plat, cat, mixed, deps, rest, ok := nextGap(r)
		if !ok {
			fa.loBad = true
			return gapState{}, false
		}
		r = rest
		if plat != k.plat {
			continue
		}
		if uint64(cat) >= nn || mixed > 1 {
			fa.loBad = true
			return gapState{}, false
		}
		ds := make([]uint32, 0, len(deps)/4)
		for i := 0; i < len(deps); i += 4 {
			d := binary.LittleEndian.Uint32(deps[i:])
			if uint64(d) >= nn {
				fa.loBad = true
				return gapState{}, false
			}
			ds = append(ds, d)
		}
		st := gapState{cat: cat, mixed: mixed == 1}
		fa.setDeps(k, &st, ds)
		fa.gaps[k] = st
		if fa.gapOrder != nil {
			fa.gapNew = append(fa.gapNew, uint64(k.pkg)<<32|uint64(k.plat))
		}
		return st, true
	}
	return gapState{}, false
}

// foldGaps folds the gaps' two parts into a new lower part once the upper
// one holds more than foldAt of the lower; the upper part is then empty,
// with the same platforms and names. It returns false when the lower part
// could not be read (a block damaged) or is not one this program writes.
func (st *sumState) foldGaps() bool {
	fa := st.fa
	lo := fa.gapLo
	loN, loP := 0, 0
	if lo != nil {
		loN, loP = lo.nGaps, lo.nPkg
	}
	if len(fa.gaps) <= foldAt(loN) {
		return true
	}
	if lo != nil && !lo.v.load() {
		return false
	}
	le := binary.LittleEndian
	keys := slices.Collect(maps.Keys(fa.gaps))
	slices.SortFunc(keys, func(a, b gapKey) int {
		if c := strings.Compare(fa.ids.pkgs.Name(a.pkg), fa.ids.pkgs.Name(b.pkg)); c != 0 {
			return c
		}
		return cmp.Compare(a.plat, b.plat)
	})
	var names, pkgEnd, gapEnd, gaps []byte
	n, np := 0, 0
	for i, k := 0, 0; i < loP || k < len(keys); {
		c := 1 // the upper part's package first
		switch {
		case k >= len(keys):
			c = -1
		case i < loP:
			if nm, s := lo.name(i), fa.ids.pkgs.Name(keys[k].pkg); string(nm) < s {
				c = -1
			} else if string(nm) == s {
				c = 0
			}
		}
		if c < 0 {
			r := lo.region(i)
			names = append(names, lo.name(i)...)
			gaps = append(gaps, r...)
			for len(r) > 0 {
				_, _, _, _, rest, ok := nextGap(r)
				if !ok {
					return false // not a part this program writes
				}
				r = rest
				n++
			}
			i++
		} else {
			pkg := keys[k].pkg
			names = append(names, fa.ids.pkgs.Name(pkg)...)
			for ; k < len(keys) && keys[k].pkg == pkg; k++ {
				g := fa.gaps[keys[k]]
				gaps = appendGap(gaps, keys[k].plat, &g, fa.depsOf(keys[k], &g))
				n++
			}
			if c == 0 {
				for r := lo.region(i); len(r) > 0; {
					plat, _, _, _, rest, ok := nextGap(r)
					if !ok {
						return false
					}
					if _, mine := fa.gaps[gapKey{pkg: pkg, plat: plat}]; !mine {
						gaps = append(gaps, r[:len(r)-len(rest)]...)
						n++
					}
					r = rest
				}
				i++
			}
		}
		pkgEnd = le.AppendUint32(pkgEnd, uint32(len(names)))
		gapEnd = le.AppendUint32(gapEnd, uint32(len(gaps)))
		np++
	}
	raw := make([]byte, 0, lowerGapsHead+len(pkgEnd)+len(gapEnd)+len(names)+len(gaps))
	raw = append(raw, lowerGapsMagic...)
	var token [16]byte
	rand.Read(token[:])
	raw = append(raw, token[:]...)
	for _, v := range []int{np, n, len(names), len(gaps)} {
		raw = le.AppendUint32(raw, uint32(v))
	}
	for _, b := range [][]byte{pkgEnd, gapEnd, names, gaps} {
		raw = append(raw, b...)
	}
	nlo, ok := parseLowerGaps(viewOf(nil, raw))
	if !ok {
		return false // not from parts this program writes
	}
	nfa := newFailureAgg(nil, nil, time.Time{}, time.Time{}, nil)
	nfa.gapsOnly = true
	nfa.ids.plats, nfa.ids.platIdx, nfa.ids.names, nfa.ids.nameIdx = fa.ids.plats, fa.ids.platIdx, fa.ids.names, fa.ids.nameIdx
	nfa.records = fa.records
	nfa.gapLo = nlo
	st.fa, st.gapsNew = nfa, true
	return true
}

// appendGap lays a gap out as the lower part has it.
func appendGap(b []byte, plat uint32, g *gapState, deps []uint32) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, plat)
	b = le.AppendUint32(b, g.cat)
	m := byte(0)
	if g.mixed {
		m = 1
	}
	b = append(b, m)
	b = le.AppendUint32(b, uint32(len(deps)))
	for _, d := range deps {
		b = le.AppendUint32(b, d)
	}
	return b
}

// writeTally writes a gap tally, sorted, without the causes it counts
// none of (which count for nothing: gapTally.counts).
func writeTally(w *statecodec.Writer, t *gapTally) {
	cats := slices.SortedFunc(maps.Keys(t.cats), func(a, b cause) int {
		return cmp.Or(strings.Compare(a.platform, b.platform), strings.Compare(a.category, b.category))
	})
	cats = slices.DeleteFunc(cats, func(c cause) bool { return t.cats[c] == 0 })
	w.Uint(uint64(len(cats)))
	for _, c := range cats {
		w.String(c.platform)
		w.String(c.category)
		w.Int(t.cats[c])
	}
	plats := slices.Sorted(maps.Keys(t.failing))
	plats = slices.DeleteFunc(plats, func(p string) bool { return t.failing[p] == 0 })
	w.Uint(uint64(len(plats)))
	for _, p := range plats {
		w.String(p)
		w.Int(t.failing[p])
	}
	deps := slices.SortedFunc(maps.Keys(t.depCats), func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	nonzero := func(m map[string]int64) []string {
		ks := slices.Sorted(maps.Keys(m))
		return slices.DeleteFunc(ks, func(c string) bool { return m[c] == 0 })
	}
	deps = slices.DeleteFunc(deps, func(d [2]string) bool { return len(nonzero(t.depCats[d])) == 0 })
	w.Uint(uint64(len(deps)))
	for _, d := range deps {
		w.String(d[0])
		w.String(d[1])
		m := t.depCats[d]
		ks := nonzero(m)
		w.Uint(uint64(len(ks)))
		for _, c := range ks {
			w.String(c)
			w.Int(m[c])
		}
	}
}

// readTally reads what writeTally wrote: sorted, each once.
func readTally(r *statecodec.Reader) *gapTally {
	t := &gapTally{cats: map[cause]int64{}, failing: map[string]int64{}, depCats: map[[2]string]map[string]int64{}}
	var prev cause
	for i := range r.Count(3) {
		c := cause{platform: r.String(), category: r.String()}
		if i > 0 && cmp.Or(strings.Compare(prev.platform, c.platform), strings.Compare(prev.category, c.category)) >= 0 {
			r.Fail()
		}
		prev = c
		t.cats[c] = nonzeroInt(r)
	}
	prevP := ""
	for i := range r.Count(2) {
		p := r.String()
		if i > 0 && p <= prevP {
			r.Fail()
		}
		prevP = p
		t.failing[p] = nonzeroInt(r)
	}
	var prevD [2]string
	for i := range r.Count(3) {
		d := [2]string{r.String(), r.String()}
		if i > 0 && cmp.Or(strings.Compare(prevD[0], d[0]), strings.Compare(prevD[1], d[1])) >= 0 {
			r.Fail()
		}
		prevD = d
		m := map[string]int64{}
		prevC := ""
		nc := r.Count(2)
		if nc == 0 {
			r.Fail()
		}
		for j := range nc {
			c := r.String()
			if j > 0 && c <= prevC {
				r.Fail()
			}
			prevC = c
			m[c] = nonzeroInt(r)
		}
		t.depCats[d] = m
	}
	return t
}

// nonzeroInt reads an integer writeTally writes: not 0.
func nonzeroInt(r *statecodec.Reader) int64 {
	n := r.Int()
	if n == 0 {
		r.Fail()
	}
	return n
}
