package analyze

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/batchsli/batchsli/internal/statecodec"
	"github.com/batchsli/batchsli/model"
)

// The summary's checkpoint is saved whole (MarshalBinary) and read back
// (UnmarshalBinary), which refuses what MarshalBinary could not have
// written: a damaged one is rebuilt from the records.

const sumStateMagic = "bsSS\x05"

// MarshalBinary saves the checkpoint.
func (st *sumState) MarshalBinary() ([]byte, error) {
	w := statecodec.NewWriter(sumStateMagic)
	// Room for all of it: the state of a long history runs to megabytes.
	bt := &st.bt
	size := len(bt.idBlob) + 12*len(bt.idEnd) + 8*len(bt.runIDs) + 24*len(st.budget) +
		40*st.ra.states.len() + 16*len(st.fa.gaps) + 1024
	for ri := range st.ra.recipes.Len() {
		size += len(st.ra.recipes.Name(uint32(ri))) + 2
	}
	for i := range st.fa.ids.pkgs.Len() {
		size += len(st.fa.ids.pkgs.Name(uint32(i))) + 2
	}
	for _, xs := range [][]string{st.ra.vers, st.fa.ids.names} {
		for _, x := range xs {
			size += len(x) + 2
		}
	}
	w.B = append(make([]byte, 0, size), w.B...)
	w.Int(int64(st.by))
	w.Int(int64(st.topGaps))
	w.Uint(uint64(len(st.files)))
	for _, f := range st.files {
		w.String(f.path)
		w.Int(f.span.End)
		w.Int(int64(f.span.Lines))
		w.Uint(uint64(f.span.CRC))
		w.Bytes(f.mark[:])
		w.String(f.ident)
	}
	// The batch table: its lower part by count and token (it is stored
	// apart), then the upper part.
	w.Uint(uint64(bt.loN))
	w.Uint(uint64(bt.loRuns))
	w.Bytes(bt.loToken[:])
	w.Bytes(bt.idBlob)
	w.Uint(uint64(len(bt.idEnd)))
	prev := uint32(0)
	for i, e := range bt.idEnd {
		w.Uint(uint64(e - prev))
		writeTime(w, bt.ts[i])
		prev = e
	}
	hashes := make([]byte, 0, 8*len(bt.runIDs))
	for _, h := range bt.runIDs {
		hashes = binary.LittleEndian.AppendUint64(hashes, h)
	}
	w.Bytes(hashes)
	w.Int(int64(st.runs))
	writeTime(w, st.last)
	ecos := slices.Sorted(maps.Keys(st.prevs))
	w.Uint(uint64(len(ecos)))
	for _, e := range ecos {
		b := st.prevs[e]
		w.String(e)
		w.String(b.BatchID)
		ids := slices.Sorted(maps.Keys(b.Platforms))
		w.Uint(uint64(len(ids)))
		for _, id := range ids {
			c := b.Platforms[id]
			w.String(id)
			for _, n := range []int64{c.Tested, c.Passed, c.Failed, c.Skipped} {
				w.Int(n)
			}
			w.Bool(c.SkippedKnown)
		}
	}
	w.Uint(uint64(len(st.budget)))
	for _, r := range st.budget {
		writeTime(w, r.ts)
		w.Bool(r.usesMac)
		w.Bool(r.minutes != nil)
		if r.minutes != nil {
			w.Float(*r.minutes)
		}
	}
	// The gaps: the lower part by count and token (it is stored apart),
	// the upper part, and the tally.
	ref := st.gapsLo
	if lo := st.fa.gapLo; lo != nil {
		ref = lo.ref()
	}
	ref.write(w)
	writeGaps(w, st.fa)
	if st.tally == nil {
		return nil, errNoTally
	}
	writeTally(w, st.tally)
	plats := slices.Sorted(maps.Keys(st.inc))
	w.Uint(uint64(len(plats)))
	for _, p := range plats {
		w.String(p)
		w.Int(int64(st.inc[p].n))
		writeStrings(w, st.inc[p].first)
	}
	// The pairs: the lower part by count and token (it is stored apart),
	// then the upper part.
	ref = st.pairsLo
	if lo := st.ra.lo; lo != nil {
		ref = lo.ref()
	}
	ref.write(w)
	writePairs(w, st.ra)
	det, err := st.det.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w.Bytes(det)
	return w.B, nil
}

func writeGaps(w *statecodec.Writer, fa *failureAgg) {
	writeTable(w, &fa.ids.pkgs)
	writeStrings(w, fa.ids.plats)
	writeStrings(w, fa.ids.names)
	w.Int(fa.records)
	var keys []uint64
	if fa.gapOrder != nil && len(fa.gapOrder)+len(fa.gapNew) == len(fa.gaps) {
		// The checkpoint's keys, in order, and those made since.
		slices.Sort(fa.gapNew)
		keys = make([]uint64, 0, len(fa.gaps))
		i := 0
		for _, k := range fa.gapOrder {
			for ; i < len(fa.gapNew) && fa.gapNew[i] < k; i++ {
				keys = append(keys, fa.gapNew[i])
			}
			keys = append(keys, k)
		}
		keys = append(keys, fa.gapNew[i:]...)
	} else {
		keys = make([]uint64, 0, len(fa.gaps))
		for k := range fa.gaps {
			keys = append(keys, uint64(k.pkg)<<32|uint64(k.plat))
		}
		slices.Sort(keys)
	}
	w.Uint(uint64(len(keys)))
	for _, kk := range keys {
		k := gapKey{pkg: uint32(kk >> 32), plat: uint32(kk)}
		st := fa.gaps[k]
		w.Uint(uint64(k.pkg))
		w.Uint(uint64(k.plat))
		w.Uint(uint64(st.cat))
		w.Bool(st.mixed)
		deps := fa.depsOf(k, &st)
		w.Uint(uint64(len(deps)))
		for _, d := range deps {
			w.Uint(uint64(d))
		}
	}
}

func writePairs(w *statecodec.Writer, ra *recipeAgg) {
	writeTable(w, &ra.recipes)
	writeStrings(w, ra.plats)
	writeStrings(w, ra.cats)
	writeStrings(w, ra.vers)
	// Each pair in pairBytes bytes, little-endian: recipe and platform
	// indexes, last, since and flip positions, last and failure versions
	// (uint32 each), the flip evidence and last category (uint16 each),
	// the last kind and the flags (a byte each). Fixed width: a registry's
	// pairs are read and written at memory speed.
	// Written in place at the end of the writer's bytes (as Bytes would
	// write them: the length, then the records), not built apart and
	// copied: a registry's pairs run to tens of megabytes.
	n := ra.states.len()
	w.Uint(uint64(n))
	w.Uint(uint64(n * pairBytes))
	at := len(w.B)
	w.B = slices.Grow(w.B, n*pairBytes)[:at+n*pairBytes]
	for i := range n {
		key := *ra.pairOf.at(i)
		st := ra.states.get(i)
		encodePair(w.B[at+i*pairBytes:at+(i+1)*pairBytes], uint32(key>>32), uint32(key), &st)
	}
}

// encodePair lays a pair out in e (pairBytes).
func encodePair(e []byte, ri, pi uint32, s *pairState) {
	le := binary.LittleEndian
	le.PutUint32(e, ri)
	le.PutUint32(e[4:], pi)
	le.PutUint32(e[8:], uint32(s.lastPos))
	le.PutUint32(e[12:], uint32(s.sincePos))
	le.PutUint32(e[16:], uint32(s.lastFlip))
	le.PutUint32(e[20:], s.lastVer)
	le.PutUint32(e[24:], s.failVer)
	le.PutUint16(e[28:], s.passes)
	le.PutUint16(e[30:], s.fails)
	le.PutUint16(e[32:], s.retried)
	le.PutUint16(e[34:], s.flips)
	le.PutUint16(e[36:], s.lastCat)
	e[38], e[39] = s.lastKind, byte(s.flags)
}

// decodePair reads a pair encodePair laid out, in a history of nBatches,
// with nl platforms, nv versions and nc categories; ok is false when a
// value is out of range.
func decodePair(e []byte, nBatches int, nl, nv, nc uint64) (ri, pi uint32, s pairState, ok bool) {
	le := binary.LittleEndian
	pos := func(v uint32) (int32, bool) {
		p := int32(v)
		return p, p >= -1 && p < int32(nBatches)
	}
	ri, pi = le.Uint32(e), le.Uint32(e[4:])
	var ok1, ok2, ok3 bool
	s.lastPos, ok1 = pos(le.Uint32(e[8:]))
	s.sincePos, ok2 = pos(le.Uint32(e[12:]))
	s.lastFlip, ok3 = pos(le.Uint32(e[16:]))
	s.lastVer, s.failVer = le.Uint32(e[20:]), le.Uint32(e[24:])
	s.passes, s.fails, s.retried, s.flips, s.lastCat = le.Uint16(e[28:]), le.Uint16(e[30:]), le.Uint16(e[32:]), le.Uint16(e[34:]), le.Uint16(e[36:])
	s.lastKind, s.flags = e[38], pairFlags(e[39])
	failed := s.lastKind == ocFail || s.lastKind == ocInfra || s.failVer != 0
	// In range; a failure names its category.
	ok = ok1 && ok2 && ok3 && uint64(pi) < nl && uint64(s.lastVer) < nv && uint64(s.failVer) < nv &&
		uint64(s.lastCat) < max(nc, 1) && !(failed && uint64(s.lastCat) >= nc) && s.lastKind <= ocInfra && s.flags < 1<<4
	return ri, pi, s, ok
}

// errNoTally: a checkpoint without its gaps' tally is not written.
var errNoTally = errors.New("the summary's checkpoint has no tally of its gaps")

// pairBytes is a pair's size in the checkpoint (writePairs).
const pairBytes = 7*4 + 5*2 + 2

// writeTime writes a time as Unix seconds and nanoseconds (any year: Unix
// nanoseconds end in 2262).
func writeTime(w *statecodec.Writer, t time.Time) {
	w.Int(t.Unix())
	w.Uint(uint64(t.Nanosecond()))
}

func readTime(r *statecodec.Reader) time.Time {
	sec := r.Int()
	ns := readUint(r, 1e9)
	return time.Unix(sec, int64(ns)).UTC()
}

// readUint reads an unsigned value below max.
func readUint(r *statecodec.Reader, max uint64) uint64 {
	v := r.Uint()
	if v >= max {
		r.Fail()
		return 0
	}
	return v
}

// UnmarshalBinary reads a checkpoint MarshalBinary wrote.
func (st *sumState) UnmarshalBinary(b []byte) error {
	r := statecodec.NewReader(b, sumStateMagic)
	q := &sumState{prevs: map[string]*model.BatchRun{}, inc: map[string]*incidentList{}}
	q.by = model.Level(r.Int())
	q.topGaps = int(r.Int())
	nf := r.Count(4)
	seen := map[string]bool{}
	for range nf {
		f := stateFile{path: r.String()}
		f.span.End = r.Int()
		f.span.Lines = int(r.Int())
		f.span.CRC = uint32(readUint(r, 1<<32))
		copy(f.mark[:], r.Bytes())
		f.ident = r.String()
		if seen[f.path] || f.span.End < 0 || f.span.Lines < 0 {
			r.Fail()
		}
		seen[f.path] = true
		q.files = append(q.files, f)
	}
	bt := &q.bt
	bt.loN = int(readUint(r, math.MaxInt32))
	bt.loRuns = int(readUint(r, math.MaxInt32))
	if tok := r.Bytes(); len(tok) == len(bt.loToken) {
		copy(bt.loToken[:], tok)
	} else {
		r.Fail()
	}
	bt.idBlob = r.Bytes()
	nu := r.Count(3)
	at := uint64(0)
	for range nu {
		d := r.Uint()
		at += d
		if d == 0 || at > uint64(len(bt.idBlob)) {
			r.Fail()
			break
		}
		bt.idEnd = append(bt.idEnd, uint32(at))
		bt.ts = append(bt.ts, readTime(r))
	}
	if r.Err() == nil && at != uint64(len(bt.idBlob)) {
		r.Fail()
	}
	hashes := r.Bytes()
	if len(hashes)%8 != 0 {
		r.Fail()
	}
	for i := 0; i+8 <= len(hashes); i += 8 {
		bt.runIDs = append(bt.runIDs, binary.LittleEndian.Uint64(hashes[i:]))
	}
	for i := 1; i < len(bt.runIDs); i++ {
		if bt.runIDs[i-1] >= bt.runIDs[i] { // sorted, none repeated
			r.Fail()
		}
	}
	n := bt.len()
	q.runs = r.Index(false)
	q.last = readTime(r)
	ne := r.Count(3)
	for range ne {
		e := r.String()
		b := &model.BatchRun{Ecosystem: e, BatchID: r.String(), Platforms: map[string]model.Counts{}}
		np := r.Count(6)
		for range np {
			id := r.String()
			c := model.Counts{Tested: r.Int(), Passed: r.Int(), Failed: r.Int(), Skipped: r.Int(), SkippedKnown: r.Bool()}
			b.Platforms[id] = c
		}
		if q.prevs[e] != nil {
			r.Fail()
		}
		q.prevs[e] = b
	}
	nb := r.Count(3)
	for range nb {
		x := &batch{ts: readTime(r), usesMac: r.Bool()}
		if r.Bool() {
			m := r.Float()
			x.minutes = &m
		}
		q.budget = append(q.budget, x)
	}
	q.gapsLo = readPartRef(r)
	q.fa = readGaps(r)
	q.tally = readTally(r)
	ni := r.Count(3)
	for range ni {
		p := r.String()
		l := &incidentList{n: r.Index(false), first: readStrings(r, false)}
		if l.n == 0 || len(l.first) != min(l.n, 3) || q.inc[p] != nil {
			r.Fail()
		}
		q.inc[p] = l
	}
	q.pairsLo = readPartRef(r)
	q.ra = readPairs(r, n)
	q.det = newDetectorRun()
	if err := q.det.UnmarshalBinary(r.Bytes()); err != nil {
		r.Fail()
	}
	if err := r.Done(); err != nil {
		return err
	}
	for _, pr := range q.det.plats {
		for _, a := range pr.alarms {
			if a.from < 0 || a.to >= n || a.from > a.to {
				return statecodec.ErrDamaged
			}
		}
	}
	*st = *q
	return nil
}

func readGaps(r *statecodec.Reader) *failureAgg {
	fa := newFailureAgg(nil, nil, time.Time{}, time.Time{}, nil)
	fa.gapsOnly = true
	d := &fa.ids
	readIndexed(r, d.pkgs.Reserve, d.pkg)
	readIndexed(r, func(int) {}, d.plat)
	readIndexed(r, func(int) {}, d.name)
	fa.records = r.Int()
	np, nl, nn := uint64(fa.ids.pkgs.Len()), uint64(len(fa.ids.plats)), uint64(len(fa.ids.names))
	n := r.Count(5)
	fa.gaps = make(map[gapKey]gapState, n)
	fa.gapOrder = make([]uint64, 0, n)
	var deps []uint32
	for i := range n {
		k := gapKey{pkg: uint32(readUint(r, np)), plat: uint32(readUint(r, nl))}
		kk := uint64(k.pkg)<<32 | uint64(k.plat)
		if i > 0 && kk <= fa.gapOrder[i-1] { // in order, each once
			r.Fail()
			break
		}
		fa.gapOrder = append(fa.gapOrder, kk)
		st := gapState{cat: uint32(readUint(r, nn)), mixed: r.Bool()}
		nd := r.Count(1)
		deps = deps[:0]
		for range nd {
			deps = append(deps, uint32(readUint(r, nn)))
		}
		if r.Err() != nil {
			break
		}
		fa.setDeps(k, &st, deps)
		fa.gaps[k] = st
	}
	return fa
}

func readPairs(r *statecodec.Reader, nBatches int) *recipeAgg {
	ra := newRecipeAgg(0, -1)
	readIndexed(r, ra.recipes.Reserve, ra.recipe)
	for _, s := range readStrings(r, true) {
		ra.platIdx[s] = uint32(len(ra.plats))
		ra.plats = append(ra.plats, s)
	}
	cats := readStrings(r, true)
	if len(cats) > math.MaxUint16 {
		r.Fail()
	}
	for _, s := range cats {
		ra.intern(ra.catIdx, &ra.cats, s)
	}
	vers := readStrings(r, true)
	if r.Err() == nil && (len(vers) == 0 || vers[0] != "") {
		r.Fail()
	}
	for _, s := range vers[min(1, len(vers)):] {
		ra.version(s)
	}
	nr, nl := uint64(ra.recipes.Len()), uint64(len(ra.plats))
	nv, nc := uint64(len(ra.vers)), uint64(len(ra.cats))
	n := r.Count(1)
	b := r.View()
	if r.Err() != nil || len(b) != n*pairBytes {
		r.Fail()
		return ra
	}
	// Laid out for every platform at once (not widened pair by pair).
	if nl > 0 {
		ra.widen(int(nl))
	}
	for i := range n {
		ri, pi, s, ok := decodePair(b[i*pairBytes:(i+1)*pairBytes], nBatches, nl, nv, nc)
		if !ok || uint64(ri) >= nr {
			r.Fail()
			break
		}
		if ra.pairAt(ri, pi) != uint32(i) { // a pair named twice
			r.Fail()
			break
		}
		ra.states.set(i, s)
	}
	return ra
}
