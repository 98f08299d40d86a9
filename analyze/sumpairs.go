package analyze

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
)

// The summary checkpoint's recipe x platform states are, like its batch
// table (batchTable), kept in two parts. A registry's history holds
// millions of pairs, and a batch touches a few thousand: the lower part,
// stored apart (SummaryParts.Pairs) and read in place, holds every pair as
// it stood at the last fold; the upper part (the checkpoint's recipeAgg)
// holds the pairs a batch has touched since, each taking its state from
// the lower part when first touched (recipeAgg.fromLower). Once the upper
// part passes foldAt of the lower, the two are folded into a new lower
// part.
//
// The lower part's layout, little-endian, fixed width: lowerPairsMagic,
// its token (16 bytes), then five uint32: recipes, pairs, versions, the
// names' length and the versions' length; each recipe's name end and pair
// end (uint32 each, cumulative), each version's end (uint32), the names
// (sorted, each once), the versions (the first is ""), and the pairs
// (pairBytes each, as writePairs lays them out, grouped by recipe; the
// recipe index is the lower part's, a version index into its versions, a
// platform and category index into the checkpoint's tables, which only
// grow).
const lowerPairsMagic = "bsSP\x01"

// lowerPairs is a lower part, read in place: its offsets are read when it
// is opened, names, versions and pairs when looked at.
type lowerPairs struct {
	v                        partView
	token                    [16]byte
	nRec, nPairs, nVers      int
	recEnd, pairEnd, verEnd  []byte
	namesAt, versAt, pairsAt int64
	verLen                   int
	nameBuf, verBuf, pairBuf []byte
}

const lowerPairsHead = len(lowerPairsMagic) + 16 + 5*4

// parseLowerPairs checks a lower part's layout and offsets (a pass at
// memory speed); its entries are checked as they are read (fromLower) and
// the names' order is trusted, as the lower ID table's is (docs/STORAGE.md).
func parseLowerPairs(v partView) (*lowerPairs, bool) {
	var hb []byte
	b := v.read(0, lowerPairsHead, &hb)
	if b == nil || string(b[:len(lowerPairsMagic)]) != lowerPairsMagic {
		return nil, false
	}
	le := binary.LittleEndian
	lo := &lowerPairs{v: v}
	copy(lo.token[:], b[len(lowerPairsMagic):])
	h := b[len(lowerPairsMagic)+16:]
	nRec, nPairs, nVers := uint64(le.Uint32(h)), uint64(le.Uint32(h[4:])), uint64(le.Uint32(h[8:]))
	nameLen, verLen := uint64(le.Uint32(h[12:])), uint64(le.Uint32(h[16:]))
	if nVers == 0 || uint64(v.size-int64(lowerPairsHead)) != 8*nRec+4*nVers+nameLen+verLen+nPairs*pairBytes {
		return nil, false
	}
	lo.nRec, lo.nPairs, lo.nVers, lo.verLen = int(nRec), int(nPairs), int(nVers), int(verLen)
	var ob []byte
	p := lo.v.read(int64(lowerPairsHead), int(8*nRec+4*nVers), &ob)
	if p == nil {
		return nil, false
	}
	lo.recEnd, p = p[:4*nRec], p[4*nRec:]
	lo.pairEnd, lo.verEnd = p[:4*nRec], p[4*nRec:]
	lo.namesAt = int64(lowerPairsHead) + int64(8*nRec+4*nVers)
	lo.versAt = lo.namesAt + int64(nameLen)
	lo.pairsAt = lo.versAt + int64(verLen)
	// Every name and every recipe's pairs not empty; every end within.
	var prevName, prevPair uint32
	for i := range lo.nRec {
		e, pe := le.Uint32(lo.recEnd[4*i:]), le.Uint32(lo.pairEnd[4*i:])
		if e <= prevName || pe <= prevPair {
			return nil, false
		}
		prevName, prevPair = e, pe
	}
	if uint64(prevName) != nameLen || uint64(prevPair) != nPairs {
		return nil, false
	}
	prev := uint32(0)
	for i := range lo.nVers {
		e := le.Uint32(lo.verEnd[4*i:])
		if e < prev || i == 0 && e != 0 || i > 0 && e == prev {
			return nil, false // "" first, then none empty
		}
		prev = e
	}
	if uint64(prev) != verLen {
		return nil, false
	}
	return lo, true
}

func span(ends []byte, i int) (from, to uint32) {
	if i > 0 {
		from = binary.LittleEndian.Uint32(ends[4*(i-1):])
	}
	return from, binary.LittleEndian.Uint32(ends[4*i:])
}

// name is recipe i's name (valid until the next name read; nil when it
// cannot be read).
func (lo *lowerPairs) name(i int) []byte {
	from, to := span(lo.recEnd, i)
	return lo.v.read(lo.namesAt+int64(from), int(to-from), &lo.nameBuf)
}

// ver is version i.
func (lo *lowerPairs) ver(i uint32) string {
	from, to := span(lo.verEnd, int(i))
	return string(lo.v.read(lo.versAt+int64(from), int(to-from), &lo.verBuf))
}

// pairsOf is the range of recipe i's pairs.
func (lo *lowerPairs) pairsOf(i int) (from, to int) {
	f, t := span(lo.pairEnd, i)
	return int(f), int(t)
}

// entries are pairs from..to (valid until the next read of them; nil when
// they cannot be read).
func (lo *lowerPairs) entries(from, to int) []byte {
	return lo.v.read(lo.pairsAt+int64(from)*pairBytes, (to-from)*pairBytes, &lo.pairBuf)
}

// find is the index of a recipe, or -1.
func (lo *lowerPairs) find(id string) int { return findName(lo.nRec, lo.name, id) }

// ref is how a checkpoint names the part.
func (lo *lowerPairs) ref() partRef { return partRef{n: lo.nPairs, keys: lo.nRec, token: lo.token} }

// lowerBad reports whether a pair read from the lower part was out of
// range, or a read of it failed.
func (ra *recipeAgg) lowerBad() bool { return ra.loBad || ra.lo != nil && ra.lo.v.bad }

// loUnknown marks an upper recipe not yet looked up in the lower part.
const loUnknown = -2

// attachLower makes lo the lower part of ra's pairs, in a history of n
// batches.
func (ra *recipeAgg) attachLower(lo *lowerPairs, n int) {
	ra.lo, ra.loBatches = lo, n
	ra.loRec = make([]int32, ra.recipes.Len())
	for i := range ra.loRec {
		ra.loRec[i] = loUnknown
	}
}

// fromLower gives new pair id, of recipe ri and platform pi, its state in
// the lower part, if it has one there. An entry out of range sets loBad:
// the checkpoint is not used.
func (ra *recipeAgg) fromLower(id, ri, pi uint32) {
	li := ra.loRec[ri]
	if li == loUnknown {
		li = int32(ra.lo.find(ra.recipes.Name(ri)))
		ra.loRec[ri] = li
	}
	if li < 0 {
		return
	}
	from, to := ra.lo.pairsOf(int(li))
	es := ra.lo.entries(from, to)
	if es == nil {
		ra.loBad = true
		return
	}
	for ; len(es) > 0; es = es[pairBytes:] {
		e := es[:pairBytes]
		if binary.LittleEndian.Uint32(e[4:]) != pi {
			continue
		}
		r, _, s, ok := decodePair(e, ra.loBatches, uint64(len(ra.plats)), uint64(ra.lo.nVers), uint64(len(ra.cats)))
		if !ok || r != uint32(li) {
			ra.loBad = true
			return
		}
		s.lastVer = ra.version(ra.lo.ver(s.lastVer))
		s.failVer = ra.version(ra.lo.ver(s.failVer))
		ra.states.set(int(id), s)
		return
	}
}

// foldPairs folds the pairs' two parts into a new lower part once the
// upper one holds more than foldAt of the lower; the upper part is then
// empty, with the same platforms and categories. It returns false when
// the lower part could not be read (a block damaged) or is not one this
// program writes.
func (st *sumState) foldPairs() bool {
	ra := st.ra
	lo := ra.lo
	loN, loRec := 0, 0
	if lo != nil {
		loN, loRec = lo.nPairs, lo.nRec
	}
	up := ra.states.len()
	if up <= foldAt(loN) {
		return true
	}
	le := binary.LittleEndian
	// Versions: the lower part's, then the upper part's not among them.
	var verEnd, verBlob []byte
	known := map[string]uint32{}
	if lo != nil {
		if !lo.v.load() {
			return false
		}
		verEnd, verBlob = slices.Clone(lo.verEnd), slices.Clone(lo.v.read(lo.versAt, lo.verLen, nil))
		for i := range lo.nVers {
			known[lo.ver(uint32(i))] = uint32(i)
		}
	} else {
		verEnd, known[""] = le.AppendUint32(nil, 0), 0
	}
	verMap := make([]uint32, len(ra.vers))
	for i, v := range ra.vers {
		x, ok := known[v]
		if !ok {
			x = uint32(len(verEnd) / 4) // the next (not len(known): a forged part may name one twice)
			known[v] = x
			verBlob = append(verBlob, v...)
			verEnd = le.AppendUint32(verEnd, uint32(len(verBlob)))
		}
		verMap[i] = x
	}
	// The recipes of both parts by name, the upper part's pairs over the
	// lower's.
	order := make([]uint32, ra.recipes.Len())
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int { return strings.Compare(ra.recipes.Name(a), ra.recipes.Name(b)) })
	var names, recEnd, pairEnd []byte
	// The pairs are written in place at the end of the part's bytes, after
	// room for the rest at its largest (the recipes of both parts, each
	// once at most): a registry's pairs run to hundreds of megabytes, not
	// to be copied.
	headMax := lowerPairsHead + 8*(loRec+ra.recipes.Len()) + len(verEnd) + len(verBlob)
	if lo != nil {
		headMax += int(lo.versAt - lo.namesAt)
	}
	for ri := range ra.recipes.Len() {
		headMax += len(ra.recipes.Name(uint32(ri)))
	}
	buf := make([]byte, headMax+(loN+up)*pairBytes)
	pairs := buf[headMax:headMax]
	r := uint32(0)
	for i, k := 0, 0; i < loRec || k < len(order); {
		c := 1 // the upper part's recipe first
		switch {
		case k >= len(order):
			c = -1
		case i < loRec:
			if n, s := lo.name(i), ra.recipes.Name(order[k]); string(n) < s {
				c = -1
			} else if string(n) == s {
				c = 0
			}
		}
		at, nameAt := len(pairs), len(names)
		if c < 0 {
			names = append(names, lo.name(i)...)
			from, to := lo.pairsOf(i)
			for es := lo.entries(from, to); len(es) > 0; es = es[pairBytes:] {
				pairs = append(pairs, es[:pairBytes]...)
				le.PutUint32(pairs[len(pairs)-pairBytes:], r)
			}
			i++
		} else {
			ri := order[k]
			k++
			names = append(names, ra.recipes.Name(ri)...)
			for pi := range uint32(len(ra.plats)) {
				p, ok := ra.pairIdx(ri, pi)
				if !ok {
					continue
				}
				s := ra.states.get(int(p))
				s.lastVer, s.failVer = verMap[s.lastVer], verMap[s.failVer]
				pairs = append(pairs, make([]byte, pairBytes)...)
				encodePair(pairs[len(pairs)-pairBytes:], r, pi, &s)
			}
			if c == 0 {
				from, to := lo.pairsOf(i)
				for es := lo.entries(from, to); len(es) > 0; es = es[pairBytes:] {
					e := es[:pairBytes]
					pi := le.Uint32(e[4:])
					if _, ok := ra.pairIdx(ri, pi); ok {
						continue
					}
					pairs = append(pairs, e...)
					le.PutUint32(pairs[len(pairs)-pairBytes:], r)
				}
				i++
			}
		}
		if len(pairs) == at {
			names = names[:nameAt] // no pairs: no recipe
			continue
		}
		recEnd = le.AppendUint32(recEnd, uint32(len(names)))
		pairEnd = le.AppendUint32(pairEnd, uint32(len(pairs)/pairBytes))
		r++
	}
	head := make([]byte, 0, lowerPairsHead+len(recEnd)+len(pairEnd)+len(verEnd)+len(names)+len(verBlob))
	head = append(head, lowerPairsMagic...)
	var token [16]byte
	rand.Read(token[:])
	head = append(head, token[:]...)
	for _, v := range []int{int(r), len(pairs) / pairBytes, len(verEnd) / 4, len(names), len(verBlob)} {
		head = le.AppendUint32(head, uint32(v))
	}
	for _, b := range [][]byte{recEnd, pairEnd, verEnd, names, verBlob} {
		head = append(head, b...)
	}
	if len(head) > headMax || cap(pairs) != cap(buf)-headMax {
		return false // more than the room made: not a part this program writes
	}
	raw := buf[headMax-len(head) : headMax+len(pairs)]
	copy(raw, head)
	nlo, ok := parseLowerPairs(viewOf(nil, raw))
	if !ok {
		return false // not from parts this program writes
	}
	nra := newRecipeAgg(0, -1)
	nra.plats, nra.platIdx, nra.cats, nra.catIdx = ra.plats, ra.platIdx, ra.cats, ra.catIdx
	nra.attachLower(nlo, st.bt.len())
	st.ra, st.pairsNew = nra, true
	return true
}
