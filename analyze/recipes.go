package analyze

import (
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/batchsli/batchsli/internal/names"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/stats"
)

// Recipe histories: what the outcome records (one per batch, every
// recipe's outcome on every platform) say that counts cannot: transitions
// between a recipe's consecutive tests on a platform, flaky recipes, paired
// platform comparisons and capability gaps closed. See docs/METHODS.md.

// Outcome kinds at the report's level.
const (
	ocPass    uint8 = iota + 1 // passed on its first attempt
	ocRetried                  // passed after a failed attempt
	ocFail                     // failed for the recipe's reasons
	ocInfra                    // failed for the infrastructure's reasons
)

// ocEntry is one recipe's outcome on one (rolled-up) platform in a batch.
type ocEntry struct {
	pair uint32
	ver  uint32 // index into recipeAgg.vers; 0 = unknown
	cat  uint16 // index into recipeAgg.cats, for failures
	kind uint8
	// n and np are the recipe's tests on the members of the (rolled)
	// platform, infrastructure failures left out, and its passes among
	// them: a rolled platform's counts sum its members', and a result
	// kept out of them (tallyFlaky) is kept out once per member. At the
	// records' own level they are 1 and 1 or 0 (membersOf).
	n, np uint16
}

// membersOf is what n and np are for an entry of kind k tested on one
// member: 1 test, a pass unless a failure (an infrastructure failure is
// no test).
func membersOf(k uint8) (n, np uint16) {
	switch k {
	case ocPass, ocRetried:
		return 1, 1
	case ocFail:
		return 1, 0
	}
	return 0, 0
}

// kindOf classifies one outcome byte of record o: ocPass, ocRetried,
// ocFail, ocInfra, or 0 for a skip.
func kindOf(o *model.Outcomes, c byte) uint8 {
	oc := o.Decode(c)
	switch {
	case oc.Kind == model.Passed && oc.Retried:
		return ocRetried
	case oc.Kind == model.Passed:
		return ocPass
	case oc.Kind == model.Failed && model.CategoryKind(oc.Category) == model.KindInfrastructure:
		return ocInfra
	case oc.Kind == model.Failed:
		return ocFail
	}
	return 0
}

// maxPairs bounds the recipe x platform pairs a report keeps: pack gives
// a pair 29 bits (a variable for tests).
var maxPairs uint32 = 1 << 29

// pack appends what the exclusion of flaky results and the flake rates
// need of an entry: pair << 2 | kind - 1 in 4 bytes, and when its member
// counts are not those of one member (membersOf), the top bit set and a
// second word, n << 16 | np. A pair is below maxPairs (failed).
func pack(dst []uint32, e ocEntry) []uint32 {
	v := e.pair<<2 | uint32(e.kind-1)
	if n, np := membersOf(e.kind); e.n == n && e.np == np {
		return append(dst, v)
	}
	return append(dst, v|1<<31, uint32(e.n)<<16|uint32(e.np))
}

// unpack reads the entry packed at es[i] and returns it (pair, kind, n
// and np) with the index of the next.
func unpack(es []uint32, i int) (ocEntry, int) {
	v := es[i]
	e := ocEntry{pair: v >> 2 & (1<<29 - 1), kind: uint8(v&3) + 1}
	if v>>31 == 0 || i+1 >= len(es) {
		e.n, e.np = membersOf(e.kind)
		return e, i + 1
	}
	m := es[i+1]
	e.n, e.np = uint16(m>>16), uint16(m)
	return e, i + 2
}

// pairState is one (recipe, platform) pair's history so far, as
// pairStore gives and takes it (stored in 16 bytes, or 36 for a pair that
// ever failed or passed on a retry).
type pairState struct {
	lastPos  int32 // position (in the history) of its last test; -1 none
	sincePos int32 // first failure of the current run of failures
	lastFlip int32 // last flip on the current version; -1 none
	lastVer  uint32
	failVer  uint32 // the version of its last failure
	// Flip evidence on the current version (saturating counts).
	passes, fails, retried, flips uint16
	lastCat                       uint16
	lastKind                      uint8
	flags                         pairFlags
	// What few pairs need is kept beside (recipeAgg.segs,
	// recipeAgg.stillOf).
}

// pairFlags are a pair's yes/no facts.
type pairFlags uint8

const (
	flipUp      pairFlags = 1 << iota // a failure then a pass, this version
	flipDown                          // a pass then a failure, this version
	flakyPair                         // found flaky (segs holds the evidence)
	retriedPair                       // passed after a failed attempt, ever
)

// flakySeg is the evidence of a flaky pair's latest flaky segment, for the
// flaky list.
type flakySeg struct {
	passes, fails, retried, flips uint16
	ver                           uint32
	lastFlip                      int32
}

func inc(n *uint16) {
	if *n < math.MaxUint16 {
		*n++
	}
}

type recipeAgg struct {
	// recipes numbers the recipes (package IDs): hundreds of thousands
	// at registry scale, in a table the collector need not walk.
	recipes names.Table
	plats   []string
	platIdx map[string]uint32
	// pairsOf holds, at recipe * stride + platform, the pair + 1 (0: none
	// yet), for the first maxDense platforms; stride grows with them (a
	// few times in a history). morePairs holds the pairs of the platforms
	// after those (recipe<<32 | platform -> pair + 1), which only a
	// history naming very many platforms has.
	pairsOf   []uint32
	stride    int
	morePairs map[uint64]uint32
	pairOf    chunked[uint64] // pair -> recipe<<32 | platform
	cats      []string
	catIdx    map[string]uint16
	vers      []string
	verIdx    map[string]uint32

	// packed holds each batch's entries (by history position: packed
	// entries, grouped by recipe) up to the window's end, out of the heap
	// (entryLog); nil until the first.
	packed *entryLog
	// tooMany is set when a pair past maxPairs was made (failed).
	tooMany bool
	// The walk in history order: start and end bound the window; last is
	// the last position walked.
	start, end, last int
	states           pairStore
	// The window's transitions: newly failing and newly fixed ones of the
	// last batch (atEnd) and the latest maxTransitions others (a ring from
	// ringAt), each pair's latest still failing one (stills), and counts
	// of the first two per platform index.
	atEnd  []trRec
	ring   []trRec
	ringAt int
	stills []trRec
	counts [][2]int
	// fine holds the window's outcomes at the recorded level.
	fine fineOutcomes
	// segs holds the flaky pairs' evidence; stillOf indexes each pair's
	// latest still failing transition in the window (stills).
	segs    map[uint32]flakySeg
	stillOf map[uint32]int32
	// lo is the job summary checkpoint's lower part of the pairs (nil:
	// none; sumpairs.go): a pair made new takes its state from there. loRec
	// is each recipe's index in it (-1: none there, loUnknown: not looked
	// up yet), loBatches the history's batches when it was read, and loBad
	// is set when an entry read from it is out of range.
	lo        *lowerPairs
	loRec     []int32
	loBatches int
	loBad     bool
	// flaky marks the pairs found flaky, and excluded those of them with
	// evidence within a batch (a pass after a failed attempt): only those
	// are kept out of trends and the detector (docs/METHODS.md). After
	// finish.
	flaky, excluded []bool
}

func newRecipeAgg(start, end int) *recipeAgg {
	return &recipeAgg{platIdx: map[string]uint32{},
		catIdx: map[string]uint16{}, verIdx: map[string]uint32{"": 0}, vers: []string{""},
		segs: map[uint32]flakySeg{}, stillOf: map[uint32]int32{},
		start: start, end: end, last: -1}
}

// recipe is the index of a recipe, made when new.
func (ra *recipeAgg) recipe(id string) uint32 {
	n := ra.recipes.Len()
	ri := ra.recipes.Index(id)
	if int(ri) == n {
		ra.pairsOf = append(ra.pairsOf, make([]uint32, ra.stride)...)
		if ra.lo != nil {
			ra.loRec = append(ra.loRec, loUnknown)
		}
	}
	return ri
}

func (ra *recipeAgg) pair(recipe string, plat string) uint32 {
	ri := ra.recipe(recipe)
	pi, ok := ra.platIdx[plat]
	if !ok {
		pi = uint32(len(ra.plats))
		ra.plats = append(ra.plats, plat)
		ra.platIdx[plat] = pi
	}
	return ra.pairAt(ri, pi)
}

// maxDense is how many platforms pairsOf lays out for every recipe (a
// variable for tests).
var maxDense uint32 = 64

// pairAt is the pair of recipe index ri and platform index pi, made when new.
func (ra *recipeAgg) pairAt(ri uint32, pi uint32) uint32 {
	key := uint64(ri)<<32 | uint64(pi)
	var slot *uint32
	if pi < maxDense {
		if int(pi) >= ra.stride {
			ra.widen(int(pi) + 1)
		}
		slot = &ra.pairsOf[int(ri)*ra.stride+int(pi)]
		if *slot != 0 {
			return *slot - 1
		}
	} else if p, ok := ra.morePairs[key]; ok {
		return p - 1
	}
	id := uint32(ra.pairOf.len())
	if id >= maxPairs {
		ra.tooMany = true // failed says so; the report fails
	}
	ra.pairOf.add(key)
	ra.states.add()
	if slot != nil {
		*slot = id + 1
	} else {
		if ra.morePairs == nil {
			ra.morePairs = map[uint64]uint32{}
		}
		ra.morePairs[key] = id + 1
	}
	if ra.lo != nil {
		ra.fromLower(id, ri, pi)
	}
	return id
}

// widen lays pairsOf out again for stride platforms.
func (ra *recipeAgg) widen(stride int) {
	stride = min(max(stride, len(ra.plats)), int(maxDense))
	out := make([]uint32, ra.recipes.Len()*stride)
	for ri := range ra.recipes.Len() {
		copy(out[ri*stride:], ra.pairsOf[ri*ra.stride:(ri+1)*ra.stride])
	}
	ra.pairsOf, ra.stride = out, stride
}

// lookup is the pair of a recipe and platform, if it was seen.
func (ra *recipeAgg) lookup(recipe, plat string) (uint32, bool) {
	ri, ok := ra.recipes.Lookup(recipe)
	if !ok {
		return 0, false
	}
	pi, ok := ra.platIdx[plat]
	if !ok {
		return 0, false
	}
	return ra.pairIdx(ri, pi)
}

// pairIdx is the pair of recipe index ri and platform index pi, if made.
func (ra *recipeAgg) pairIdx(ri, pi uint32) (uint32, bool) {
	if pi >= maxDense {
		p, ok := ra.morePairs[uint64(ri)<<32|uint64(pi)]
		return p - 1, ok
	}
	if int(pi) >= ra.stride || ra.pairsOf[int(ri)*ra.stride+int(pi)] == 0 {
		return 0, false
	}
	return ra.pairsOf[int(ri)*ra.stride+int(pi)] - 1, true
}

func (ra *recipeAgg) recipeOf(pair uint32) string {
	return ra.recipes.Name(uint32(*ra.pairOf.at(int(pair)) >> 32))
}
func (ra *recipeAgg) platOf(pair uint32) string { return ra.plats[ra.platIdxOf(pair)] }

// platIdxOf is the index in plats of a pair's platform.
func (ra *recipeAgg) platIdxOf(pair uint32) uint64 { return *ra.pairOf.at(int(pair)) & 0xffffffff }

func (ra *recipeAgg) intern(m map[string]uint16, list *[]string, s string) uint16 {
	if i, ok := m[s]; ok {
		return i
	}
	if len(*list) >= math.MaxUint16 {
		// More names than 16 bits number (a history that names that
		// many categories): the rest share the last one.
		s = moreNames
		if i, ok := m[s]; ok {
			return i
		}
	}
	i := uint16(len(*list))
	*list = append(*list, s)
	m[s] = i
	return i
}

func (ra *recipeAgg) version(s string) uint32 {
	if i, ok := ra.verIdx[s]; ok {
		return i
	}
	i := uint32(len(ra.vers))
	ra.vers = append(ra.vers, s)
	ra.verIdx[s] = i
	return i
}

// moreNames stands for the names past the 65,535th (recipeAgg.intern).
const moreNames = "(more names than a report tells apart)"

// release lets go of the per-batch outcomes once exclusion, flake rates
// and paired comparisons have them; the per-pair states stay.
func (ra *recipeAgg) release() {
	ra.packed.close()
	ra.fine.byBatch.close()
	ra.fine = fineOutcomes{byBatch: ra.fine.byBatch}
}

// readOutcomes reads the committed outcome records of the batches in all,
// rolled up to the report's level and filtered as the report is, and walks
// them in history order up to position end (the window is start..end). A
// record that does not add up to its batch's counts is a problem and is
// left out. Records are walked as they are read while they come in history
// order (as appended); if one does not, they are read again and walked
// after sorting.
func readOutcomes(rd *reader.Reader, fsys fs.FS, name string, ro *roller, ecoFilter map[string]bool, all []*batch, sums map[string]uint64, start, end int, pairs bool) (*recipeAgg, []reader.Problem, error) {
	ra, probs, disorder, err := readOutcomesOnce(rd, ro, ecoFilter, all, sums, start, end, pairs, false)
	if err != nil || !disorder {
		return ra, probs, err
	}
	ra.release()
	for _, b := range all {
		b.outcomes = false
	}
	// Read again with a reader of its own: rd has reported the files'
	// problems already.
	commits, err := rd.Commits()
	if err != nil {
		return nil, nil, err
	}
	again := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true, Commits: commits})
	ra, probs, _, err = readOutcomesOnce(again, ro, ecoFilter, all, sums, start, end, pairs, true)
	return ra, probs, err
}

// readOutcomesOnce reads the outcome records once (readOutcomes). With
// pairs false the window's outcomes are not kept for the paired
// comparisons (a report that computes none).
func readOutcomesOnce(rd *reader.Reader, ro *roller, ecoFilter map[string]bool, all []*batch, sums map[string]uint64, start, end int, pairs, buffered bool) (*recipeAgg, []reader.Problem, bool, error) {
	ra := newRecipeAgg(start, end)
	pos := make(map[string]int, len(all))
	for i, b := range all {
		pos[b.id] = i
	}
	var probs []reader.Problem
	disorder := false
	full := map[int][]ocEntry{}
	var (
		dec outcomeDecoder
		pk  []uint32
	)
	err := rd.Outcomes(func(o *model.Outcomes) {
		i, ok := pos[o.BatchID]
		if !ok || disorder && !buffered {
			return
		}
		if sum, ok := sums[o.BatchID]; !ok || sum != o.CountsSum() {
			probs = append(probs, reader.Problem{File: o.Source.File, Line: o.Source.Line,
				Message: fmt.Sprintf("outcome record of batch %s does not add up to the batch's counts; left out", o.BatchID)})
			return
		}
		all[i].outcomes = true
		if i > end {
			return
		}
		if !buffered && i <= ra.last {
			disorder = true
			return
		}
		entries, known := dec.decode(ra, ro, ecoFilter, o)
		if ra.packed == nil {
			// The per-batch outcomes, from the first record on. Read
			// again after sorting, they are in the heap anyway (full):
			// a file would be read back out of order.
			ra.packed, ra.fine.byBatch = newEntryLog(!buffered), newEntryLog(!buffered)
		}
		if pairs && i >= start {
			ra.fine.add(ra, ro, ecoFilter, o, i, known)
		}
		pk = pk[:0]
		for _, e := range entries {
			pk = pack(pk, e)
		}
		ra.packed.put(i, pk)
		if buffered {
			full[i] = slices.Clone(entries)
			return
		}
		ra.step(all, i, entries)
	})
	if err == nil {
		err = ra.doneWriting()
	}
	if err != nil || disorder && !buffered {
		return ra, probs, disorder, err
	}
	if buffered {
		ps := make([]int, 0, len(full))
		for p := range full {
			ps = append(ps, p)
		}
		sort.Ints(ps)
		for _, p := range ps {
			ra.step(all, p, full[p])
		}
	}
	return ra, probs, false, nil
}

// outcomeDecoder turns outcome records into entries at a report's level,
// reusing its buffers.
type outcomeDecoder struct {
	ids      []string // rolled platform IDs of the record
	col      []int    // record platform -> index in ids, -1 dropped
	platOf   []uint32 // index in ids -> platform index
	kinds    []uint8
	cats     []uint16
	members  [][2]uint16 // per index in ids: tests and passes (ocEntry.n, np)
	entries  []ocEntry
	known    []uint32
	codeKind [256]uint8
	codeCat  [256]uint16
}

// decode returns record o's entries (valid until the next call), and each
// of its recipes' index (noRecipe for one without an entry).
func (d *outcomeDecoder) decode(ra *recipeAgg, ro *roller, ecoFilter map[string]bool, o *model.Outcomes) ([]ocEntry, []uint32) {
	ids, col, platOf, kinds, cats, entries, known := d.ids, d.col, d.platOf, d.kinds, d.cats, d.entries, d.known
	codeKind, codeCat := &d.codeKind, &d.codeCat
	ids, col = ids[:0], col[:0]
	for _, p := range o.Platforms {
		r := ro.roll(p)
		c := -1
		if r.keep {
			c = slices.Index(ids, r.id)
			if c < 0 {
				c = len(ids)
				ids = append(ids, r.id)
			}
		}
		col = append(col, c)
	}
	platOf = platOf[:0]
	for _, id := range ids {
		pi, ok := ra.platIdx[id]
		if !ok {
			pi = uint32(len(ra.plats))
			ra.plats = append(ra.plats, id)
			ra.platIdx[id] = pi
		}
		platOf = append(platOf, pi)
	}
	// What each code byte means in this record.
	for c := range codeKind {
		codeKind[c] = 0
	}
	codeKind[model.OutcomePass], codeKind[model.OutcomePassRetried] = ocPass, ocRetried
	for k, cat := range o.Categories {
		b := model.FailureCodes[k]
		codeKind[b], codeCat[b] = kindOf(o, b), ra.intern(ra.catIdx, &ra.cats, cat)
	}
	kinds = slices.Grow(kinds[:0], len(ids))[:len(ids)]
	cats = slices.Grow(cats[:0], len(ids))[:len(ids)]
	members := slices.Grow(d.members[:0], len(ids))[:len(ids)]
	entries = entries[:0]
	// Each recipe's index, once looked up (for fine.add).
	known = slices.Grow(known[:0], len(o.Recipes))[:len(o.Recipes)]
	for ri := range known {
		known[ri] = noRecipe
	}
	for ri := range o.Recipes {
		rec := &o.Recipes[ri]
		if len(ecoFilter) > 0 {
			eco, _ := model.SplitPackageID(rec.PackageID)
			if !ecoFilter[eco] {
				continue
			}
		}
		clear(kinds)
		clear(members)
		for j := range o.Platforms {
			c := col[j]
			if c < 0 {
				continue
			}
			b := rec.Codes[j]
			k := codeKind[b]
			n, np := membersOf(k)
			members[c][0] += n
			members[c][1] += np
			// A recipe failure on any member decides; then a pass
			// (retried if any was); then an infrastructure failure.
			if k != 0 && (kinds[c] == 0 || rank(k) > rank(kinds[c])) {
				kinds[c], cats[c] = k, codeCat[b]
			}
		}
		var rIdx uint32
		have := false
		var ver uint32 // "" is 0
		if rec.Version != "" {
			ver = ra.version(rec.Version)
		}
		for c, k := range kinds {
			if k == 0 {
				continue
			}
			if !have {
				rIdx, have = ra.recipe(rec.PackageID), true
				known[ri] = rIdx
			}
			e := ocEntry{pair: ra.pairAt(rIdx, platOf[c]), ver: ver, kind: k, n: members[c][0], np: members[c][1]}
			if k == ocFail || k == ocInfra {
				e.cat = cats[c]
			}
			entries = append(entries, e)
		}
	}
	d.ids, d.col, d.platOf, d.kinds, d.cats, d.members, d.entries, d.known = ids, col, platOf, kinds, cats, members, entries, known
	return entries, known
}

// doneWriting ends the writing of the per-batch outcomes.
func (ra *recipeAgg) doneWriting() error {
	if err := ra.packed.done(); err != nil {
		return err
	}
	return ra.fine.byBatch.done()
}

// failed returns the error met reading the per-batch outcomes back.
func (ra *recipeAgg) failed() error {
	if ra == nil {
		return nil
	}
	if ra.tooMany {
		return fmt.Errorf("the outcome records name more than %d recipe x platform pairs, more than a report can keep", maxPairs)
	}
	if err := ra.packed.failed(); err != nil {
		return err
	}
	return ra.fine.byBatch.failed()
}

// rank orders outcomes for rolling up: a recipe failure outranks a retried
// pass, which outranks a pass, which outranks an infrastructure failure.
func rank(k uint8) int {
	switch k {
	case ocFail:
		return 4
	case ocRetried:
		return 3
	case ocPass:
		return 2
	}
	return 1
}

// recipeResult is what the outcome records yield for the report.
type recipeResult struct {
	transitions []Transition
	flaky       []FlakyRecipe
	// counts holds each platform's newly failing, newly fixed and still
	// failing transitions in the window; total all of them.
	counts map[string]*[3]int
	total  int
}

// MaxTransitions bounds the transitions a report lists besides those of
// the window's last batch (all listed): the latest first. Counts cover all.
const MaxTransitions = 2000

// maxTransitions is MaxTransitions; tests raise it.
var maxTransitions = MaxTransitions

// trRec is a transition kept compactly until the report lists it.
type trRec struct {
	pair             uint32
	pos, prev, since int32
	ver, prevVer     uint32
	cat, prevCat     uint16
	kind             uint8 // 1 newly failing, 2 newly fixed, 3 still failing
}

// step walks one batch (position p, after every earlier one): transitions
// (kept from the window's start) and flip evidence for flakiness.
func (ra *recipeAgg) step(all []*batch, p int, entries []ocEntry) {
	ra.last = p
	for _, e := range entries {
		if e.kind == ocInfra {
			continue // the runner's failure says nothing of the recipe
		}
		st := ra.states.get(int(e.pair))
		pass := e.kind != ocFail
		// Flip evidence within one version.
		if st.lastPos < 0 || e.ver != st.lastVer {
			st.passes, st.fails, st.retried, st.flips = 0, 0, 0, 0
			st.flags &^= flipUp | flipDown
			st.lastFlip = -1
		} else if (st.lastKind != ocFail) != pass {
			inc(&st.flips)
			st.lastFlip = int32(p)
			if pass {
				st.flags |= flipUp
			} else {
				st.flags |= flipDown
			}
		}
		if pass {
			inc(&st.passes)
		} else {
			inc(&st.fails)
		}
		if e.kind == ocRetried {
			inc(&st.retried)
			st.flags |= retriedPair
		}
		if st.retried > 0 || st.flags&(flipUp|flipDown) == flipUp|flipDown {
			st.flags |= flakyPair
			ra.segs[e.pair] = flakySeg{passes: st.passes, fails: st.fails, retried: st.retried, flips: st.flips, ver: e.ver, lastFlip: st.lastFlip}
		}
		// Transitions, kept compactly; the report lists the latest.
		if st.lastPos >= 0 && p >= ra.start {
			prevPass := st.lastKind != ocFail
			tr := trRec{pair: e.pair, pos: int32(p), prev: st.lastPos, since: st.sincePos, cat: e.cat, prevCat: st.lastCat, ver: e.ver, prevVer: st.lastVer}
			switch {
			case prevPass && !pass:
				tr.kind = 1
			case !prevPass && pass:
				tr.kind = 2
			case !prevPass && !pass:
				tr.kind = 3
			}
			switch {
			case tr.kind == 3:
				if at, ok := ra.stillOf[e.pair]; ok {
					ra.stills[at] = tr
				} else {
					ra.stillOf[e.pair] = int32(len(ra.stills))
					ra.stills = append(ra.stills, tr)
				}
			case tr.kind != 0:
				pi := int(ra.platIdxOf(e.pair))
				for len(ra.counts) <= pi {
					ra.counts = append(ra.counts, [2]int{})
				}
				ra.counts[pi][tr.kind-1]++
				switch {
				case p == ra.end:
					ra.atEnd = append(ra.atEnd, tr)
				case len(ra.ring) < maxTransitions:
					ra.ring = append(ra.ring, tr)
				case maxTransitions > 0:
					ra.ring[ra.ringAt] = tr
					ra.ringAt = (ra.ringAt + 1) % maxTransitions
				}
			}
		}
		if !pass && (st.lastPos < 0 || st.lastKind != ocFail) {
			st.sincePos = int32(p)
		}
		st.lastPos, st.lastKind, st.lastVer = int32(p), e.kind, e.ver
		if !pass {
			st.lastCat, st.failVer = e.cat, e.ver
		}
		ra.states.set(int(e.pair), st)
	}
}

// finish lists the window's transitions (those of its last batch and the
// latest maxTransitions others, with counts of all) and flaky recipes.
func (ra *recipeAgg) finish(all []*batch) recipeResult {
	start, end := ra.start, ra.end
	var res recipeResult
	ra.flaky = make([]bool, ra.states.len())
	ra.excluded = make([]bool, ra.states.len())
	for i := range ra.states.len() {
		ra.flaky[i] = ra.states.flags(i)&flakyPair != 0
		ra.excluded[i] = ra.states.flags(i)&retriedPair != 0
	}
	res.counts = map[string]*[3]int{}
	count := func(plat string) *[3]int {
		c := res.counts[plat]
		if c == nil {
			c = &[3]int{}
			res.counts[plat] = c
		}
		return c
	}
	for pi, c := range ra.counts {
		n := count(ra.plats[pi])
		n[0], n[1] = c[0], c[1]
		res.total += c[0] + c[1]
	}
	// Listed: every transition of the last batch, then the latest
	// maxTransitions others.
	list := slices.Clone(ra.atEnd)
	var others []trRec
	others = append(others, ra.ring...)
	for _, tr := range ra.stills {
		count(ra.platOf(tr.pair))[2]++
		res.total++
		if int(tr.pos) == end {
			list = append(list, tr)
		} else {
			others = append(others, tr)
		}
	}
	slices.SortStableFunc(others, func(a, b trRec) int { return int(b.pos) - int(a.pos) })
	if len(others) > maxTransitions {
		others = others[:maxTransitions]
	}
	list = append(list, others...)
	at := func(p int32) (string, time.Time) { return all[p].id, all[p].ts }
	for _, tr := range list {
		res.transitions = append(res.transitions, ra.transition(tr, at))
	}
	ra.atEnd, ra.ring, ra.stills = nil, nil, nil
	sort.SliceStable(res.transitions, func(i, j int) bool {
		a, b := res.transitions[i], res.transitions[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		if a.BatchID != b.BatchID {
			return a.BatchID < b.BatchID
		}
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		return a.Recipe < b.Recipe
	})
	for pair := range ra.states.len() {
		st := ra.states.get(pair)
		if st.flags&flakyPair == 0 || st.lastPos < int32(start) {
			continue
		}
		seg := ra.segs[uint32(pair)]
		retried := st.flags&retriedPair != 0
		f := FlakyRecipe{Recipe: ra.recipeOf(uint32(pair)), Platform: ra.platOf(uint32(pair)), Version: ra.vers[seg.ver],
			Passes: int64(seg.passes), Failures: int64(seg.fails), RetriedPasses: int64(seg.retried), Flips: int64(seg.flips),
			LastBatchID: all[st.lastPos].id, Evidence: "flips", Excluded: retried}
		if retried {
			f.Evidence = "retried_pass"
		}
		if seg.lastFlip >= 0 {
			ts := all[seg.lastFlip].ts
			f.LastFlip, f.LastFlipTime = all[seg.lastFlip].id, &ts
		}
		res.flaky = append(res.flaky, f)
	}
	sort.Slice(res.flaky, func(i, j int) bool {
		a, b := res.flaky[i], res.flaky[j]
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		return a.Recipe < b.Recipe
	})
	return res
}

// transition is a kept transition, with at giving a history position's
// batch ID and time.
func (ra *recipeAgg) transition(tr trRec, at func(int32) (string, time.Time)) Transition {
	t := Transition{Recipe: ra.recipeOf(tr.pair), Platform: ra.platOf(tr.pair),
		Version: ra.vers[tr.ver], PreviousVersion: ra.vers[tr.prevVer], Flaky: ra.states.flags(int(tr.pair))&flakyPair != 0}
	t.BatchID, t.Timestamp = at(tr.pos)
	t.PreviousBatchID, _ = at(tr.prev)
	t.RecipeChanged = t.Version != t.PreviousVersion && t.Version != "" && t.PreviousVersion != ""
	switch tr.kind {
	case 1:
		t.Kind, t.Category = NewlyFailing, ra.cats[tr.cat]
	case 2:
		t.Kind, t.PreviousCategory = NewlyFixed, ra.cats[tr.prevCat]
	case 3:
		t.Kind, t.Category, t.PreviousCategory = StillFailing, ra.cats[tr.cat], ra.cats[tr.prevCat]
		id, since := at(tr.since)
		t.Since, t.SinceTime = id, &since
	}
	return t
}

// flakyTally is the tests and passes of a batch to leave out of the
// regression evidence: [flakyAll] those of every pair with a retried pass
// up to the window's end (the window tests, which look once), [flakySince]
// those from each such pair's first retried pass on (the detector, which
// looks after every batch and whose past must not change with later ones).
type flakyTally [2][2]int64

// flakyMode says which results of flaky pairs a series leaves out.
type flakyMode uint8

const (
	flakyAll flakyMode = iota
	flakySince
	flakyKept // none
)

// excludeFlaky takes the flaky pairs' results out of each batch's regression
// evidence: batch.flaky holds, per platform (and per ecosystem and
// platform), the tests and passes to leave out.
func (ra *recipeAgg) excludeFlaky(all []*batch) {
	// since marks the pairs whose first retried pass is behind: the walk
	// is in history order, and within a batch a pair has one entry.
	since := make([]bool, len(ra.excluded))
	for _, p := range ra.packed.positions() {
		es := ra.packed.get(p, false)
		b := all[p]
		for i := 0; i < len(es); {
			var e ocEntry
			e, i = unpack(es, i)
			if e.kind == ocInfra || !ra.excluded[e.pair] {
				continue
			}
			if e.kind == ocRetried {
				since[e.pair] = true
			}
			ra.tallyFlaky(b, e, true, since[e.pair])
		}
	}
}

// tallyFlaky counts entry e of batch b among the results its platform (and
// its ecosystem x platform) leave out of the regression evidence: for the
// windows' tests (all) and for the detector (since).
func (ra *recipeAgg) tallyFlaky(b *batch, e ocEntry, all, since bool) {
	if b.flaky == nil {
		b.flaky = map[string]flakyTally{}
	}
	plat := ra.platOf(e.pair)
	eco, _ := model.SplitPackageID(ra.recipeOf(e.pair))
	for _, k := range []string{plat, eco + "\x00" + plat} {
		v := b.flaky[k]
		for m, on := range [2]bool{flakyAll: all, flakySince: since} {
			if !on {
				continue
			}
			v[m][0] += int64(e.n)
			v[m][1] += int64(e.np)
		}
		b.flaky[k] = v
	}
}

// flakeStats computes each platform's flake rate and transition counts.
func (ra *recipeAgg) flakeStats(cur []*batch, pos map[*batch]int, res recipeResult) map[string]*FlakeStat {
	type acc struct {
		tests, flaky int64
		batches      int
		recipes      map[uint32]bool
	}
	// By platform index (ra.plats); seen marks the platforms a batch
	// tested, with the batch's position + 1.
	accs := make([]*acc, len(ra.plats))
	seen := make([]int, len(ra.plats))
	for ci, b := range cur {
		if !ra.packed.has(pos[b]) {
			continue
		}
		es := ra.packed.get(pos[b], false)
		for i := 0; i < len(es); {
			var e ocEntry
			e, i = unpack(es, i)
			if e.kind == ocInfra {
				continue
			}
			pi := ra.platIdxOf(e.pair)
			a := accs[pi]
			if a == nil {
				a = &acc{recipes: map[uint32]bool{}}
				accs[pi] = a
			}
			if seen[pi] != ci+1 {
				seen[pi] = ci + 1
				a.batches++
			}
			a.tests++
			if e.kind == ocRetried || ra.flaky[e.pair] {
				a.flaky++
			}
			if ra.flaky[e.pair] {
				a.recipes[e.pair] = true
			}
		}
	}
	out := map[string]*FlakeStat{}
	for pi, a := range accs {
		if a == nil {
			continue
		}
		plat := ra.plats[pi]
		fs := &FlakeStat{Tests: a.tests, FlakyTests: a.flaky, FlakyRecipes: len(a.recipes), Batches: a.batches}
		if a.tests > 0 {
			fs.Rate = ptr(round3(float64(a.flaky) / float64(a.tests)))
		}
		if c := res.counts[plat]; c != nil {
			fs.NewlyFailing, fs.NewlyFixed, fs.StillFailing = c[0], c[1], c[2]
		}
		out[plat] = fs
	}
	return out
}

// MinPairedRecipes is the least recipes two platforms must share for a
// paired comparison to take part in the weakest-platform claim.
const MinPairedRecipes = 10

// paired compares every two platforms, at the finest level the outcome
// records carry (a rolled-up "failed on any member" is not comparable
// across platforms with different numbers of members), on the recipes both
// tested in the window: for each recipe, its latest batch that tested it
// on both (infrastructure failures left out), in a 2x2 table with McNemar's
// exact test, and the same discordances tested with batches as clusters
// (stats.ClusteredMcNemar), whose BH q-values carry the claims. A platform
// that gates the other is not comparable on them.
func (ra *recipeAgg) paired(cur []*batch, pos map[*batch]int) []PairedComparison {
	n := len(ra.fine.plats)
	if n < 2 {
		return []PairedComparison{}
	}
	order := slices.Clone(ra.fine.plats)
	sort.Strings(order)
	col := make([]int, n) // platform index -> sorted position
	for i, p := range ra.fine.plats {
		col[i] = sort.SearchStrings(order, p)
	}
	npairs := n * (n - 1) / 2
	idx := func(a, b int) int { // a < b, sorted positions
		return a*n - a*(a+1)/2 + (b - a - 1)
	}
	tables := make([][4]int64, npairs) // both passed, only a, only b, both failed
	diffs := make([][]int64, npairs)   // per informative batch: only a - only b
	batchD := make([]int64, npairs)
	var touched []int
	words := (npairs + 63) / 64
	// seen holds, per recipe, the platform pairs already counted (its
	// latest test in the window counts).
	seen := make([]uint64, words*ra.recipes.Len())
	kinds := make([]uint8, n) // 0 untested, 1 passed, 2 failed
	for ci := len(cur) - 1; ci >= 0; ci-- {
		es := ra.fine.byBatch.get(pos[cur[ci]], true)
		touched = touched[:0]
		for s := 0; s < len(es); {
			r := es[s] >> 9
			e := s
			clear(kinds)
			for e < len(es) && es[e]>>9 == r {
				k := uint8(2)
				if es[e]&1 == 1 {
					k = 1
				}
				kinds[col[(es[e]>>1)&0xff]] = k
				e++
			}
			s = e
			bits := seen[int(r)*words : int(r+1)*words]
			for a := 0; a < n; a++ {
				if kinds[a] == 0 {
					continue
				}
				for b := a + 1; b < n; b++ {
					if kinds[b] == 0 {
						continue
					}
					k := idx(a, b)
					if bits[k/64]&(1<<(k%64)) != 0 {
						continue
					}
					bits[k/64] |= 1 << (k % 64)
					pa, pb := kinds[a] == 1, kinds[b] == 1
					switch {
					case pa && pb:
						tables[k][0]++
					case pa:
						tables[k][1]++
						if batchD[k] == 0 {
							touched = append(touched, k)
						}
						batchD[k]++
					case pb:
						tables[k][2]++
						if batchD[k] == 0 {
							touched = append(touched, k)
						}
						batchD[k]--
					default:
						tables[k][3]++
					}
				}
			}
		}
		for _, k := range touched {
			if batchD[k] != 0 {
				diffs[k] = append(diffs[k], batchD[k])
			}
			batchD[k] = 0
		}
	}
	out := []PairedComparison{}
	var ps []float64
	var at []int
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			k := idx(a, b)
			t := tables[k]
			pc := PairedComparison{A: order[a], B: order[b], BothPassed: t[0], OnlyAPassed: t[1], OnlyBPassed: t[2], BothFailed: t[3]}
			pc.Recipes = t[0] + t[1] + t[2] + t[3]
			if pc.Recipes == 0 {
				continue
			}
			pc.P = ptr(stats.McNemarExact(pc.OnlyAPassed, pc.OnlyBPassed))
			switch {
			case ra.fine.gates(pc.B, pc.A):
				pc.Why = pc.A + " gates " + pc.B + ": every recipe " + pc.B + " tested passed " + pc.A + " first"
			case ra.fine.gates(pc.A, pc.B):
				pc.Why = pc.B + " gates " + pc.A + ": every recipe " + pc.A + " tested passed " + pc.B + " first"
			default:
				pc.Comparable = true
				p, m := stats.ClusteredMcNemar(diffs[k])
				pc.PClustered, pc.Batches = ptr(p), m
				ps = append(ps, p)
				at = append(at, len(out))
			}
			if !pc.Comparable {
				pc.P = nil
			}
			out = append(out, pc)
		}
	}
	for i, q := range stats.QValues(ps) {
		out[at[i]].Q = ptr(q)
	}
	return out
}

// fineOutcomes are the window's outcomes at the level the records carry,
// for paired comparisons: per batch, recipe << 9 | platform << 1 | passed
// (infrastructure failures and skips left out), and each platform's gates
// as the window's records show them.
type fineOutcomes struct {
	plats   []string
	platIdx map[string]uint8
	// dropped holds the platforms past the first maxFinePlats, which the
	// paired comparisons leave out.
	dropped map[string]bool
	// moreRecipes holds the window's recipes past the first
	// maxFineRecipes of the history, which they leave out too.
	moreRecipes map[uint32]bool
	byBatch     *entryLog
	es          []uint32 // scratch
	gateSeen    [256]bool
	gateSet     [256]bitset256
	idx         []int // scratch
	masks       []recipeMasks
}

// maxFinePlats is the most platforms a window's paired comparisons take
// (indexed by one byte; the rest are left out, and the report says so).
const maxFinePlats = 255

// noRecipe marks a recipe whose index is not looked up yet.
const noRecipe = math.MaxUint32

// maxFineRecipes is how many recipes an entry of fineOutcomes numbers (23
// bits; a variable for tests).
var maxFineRecipes uint32 = 1 << 23

// recipesNote says how many recipes the paired comparisons left out.
func recipesNote(dropped int) string {
	return fmt.Sprintf("Paired comparisons cover the first %d recipes the outcome records name; %d more of the window are left out of them.", maxFineRecipes, dropped)
}

// pairedNote says how many platforms the paired comparisons left out.
func pairedNote(dropped int) string {
	return fmt.Sprintf("Paired comparisons cover the first %d platforms the window's outcome records name; %d more are left out of them.", maxFinePlats, dropped)
}

// recipeMasks are one recipe's platforms (a record's indexes) by outcome.
type recipeMasks struct{ passed, failed, skipped bitset256 }

type bitset256 [4]uint64

func (b *bitset256) set(i uint8)      { b[i/64] |= 1 << (i % 64) }
func (b *bitset256) has(i uint8) bool { return b[i/64]&(1<<(i%64)) != 0 }

// gates reports whether g gated p in every batch of the window whose
// skips on p a gate explains.
func (f *fineOutcomes) gates(p, g string) bool {
	pi, ok1 := f.platIdx[p]
	gi, ok2 := f.platIdx[g]
	return ok1 && ok2 && f.gateSeen[pi] && f.gateSet[pi].has(gi)
}

// add takes one batch's outcome record (position i in the window).
// known holds the index of each of the record's recipes already looked up,
// noRecipe for the others.
func (f *fineOutcomes) add(ra *recipeAgg, ro *roller, ecoFilter map[string]bool, o *model.Outcomes, i int, known []uint32) {
	if f.platIdx == nil {
		f.platIdx = map[string]uint8{}
	}
	f.idx = slices.Grow(f.idx[:0], len(o.Platforms))[:len(o.Platforms)]
	idx := f.idx // -1: filtered out
	for j, p := range o.Platforms {
		idx[j] = -1
		if !ro.roll(p).keep {
			continue
		}
		k, ok := f.platIdx[p]
		if !ok {
			if len(f.plats) >= maxFinePlats {
				if f.dropped == nil {
					f.dropped = map[string]bool{}
				}
				f.dropped[p] = true
				continue
			}
			k = uint8(len(f.plats))
			f.plats = append(f.plats, p)
			f.platIdx[p] = k
		}
		idx[j] = int(k)
	}
	es := f.es[:0]
	for ri := range o.Recipes {
		rec := &o.Recipes[ri]
		if len(ecoFilter) > 0 {
			eco, _ := model.SplitPackageID(rec.PackageID)
			if !ecoFilter[eco] {
				continue
			}
		}
		r := known[ri]
		if r == noRecipe {
			r = ra.recipe(rec.PackageID)
		}
		if r >= maxFineRecipes {
			if f.moreRecipes == nil {
				f.moreRecipes = map[uint32]bool{}
			}
			f.moreRecipes[r] = true
			continue
		}
		for j := range o.Platforms {
			if idx[j] < 0 {
				continue
			}
			switch kindOf(o, rec.Codes[j]) {
			case ocPass, ocRetried:
				es = append(es, r<<9|uint32(idx[j])<<1|1)
			case ocFail:
				es = append(es, r<<9|uint32(idx[j])<<1)
			}
		}
	}
	f.byBatch.put(i, es)
	f.es = es
	// Gates, as record infers them: G gates P when every recipe tested on
	// P passed on G, and the gates failed every recipe skipped on P. With
	// each recipe's platforms as bit sets, that is a few words per recipe.
	np := len(o.Platforms)
	if np > 256 {
		return
	}
	var skipAny bitset256
	f.masks = f.masks[:0]
	for ri := range o.Recipes {
		var m recipeMasks
		for j := 0; j < np; j++ {
			if idx[j] < 0 {
				continue
			}
			switch kindOf(o, o.Recipes[ri].Codes[j]) {
			case 0:
				m.skipped.set(uint8(j))
				skipAny.set(uint8(j))
			case ocPass, ocRetried:
				m.passed.set(uint8(j))
			default:
				m.failed.set(uint8(j))
			}
		}
		f.masks = append(f.masks, m)
	}
	for pj := 0; pj < np; pj++ {
		if idx[pj] < 0 || !skipAny.has(uint8(pj)) {
			continue
		}
		// Candidates: every platform but P that passed every recipe P tested.
		var gs bitset256
		for j := 0; j < np; j++ {
			if j != pj && idx[j] >= 0 {
				gs.set(uint8(j))
			}
		}
		for _, m := range f.masks {
			if !m.skipped.has(uint8(pj)) {
				for w := range gs {
					gs[w] &= m.passed[w]
				}
			}
		}
		if gs == (bitset256{}) {
			continue
		}
		covered := true
		for _, m := range f.masks {
			if m.skipped.has(uint8(pj)) {
				hit := false
				for w := range gs {
					if gs[w]&m.failed[w] != 0 {
						hit = true
						break
					}
				}
				if !hit {
					covered = false
					break
				}
			}
		}
		if !covered {
			continue
		}
		pk := uint8(idx[pj])
		var set bitset256
		for j := 0; j < np; j++ {
			if gs.has(uint8(j)) {
				set.set(uint8(idx[j]))
			}
		}
		if !f.gateSeen[pk] {
			f.gateSeen[pk], f.gateSet[pk] = true, set
			continue
		}
		for w := range set {
			f.gateSet[pk][w] &= set[w]
		}
	}
}

// pairedWeakest names the platform that, on the recipes it shares with
// each comparable platform, failed significantly more of them than that
// platform did (q <= Q, at least MinPairedRecipes shared), against at least
// two platforms and every comparable one: the fair comparison when
// progressive validation gives platforms different recipes.
func pairedWeakest(rep *Report, pairs []PairedComparison) {
	partners := map[string][]PairedComparison{}
	for _, pc := range pairs {
		if !pc.Comparable || pc.Recipes < MinPairedRecipes {
			continue
		}
		partners[pc.A] = append(partners[pc.A], pc)
		partners[pc.B] = append(partners[pc.B], pc)
	}
	var named []string
	for _, in := range rep.Insights {
		if in.Kind == KindWeakest {
			named = append(named, in.Group...)
		}
	}
	var plats []string
	for p := range partners {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	for _, w := range plats {
		ps := partners[w]
		rolledW := w
		if lvl, ok := model.ParseLevel(rep.By); ok {
			if e := model.ParseEnv(w); e.Known() {
				rolledW, _ = e.At(lvl)
			}
		}
		if len(ps) < 2 || slices.Contains(named, w) || slices.Contains(named, rolledW) {
			continue
		}
		worse := true
		maxQ := 0.0
		closest := ""
		for _, pc := range ps {
			mine, theirs := pc.OnlyBPassed, pc.OnlyAPassed // w = A: recipes only the other passed
			other := pc.B
			if pc.B == w {
				mine, theirs, other = pc.OnlyAPassed, pc.OnlyBPassed, pc.A
			}
			if pc.Q == nil || *pc.Q > 0.05 || mine <= theirs {
				worse = false
				break
			}
			if *pc.Q >= maxQ {
				maxQ = *pc.Q
				closest = fmt.Sprintf("vs %s, %d of %d shared recipes failed only on %s and %d only on %s (over %d batches, p = %.2g with batches as clusters, q = %.2g)",
					other, mine, pc.Recipes, w, theirs, other, pc.Batches, *pc.PClustered, *pc.Q)
			}
		}
		if !worse {
			continue
		}
		in := Insight{Kind: KindWeakest, Platform: w, Group: []string{w}, Q: ptr(maxQ), BlockedBy: []string{}}
		for _, p := range rep.Platforms {
			if p.Platform == w {
				in.Rate, in.CILow, in.CIHigh, in.DesignEffect = p.PassRate, p.CILow, p.CIHigh, ptr(p.DesignEffect)
			}
		}
		// The evidence: the recipes shared and the batches they span.
		for _, pc := range ps {
			in.N += pc.Recipes
			in.Batches = max(in.Batches, pc.Batches)
		}
		in.Evidence = fmt.Sprintf("on the recipes it shares with each of the %d platforms it can be compared with (same batch, neither gating the other), %s failed significantly more of them than the other platform did; the closest: %s",
			len(ps), w, closest)
		rep.Insights = append(rep.Insights, in)
		if rep.Verdicts.WeakestPlatform != "" {
			rep.Verdicts.WeakestPlatform += "; "
		}
		rep.Verdicts.WeakestPlatform += "on shared recipes (paired, McNemar): " + w
	}
}

// gapsClosed reports, for each cause of two or more failing recipes on a
// platform in the trend's previous window that no failure in the window
// names any more, how many of those recipes now pass there: the payoff of
// the fix, from each recipe's latest test in the window. Absence is
// evidence only when the cause would likely have shown: with f the share
// of the previous window's batches testing the platform (in the cause's
// ecosystems) that showed it and B the window's such batches, the claim
// needs (1-f)^B <= 0.05/m over the m candidate causes, and at least one
// recipe that passes now (docs/METHODS.md).
func (ra *recipeAgg) gapsClosed(rep *Report, fa *failureAgg, prev, cur []*batch) {
	blocked := map[causeKey][]string{}
	for k := range fa.prevCause {
		c := fa.ids.causes[k.cause]
		blocked[c] = append(blocked[c], fa.ids.pkgs.Name(k.pkg))
	}
	var keys []causeKey
	for k, rs := range blocked {
		if len(rs) >= 2 && fa.curCause[k] == 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].plat != keys[j].plat {
			return keys[i].plat < keys[j].plat
		}
		if keys[i].kind != keys[j].kind {
			return keys[i].kind > keys[j].kind
		}
		return keys[i].name < keys[j].name
	})
	m := float64(max(1, len(keys)))
	start := ra.start
	for _, k := range keys {
		if _, ok := ra.platIdx[k.plat]; !ok {
			continue
		}
		batches, ecos := fa.causeBatches(k)
		var before, showed, after int
		for _, b := range prev {
			if testsIn(b, k.plat, ecos) {
				before++
				if batches[b.id] {
					showed++
				}
			}
		}
		for _, b := range cur {
			if testsIn(b, k.plat, ecos) {
				after++
			}
		}
		if before == 0 || after == 0 {
			continue
		}
		f := float64(showed) / float64(before)
		chance := math.Pow(1-f, float64(after))
		if chance > 0.05/m {
			continue
		}
		var unlocked, retested, newVersion int64
		for _, r := range blocked[k] {
			pair, ok := ra.lookup(r, k.plat)
			if !ok {
				continue
			}
			st := ra.states.get(int(pair))
			if st.lastPos < int32(start) {
				continue
			}
			retested++
			switch {
			case st.lastKind == ocFail:
			case st.lastVer != st.failVer && st.lastVer != 0 && st.failVer != 0:
				newVersion++ // passes, but as a new version of the recipe
			default:
				unlocked++
			}
		}
		if unlocked == 0 {
			continue
		}
		total := int64(len(blocked[k]))
		in := Insight{Kind: KindGapClosed, Platform: k.plat, BlockedBy: []string{}, Recipes: total, Unlocked: &unlocked, Retested: &retested,
			Batches: after, P: ptr(chance)}
		what := ""
		if k.kind == "dep" {
			in.BlockedBy = []string{k.name}
			in.Category = model.CatMissingDep
			what = "blocked by " + k.name
		} else {
			in.Category = k.name
			what = "failing with " + in.Category
		}
		in.Evidence = fmt.Sprintf("on %s, no failure in the window's %d batches is %s any more, where %d of the previous window's %d batches were (were nothing fixed, all %d would be clear with chance %.2g); of the %d recipes it held back, %d were tested again and %d of them now pass on the same version",
			k.plat, after, what, showed, before, after, chance, total, retested, unlocked)
		if newVersion > 0 {
			in.Evidence += fmt.Sprintf(" (%d more pass as a new version of the recipe, not counted)", newVersion)
		}
		rep.Insights = append(rep.Insights, in)
	}
}

// testsIn reports whether batch b tested platform plat in one of ecos.
func testsIn(b *batch, plat string, ecos map[string]bool) bool {
	if b.byEco == nil {
		if !ecos[b.ecosystem] {
			return false
		}
		for pc := range b.plats.all() {
			if pc.id == plat && pc.c.Tested > 0 {
				return true
			}
		}
		return false
	}
	for eco, pcs := range b.byEco {
		if !ecos[eco] {
			continue
		}
		for pc := range pcs.all() {
			if pc.id == plat && pc.c.Tested > 0 {
				return true
			}
		}
	}
	return false
}

// outcomeNote says what the report cannot say for lack of outcome records.
func outcomeNote(c *OutcomeCoverage) {
	switch {
	case c.Batches == 0:
	case c.WithOutcomes == 0:
		c.Note = "No batch in the window has per-recipe outcome records (written by `batchsli record` since report version 4): transitions, flaky recipes, paired comparisons and capability gaps closed need them, and flaky recipes cannot be kept out of the regression evidence."
	case c.WithOutcomes < c.Batches:
		c.Note = fmt.Sprintf("Only %d of the window's %d batches have per-recipe outcome records: transitions, flaky recipes and paired comparisons cover those batches only.", c.WithOutcomes, c.Batches)
	}
}
