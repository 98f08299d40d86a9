package analyze

import (
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/internal/names"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// failSpec is the window of one report whose failure aggregate
// readFailures builds: its batches, the trend's previous window and the
// time span of records without a known batch.
type failSpec struct {
	o         ReportOptions // By and Platforms
	cur, prev []*batch
	lo, hi    time.Time
	ecoFilter map[string]bool
	needInfra map[string]bool
	// base, when not -1, is the spec (earlier in the list) this one
	// extends (extension): only the records in this window and not in the
	// base's are read for it, into an aggregate added to a copy of the
	// base's.
	base int
}

// extended counts the aggregates extended (for tests).
var extended atomic.Int64

// extensions sets each spec's base: of the specs it can extend
// (extension), the one with the most batches, if any.
func extensions(specs []failSpec) {
	for j := range specs {
		specs[j].base = -1
		for i := range specs {
			if _, ok := extension(specs[i], specs[j]); ok && i != j && (specs[j].base < 0 || len(specs[i].cur) > len(specs[specs[j].base].cur)) {
				specs[j].base = i
			}
		}
	}
}

// extension reports whether spec x's aggregate can be spec b's extended
// by the records of x's window that b's leaves out, and returns the
// batches of x's window after b's: both keep only capability gaps and
// infrastructure counts (insightsOnly), at one level with one set of
// filters; b's window is a start of x's (the same first batch and the
// same first time) ending at an earlier time.
func extension(b, x failSpec) ([]*batch, bool) {
	if !b.o.insightsOnly || !x.o.insightsOnly || b.o.By != x.o.By || !slices.Equal(b.o.Platforms, x.o.Platforms) ||
		!maps.Equal(b.ecoFilter, x.ecoFilter) || !maps.Equal(b.needInfra, x.needInfra) ||
		!b.lo.Equal(x.lo) || b.hi.IsZero() || !(x.hi.IsZero() || b.hi.Before(x.hi)) || len(b.cur) > len(x.cur) {
		return nil, false
	}
	for i, bt := range b.cur {
		if x.cur[i] != bt {
			return nil, false
		}
	}
	return x.cur[len(b.cur):], true
}

// readFailures streams every failure file into a failureAgg per spec,
// reading files in parallel (reader.FailuresParallel: one aggregate per
// worker and spec, merged at the end: every count is a sum and every gap
// state an intersection, so the result does not depend on the order).
// Each record is decoded once, whatever the number of specs. Problems come
// back in file and line order.
func readFailures(fsys fs.FS, name string, commits *reader.Commits, specs []failSpec, known map[string]bool, spans func(string, reader.Span, bool)) (fas []*failureAgg, problems []reader.Problem, dropped, uncommitted int, err error) {
	rd := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true, Commits: commits, Spans: spans})
	aggs := make([][]*failureAgg, max(1, runtime.GOMAXPROCS(0)))
	fns := make([]func(*model.Failure), len(aggs))
	for w := range aggs {
		for _, sp := range specs {
			cur, lo := sp.cur, sp.lo
			if sp.base >= 0 {
				// Only the records after the base's window: its batches
				// and times.
				cur, _ = extension(specs[sp.base], sp)
				lo = specs[sp.base].hi.Add(time.Nanosecond)
			}
			a := newFailureAgg(newRoller(sp.o.By, sp.o.Platforms), cur, lo, sp.hi, sp.ecoFilter)
			a.known = known
			a.needInfra = sp.needInfra
			a.gapsOnly = sp.o.insightsOnly
			// The infrastructure counts cover every batch, not the
			// window's: the base has them.
			a.infraElsewhere = sp.base >= 0
			for _, b := range sp.prev {
				a.inPrev[b.id] = true
			}
			aggs[w] = append(aggs[w], a)
		}
		if len(specs) == 1 {
			fns[w] = aggs[w][0].add
			continue
		}
		mine := aggs[w]
		fns[w] = func(f *model.Failure) {
			for _, a := range mine {
				a.add(f)
			}
		}
	}
	if err := rd.FailuresParallel(fns); err != nil {
		return nil, nil, 0, 0, err
	}
	for i := range specs {
		for _, w := range aggs {
			w[i].settle()
		}
		fa := aggs[0][i]
		for _, w := range aggs[1:] {
			fa.merge(w[i])
		}
		fas = append(fas, fa)
	}
	// Each extension once its base is whole (a base may extend another).
	done := make([]bool, len(specs))
	for left := true; left; {
		left = false
		for i, sp := range specs {
			switch {
			case done[i]:
			case sp.base < 0:
				done[i] = true
			case done[sp.base]:
				delta := fas[i]
				fas[i] = fas[sp.base].copyFor(sp)
				fas[i].merge(delta)
				done[i] = true
				extended.Add(1)
			default:
				left = true
			}
		}
	}
	problems, dropped = rd.Problems()
	u, more := rd.Uncommitted()
	return fas, problems, dropped, len(u) + more, nil
}

// merge adds other's counts into fa.
func (fa *failureAgg) merge(other *failureAgg) {
	fa.records += other.records
	fa.unknown += other.unknown
	for p, m := range other.catCount {
		if fa.catCount[p] == nil {
			fa.catCount[p] = map[string]int64{}
			fa.kindCount[p] = map[model.Kind]int64{}
		}
		for c, n := range m {
			fa.catCount[p][c] += n
		}
		for k, n := range other.kindCount[p] {
			fa.kindCount[p][k] += n
		}
	}
	for k, m := range other.infraBatch {
		for p, n := range m {
			bump(fa.infraBatch, k, p, n)
		}
	}
	for k, m := range other.infraEco {
		for p, n := range m {
			bump(fa.infraEco, k, p, n)
		}
	}
	for k, m := range other.infraTime {
		for p, n := range m {
			bump(fa.infraTime, k, p, n)
		}
	}
	for k, n := range other.blockFail {
		fa.blockFail[k] += n
	}
	// other's indexes, as fa's.
	pkgs := make([]uint32, other.ids.pkgs.Len())
	for i := range pkgs {
		pkgs[i] = fa.ids.pkg(other.ids.pkgs.Name(uint32(i)))
	}
	plats := make([]uint32, len(other.ids.plats))
	for i, s := range other.ids.plats {
		plats[i] = fa.ids.plat(s)
	}
	names := make([]uint32, len(other.ids.names))
	for i, s := range other.ids.names {
		names[i] = fa.ids.name(s)
	}
	for k := range other.blockRec {
		fa.blockRec[blockKey{pkg: pkgs[k.pkg], dep: names[k.dep], plat: plats[k.plat]}] = struct{}{}
	}
	for k := range other.prevCause {
		fa.prevCause[prevKey{pkgs[k.pkg], fa.ids.cause(other.ids.causes[k.cause])}] = struct{}{}
	}
	for k, n := range other.curCause {
		fa.curCause[k] += n
	}
	bats := make([]uint32, other.ids.batches.Len())
	for i := range bats {
		bats[i] = fa.ids.batches.Index(other.ids.batches.Name(uint32(i)))
	}
	for ci := range other.causeSets {
		oc := &other.causeSets[ci]
		cs := fa.causeSet(fa.ids.cause(other.ids.causes[ci]))
		for _, b := range oc.batches {
			cs.batches = append(cs.batches, bats[b])
		}
		cs.ecos = append(cs.ecos, oc.ecos...)
	}
	var deps []uint32
	for ok, st := range other.gaps {
		k := gapKey{pkgs[ok.pkg], plats[ok.plat]}
		deps = deps[:0]
		for _, d := range other.depsOf(ok, &st) {
			deps = append(deps, names[d])
		}
		mine, seen := fa.gaps[k]
		if !seen {
			mine = gapState{cat: names[st.cat], mixed: st.mixed}
			fa.setDeps(k, &mine, deps)
			fa.gaps[k] = mine
			continue
		}
		if st.mixed || names[st.cat] != mine.cat {
			mine.mixed = true
		}
		if mine.nd != 0 {
			fa.setDeps(k, &mine, intersect(fa.depsOf(k, &mine), deps))
		}
		fa.gaps[k] = mine
	}
}

// copyFor copies the aggregate for spec sp (its window, roller and trend
// window), to add an extension's records to (merge): every map and list
// the merge writes to is copied; the infrastructure counts, which an
// extension leaves out, are shared.
func (fa *failureAgg) copyFor(sp failSpec) *failureAgg {
	c := newFailureAgg(newRoller(sp.o.By, sp.o.Platforms), sp.cur, sp.lo, sp.hi, sp.ecoFilter)
	c.known, c.needInfra, c.gapsOnly, c.records = fa.known, fa.needInfra, fa.gapsOnly, fa.records
	for _, b := range sp.prev {
		c.inPrev[b.id] = true
	}
	c.infraBatch, c.infraTime, c.infraEco = fa.infraBatch, fa.infraTime, fa.infraEco
	for p, m := range fa.catCount {
		c.catCount[p] = maps.Clone(m)
	}
	for p, m := range fa.kindCount {
		c.kindCount[p] = maps.Clone(m)
	}
	c.blockFail = maps.Clone(fa.blockFail)
	c.ids = ids{
		pkgs: fa.ids.pkgs.Clone(), batches: fa.ids.batches.Clone(),
		plats: slices.Clone(fa.ids.plats), platIdx: maps.Clone(fa.ids.platIdx),
		names: slices.Clone(fa.ids.names), nameIdx: maps.Clone(fa.ids.nameIdx),
		causes: slices.Clone(fa.ids.causes), causeAt: maps.Clone(fa.ids.causeAt),
	}
	c.blockRec = maps.Clone(fa.blockRec)
	c.gaps = maps.Clone(fa.gaps)
	for k, d := range fa.moreDeps {
		c.moreDeps[k] = slices.Clone(d)
	}
	c.prevCause = maps.Clone(fa.prevCause)
	c.curCause = maps.Clone(fa.curCause)
	c.causeSets = make([]causeSets, len(fa.causeSets))
	for i, cs := range fa.causeSets {
		c.causeSets[i] = causeSets{batches: slices.Clone(cs.batches), ecos: slices.Clone(cs.ecos)}
	}
	return c
}

// failureAgg counts the window's failure records.
type failureAgg struct {
	ro       *roller
	inWindow map[string]bool // batch IDs of the window
	known    map[string]bool // every batch ID in the metrics
	// needInfra holds the batches whose records do not count their
	// infrastructure failures (for some platform or ecosystem): only
	// theirs are counted from the failure records, by batch.
	needInfra map[string]bool
	lo, hi    time.Time // time span for records without a known batch ID
	ecoFilter map[string]bool

	// Counted by index while reading (catN, blockN, curN), by name after
	// settle: catCount, kindCount, blockFail and curCause.
	catN   map[[2]uint32]int64 // (platform, category)
	blockN map[[2]uint32]int64 // (platform, dependency)
	curN   map[curKey]int64
	// The last batch, environment and package met.
	lastBatch               batchFacts
	lastEnv, lastPkg        string
	lastRoll                rolled
	lastPkgIdx              uint32
	lastRollSet, lastPkgSet bool
	lastPlatEnv             string
	lastPlat                uint32
	lastPlatSet             bool
	// lastEcoName's number in the process's table (infer.EcoOf, which
	// takes a lock shared by the readers): records come batch by batch.
	lastEcoName string
	lastEco     infer.Eco

	catCount  map[string]map[string]int64     // platform -> category -> failures
	kindCount map[string]map[model.Kind]int64 // platform -> kind -> failures
	blockFail map[[2]string]int64             // (platform, dependency) -> failures
	// The per-recipe state is kept by index (ids): a registry holds
	// hundreds of thousands of failing recipes.
	ids ids
	// gapsOnly keeps only the gaps and the infrastructure counts, for a
	// report with insightsOnly: the categories, blockers and causes of
	// the previous window stay empty.
	gapsOnly bool
	// infraElsewhere leaves the infrastructure counts out: the aggregate
	// is added to a copy of one that has them (failSpec.base).
	infraElsewhere bool
	blockRec       map[blockKey]struct{} // (package, dependency, platform)
	gaps           map[gapKey]gapState   // (package, platform) -> causes
	// moreDeps holds the blockers of the gaps with more than fit in
	// gapState.
	moreDeps map[gapKey][]uint32
	// gapOrder, when not nil, holds the keys of gaps in order (a
	// checkpoint's, readGaps), and gapNew the keys of gaps made since
	// (pkg<<32 | plat): writeGaps merges them rather than sort every key.
	gapOrder, gapNew []uint64
	// touched, when not nil, takes each gap's state before the first
	// failure added changes it (a gapTally then follows the change).
	touched map[gapKey]gapPrev
	// gapLo is the job summary checkpoint's lower part of the gaps (nil:
	// none; sumgaps.go): a gap made new takes its state from there. loPkg
	// is each package's index in it (-1: none there, loUnknown: not
	// looked up yet); loBad is set when a gap read from it is out of range.
	gapLo   *lowerGaps
	loPkg   []int32
	loBad   bool
	records int64
	// unknown counts the records whose batch ID the metrics do not know
	// (kept or not by their time).
	unknown int64
	// inPrev holds the trend's previous window; prevCause the causes
	// (platform, cause, package) of its failures, and curCause the window's
	// failures per (platform, cause), for capability gaps closed. A cause
	// is "dep:" and a blocker, or "cat:" and a recipe category.
	inPrev    map[string]bool
	prevCause map[prevKey]struct{}
	curCause  map[causeKey]int64
	// causeSets hold, per cause of the previous window (by its index,
	// ids.cause), the batches and ecosystems it appeared in.
	causeSets []causeSets
	// Infrastructure failures of every batch (not only the window's) whose
	// record does not count them (needInfra): by batch ID, or by time for
	// failure records without a known one.
	infraBatch map[string]map[string]int64
	infraTime  map[timeKey]map[string]int64
	// infraEco splits infraBatch by the failure's ecosystem, for batches
	// that span several.
	infraEco map[[2]string]map[string]int64
}

// gapState is what every failure of one recipe on one platform has in
// common: a category (a name index) unless mixed, and blockers (name
// indexes: nd of them in deps, or in failureAgg.moreDeps when nd is
// depsElsewhere).
type gapState struct {
	cat   uint32
	deps  [2]uint32
	nd    uint8
	mixed bool
}

const depsElsewhere = 255

type gapKey struct {
	pkg  uint32
	plat uint32
}

type blockKey struct {
	pkg, dep uint32
	plat     uint32
}

type prevKey struct{ pkg, cause uint32 }

// ids numbers the strings the per-recipe state refers to: packages,
// (rolled) platforms, names (categories and blockers) and causes.
type ids struct {
	pkgs names.Table
	// batches numbers the batch IDs of causeSets.
	batches names.Table
	plats   []string
	platIdx map[string]uint32
	names   []string
	nameIdx map[string]uint32
	causes  []causeKey
	causeAt map[causeKey]uint32
}

func newIDs() ids {
	return ids{platIdx: map[string]uint32{}, nameIdx: map[string]uint32{}, causeAt: map[causeKey]uint32{}}
}

func (d *ids) pkg(s string) uint32 {
	return d.pkgs.Index(s)
}

// plat numbers a rolled platform ID: a few dozen in a history whose
// environments follow the platform grammar, as many as the data names
// otherwise.
func (d *ids) plat(s string) uint32 {
	i, ok := d.platIdx[s]
	if !ok {
		i = uint32(len(d.plats))
		d.plats = append(d.plats, s)
		d.platIdx[s] = i
	}
	return i
}

func (d *ids) name(s string) uint32 {
	i, ok := d.nameIdx[s]
	if !ok {
		i = uint32(len(d.names))
		d.names = append(d.names, s)
		d.nameIdx[s] = i
	}
	return i
}

func (d *ids) cause(k causeKey) uint32 {
	i, ok := d.causeAt[k]
	if !ok {
		i = uint32(len(d.causes))
		d.causes = append(d.causes, k)
		d.causeAt[k] = i
	}
	return i
}

// depsOf returns a gap's blockers (valid until the gap changes).
func (fa *failureAgg) depsOf(k gapKey, st *gapState) []uint32 {
	if st.nd == depsElsewhere {
		return fa.moreDeps[k]
	}
	return st.deps[:st.nd]
}

// setDeps stores a gap's blockers.
func (fa *failureAgg) setDeps(k gapKey, st *gapState, deps []uint32) {
	if st.nd == depsElsewhere || len(deps) > len(st.deps) {
		st.nd = depsElsewhere
		fa.moreDeps[k] = append(fa.moreDeps[k][:0], deps...)
		return
	}
	st.nd = uint8(copy(st.deps[:], deps))
}

func newFailureAgg(ro *roller, cur []*batch, lo, hi time.Time, ecoFilter map[string]bool) *failureAgg {
	fa := &failureAgg{
		ro: ro, lo: lo, hi: hi, ecoFilter: ecoFilter,
		inWindow:   map[string]bool{},
		catN:       map[[2]uint32]int64{},
		blockN:     map[[2]uint32]int64{},
		curN:       map[curKey]int64{},
		catCount:   map[string]map[string]int64{},
		kindCount:  map[string]map[model.Kind]int64{},
		blockFail:  map[[2]string]int64{},
		ids:        newIDs(),
		blockRec:   map[blockKey]struct{}{},
		gaps:       map[gapKey]gapState{},
		moreDeps:   map[gapKey][]uint32{},
		infraBatch: map[string]map[string]int64{},
		infraTime:  map[timeKey]map[string]int64{},
		infraEco:   map[[2]string]map[string]int64{},
		inPrev:     map[string]bool{},
		prevCause:  map[prevKey]struct{}{},
		curCause:   map[causeKey]int64{},
	}
	for _, b := range cur {
		fa.inWindow[b.id] = true
	}
	return fa
}

// add counts one failure record if it belongs to the window: by its batch ID
// when the metrics know that batch, else by its time.
func (fa *failureAgg) add(f *model.Failure) {
	if len(fa.ecoFilter) > 0 && !fa.ecoFilter[f.Ecosystem] {
		return
	}
	b := fa.batchFacts(f.BatchID)
	kind := model.CategoryKind(f.Category)
	if kind == model.KindInfrastructure && !fa.infraElsewhere {
		if r := fa.roll(f.Environment); r.keep {
			if b.known {
				if b.needInfra {
					bump(fa.infraBatch, f.BatchID, r.id, 1)
					bump(fa.infraEco, [2]string{f.BatchID, f.Ecosystem}, r.id, 1)
				}
			} else {
				bump(fa.infraTime, timeKeyOf(f.Timestamp), r.id, 1)
			}
		}
	}
	if b.known {
		if b.inPrev && !fa.gapsOnly {
			if r := fa.roll(f.Environment); r.keep {
				pkg := fa.pkg(f.PackageID)
				forCauses(f, func(kind, name string) {
					k := causeKey{r.id, kind, name}
					ci := fa.ids.cause(k)
					fa.prevCause[prevKey{pkg, ci}] = struct{}{}
					cs := fa.causeSet(ci)
					cs.batches = appendNew(cs.batches, fa.batchIdx(b))
					cs.ecos = appendNew(cs.ecos, fa.eco(f.Ecosystem))
				})
			}
		}
		if !b.inWindow {
			return
		}
	} else if fa.unknown++; (!fa.lo.IsZero() && f.Timestamp.Before(fa.lo)) || (!fa.hi.IsZero() && f.Timestamp.After(fa.hi)) {
		return
	}
	r := fa.roll(f.Environment)
	if !r.keep {
		return
	}
	fa.records++
	pkg, pi := fa.pkg(f.PackageID), fa.platIdx(f.Environment, r.id)
	cat := fa.ids.name(f.Category)
	var depBuf [4]uint32
	deps := depBuf[:0]
	for _, d := range f.BlockedBy {
		// A blocker named twice counts once: the gap states intersect
		// sets, whatever order the records are merged in.
		if di := fa.ids.name(d); !slices.Contains(deps, di) {
			deps = append(deps, di)
		}
	}
	if !fa.gapsOnly {
		fa.catN[[2]uint32{uint32(pi), cat}]++
		for _, di := range deps {
			fa.blockN[[2]uint32{uint32(pi), di}]++
			fa.curN[curKey{plat: pi, dep: true, name: di}]++
			fa.blockRec[blockKey{pkg: pkg, dep: di, plat: pi}] = struct{}{}
		}
		if len(f.BlockedBy) == 0 && kind == model.KindRecipe {
			fa.curN[curKey{plat: pi, name: cat}]++
		}
	}
	k := gapKey{pkg, pi}
	st, ok := fa.gaps[k]
	if !ok && fa.gapLo != nil {
		st, ok = fa.gapFromLower(k)
	}
	if fa.touched != nil {
		if _, seen := fa.touched[k]; !seen {
			prev := gapPrev{st: st, had: ok}
			if ok {
				prev.deps = slices.Clone(fa.depsOf(k, &st))
			}
			fa.touched[k] = prev
		}
	}
	if !ok {
		st = gapState{cat: cat}
		fa.setDeps(k, &st, deps)
		fa.gaps[k] = st
		if fa.gapOrder != nil {
			fa.gapNew = append(fa.gapNew, uint64(k.pkg)<<32|uint64(k.plat))
		}
		return
	}
	if st.cat != cat {
		st.mixed = true
	}
	if st.nd != 0 {
		fa.setDeps(k, &st, intersect(fa.depsOf(k, &st), deps))
	}
	fa.gaps[k] = st
}

// batchFacts is what the aggregate needs to know of a failure's batch;
// failureAgg.batchFacts keeps the last one (records come batch by batch).
type batchFacts struct {
	id                                      string
	set, known, inWindow, inPrev, needInfra bool
	// idx is the batch's number in ids.batches (noBatchIdx until one is
	// needed: batchIdx).
	idx uint32
}

const noBatchIdx = ^uint32(0)

// batchIdx numbers batch b (the last met) in ids.batches.
func (fa *failureAgg) batchIdx(b *batchFacts) uint32 {
	if b.idx == noBatchIdx {
		b.idx = fa.ids.batches.Index(b.id)
	}
	return b.idx
}

func (fa *failureAgg) batchFacts(id string) *batchFacts {
	b := &fa.lastBatch
	if b.set && b.id == id {
		return b
	}
	*b = batchFacts{id: id, set: true, idx: noBatchIdx}
	if id != "" && fa.knownBatch(id) {
		b.known, b.inWindow, b.inPrev, b.needInfra = true, fa.inWindow[id], fa.inPrev[id], fa.needInfra[id]
	}
	return b
}

// roll rolls an environment up, remembering the last one.
func (fa *failureAgg) roll(env string) rolled {
	if !fa.lastRollSet || env != fa.lastEnv {
		fa.lastEnv, fa.lastRoll, fa.lastRollSet = env, fa.ro.roll(env), true
	}
	return fa.lastRoll
}

// platIdx numbers the rolled platform id of environment env, remembering
// the last one.
func (fa *failureAgg) platIdx(env, id string) uint32 {
	if !fa.lastPlatSet || env != fa.lastPlatEnv {
		fa.lastPlatEnv, fa.lastPlat, fa.lastPlatSet = env, fa.ids.plat(id), true
	}
	return fa.lastPlat
}

// eco numbers an ecosystem, remembering the last one.
func (fa *failureAgg) eco(name string) infer.Eco {
	if name != fa.lastEcoName { // the zero values hold: "" is Eco 0
		fa.lastEcoName, fa.lastEco = name, infer.EcoOf(name)
	}
	return fa.lastEco
}

// pkg numbers a package, remembering the last one.
func (fa *failureAgg) pkg(id string) uint32 {
	if !fa.lastPkgSet || id != fa.lastPkg {
		fa.lastPkg, fa.lastPkgIdx, fa.lastPkgSet = id, fa.ids.pkg(id), true
	}
	return fa.lastPkgIdx
}

// curKey is a cause of the window's failures by index: a blocker (dep) or
// a recipe category.
type curKey struct {
	plat uint32
	dep  bool
	name uint32
}

// settle moves the counts kept by index into the maps by name (merge and
// the report read those).
func (fa *failureAgg) settle() {
	for k, n := range fa.catN {
		p, c := fa.ids.plats[k[0]], fa.ids.names[k[1]]
		cc := fa.catCount[p]
		if cc == nil {
			cc = map[string]int64{}
			fa.catCount[p] = cc
			fa.kindCount[p] = map[model.Kind]int64{}
		}
		cc[c] += n
		fa.kindCount[p][model.CategoryKind(c)] += n
	}
	for k, n := range fa.blockN {
		fa.blockFail[[2]string{fa.ids.plats[k[0]], fa.ids.names[k[1]]}] += n
	}
	for k, n := range fa.curN {
		kind := "cat"
		if k.dep {
			kind = "dep"
		}
		fa.curCause[causeKey{fa.ids.plats[k.plat], kind, fa.ids.names[k.name]}] += n
	}
	clear(fa.catN)
	clear(fa.blockN)
	clear(fa.curN)
}

// causeKey is a cause of failures on a platform: kind "dep" and a blocker,
// or "cat" and a recipe category.
type causeKey struct{ plat, kind, name string }

// causeSets are the batches and ecosystems a cause appeared in, as lists
// (a batch's records name their causes again and again: one is added only
// when it differs from the last added, so a list may repeat one that came
// back later).
type causeSets struct {
	batches []uint32 // ids.batches
	ecos    []infer.Eco
}

// appendNew appends s to list unless it is the list's last.
func appendNew[T comparable](list []T, s T) []T {
	if n := len(list); n > 0 && list[n-1] == s {
		return list
	}
	return append(list, s)
}

// causeSet returns cause ci's sets, making them.
func (fa *failureAgg) causeSet(ci uint32) *causeSets {
	for int(ci) >= len(fa.causeSets) {
		fa.causeSets = append(fa.causeSets, causeSets{})
	}
	return &fa.causeSets[ci]
}

// causeBatches returns the batches and ecosystems cause k appeared in, as
// sets.
func (fa *failureAgg) causeBatches(k causeKey) (batches, ecos map[string]bool) {
	batches, ecos = map[string]bool{}, map[string]bool{}
	ci, ok := fa.ids.causeAt[k]
	if !ok || int(ci) >= len(fa.causeSets) {
		return
	}
	for _, b := range fa.causeSets[ci].batches {
		batches[fa.ids.batches.Name(b)] = true
	}
	for _, e := range fa.causeSets[ci].ecos {
		ecos[e.String()] = true
	}
	return
}

// forCauses calls fn with what a failure can be blamed on, for capability
// gaps closed: each blocker or, for a failure blocked by nothing, its
// category when it is the recipe's.
func forCauses(f *model.Failure, fn func(kind, name string)) {
	for _, d := range f.BlockedBy {
		fn("dep", d)
	}
	if len(f.BlockedBy) == 0 && model.CategoryKind(f.Category) == model.KindRecipe {
		fn("cat", f.Category)
	}
}

// timeKey is a time as a map key: its seconds and nanoseconds, which two
// different times never share (Unix nanoseconds wrap outside 1678-2262).
type timeKey struct {
	sec  int64
	nsec int32
}

func timeKeyOf(t time.Time) timeKey { return timeKey{t.Unix(), int32(t.Nanosecond())} }

func bump[K comparable](m map[K]map[string]int64, k K, plat string, n int64) {
	if m[k] == nil {
		m[k] = map[string]int64{}
	}
	m[k][plat] += n
}

// knownBatch reports whether a batch ID appears in the metrics.
func (fa *failureAgg) knownBatch(id string) bool {
	if fa.inWindow[id] {
		return true
	}
	return fa.known != nil && fa.known[id]
}

// intersect keeps the elements of a that are in b, in a (which it reuses).
func intersect(a, b []uint32) []uint32 {
	out := a[:0]
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func (fa *failureAgg) categories() []CategoryStat {
	out := []CategoryStat{}
	plats := make([]string, 0, len(fa.catCount))
	for p := range fa.catCount {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	for _, p := range plats {
		var total int64
		for _, n := range fa.catCount[p] {
			total += n
		}
		start := len(out)
		for c, n := range fa.catCount[p] {
			_, known := model.CanonicalCategory(c)
			out = append(out, CategoryStat{Platform: p, Category: c, Kind: string(model.CategoryKind(c)), Known: known, Count: n, Share: rate(n, total)})
		}
		rows := out[start:]
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].Count != rows[j].Count {
				return rows[i].Count > rows[j].Count
			}
			return rows[i].Category < rows[j].Category
		})
	}
	return out
}

func (fa *failureAgg) blockers(top int) []BlockerStat {
	recipes := map[[2]string]int64{}
	for k := range fa.blockRec {
		recipes[[2]string{fa.ids.plats[k.plat], fa.ids.names[k.dep]}]++
	}
	var all []BlockerStat
	for k, n := range fa.blockFail {
		all = append(all, BlockerStat{Platform: k[0], Dependency: k[1], Failures: n, Recipes: recipes[k]})
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		if a.Recipes != b.Recipes {
			return a.Recipes > b.Recipes
		}
		if a.Failures != b.Failures {
			return a.Failures > b.Failures
		}
		return a.Dependency < b.Dependency
	})
	out := []BlockerStat{}
	seen := map[string]int{}
	for _, b := range all {
		if seen[b.Platform] < top {
			out = append(out, b)
			seen[b.Platform]++
		}
	}
	return out
}

// cause is what a capability gap names: a category, or a blocking dependency.
type cause struct {
	platform string
	category string // for a dependency: the category its recipes share most
	dep      string
}

// gapCounts counts, per platform, the recipes each cause alone explains:
// a recipe counts for a cause only when every one of its failures on the
// platform has it. It also returns the failing recipes per platform.
func (fa *failureAgg) gapCounts() (map[cause]int64, map[string]int64) {
	return fa.gapTally().counts()
}

// gapPrev is a gap's state before a change: had is false for a new one.
type gapPrev struct {
	st   gapState
	deps []uint32
	had  bool
}

// retally brings t, a tally of the gaps as they were before the changes
// fa.touched holds, up to date.
func (t *gapTally) retally(fa *failureAgg) {
	for k, prev := range fa.touched {
		if prev.had {
			t.add(fa, k, prev.st, prev.deps, -1)
		}
		st := fa.gaps[k]
		t.add(fa, k, st, fa.depsOf(k, &st), 1)
	}
}

// gapTally is what gapCounts counts, before the blockers' categories are
// settled: it can be taken from every gap once and then kept up to date
// with the gaps that change (add with a sign).
type gapTally struct {
	cats    map[cause]int64 // (platform, category) of unmixed gaps
	failing map[string]int64
	depCats map[[2]string]map[string]int64 // (platform, blocker) -> category ("" mixed)
}

func (fa *failureAgg) gapTally() *gapTally {
	t := &gapTally{cats: map[cause]int64{}, failing: map[string]int64{}, depCats: map[[2]string]map[string]int64{}}
	for k, st := range fa.gaps {
		t.add(fa, k, st, fa.depsOf(k, &st), 1)
	}
	return t
}

// add counts (sign 1) or uncounts (-1) gap k of state st and blockers deps.
func (t *gapTally) add(fa *failureAgg, k gapKey, st gapState, deps []uint32, sign int64) {
	p := fa.ids.plats[k.plat]
	cat := fa.ids.names[st.cat]
	t.failing[p] += sign
	if !st.mixed {
		t.cats[cause{platform: p, category: cat}] += sign
	}
	for _, di := range deps {
		d := fa.ids.names[di]
		m := t.depCats[[2]string{p, d}]
		if m == nil {
			m = map[string]int64{}
			t.depCats[[2]string{p, d}] = m
		}
		c := cat
		if st.mixed {
			c = ""
		}
		m[c] += sign
	}
}

// counts settles each blocker's category (the one its recipes share most)
// and returns what gapCounts does.
func (t *gapTally) counts() (map[cause]int64, map[string]int64) {
	counts := make(map[cause]int64, len(t.cats)+len(t.depCats))
	for c, n := range t.cats {
		if n != 0 {
			counts[c] = n
		}
	}
	failing := make(map[string]int64, len(t.failing))
	for p, n := range t.failing {
		if n != 0 {
			failing[p] = n
		}
	}
	for k, m := range t.depCats {
		var n int64
		best, bestN := "", int64(-1)
		for c, v := range m {
			n += v
			if c != "" && v > 0 && (v > bestN || v == bestN && c < best) {
				best, bestN = c, v
			}
		}
		if n == 0 {
			continue
		}
		if best == "" {
			best = model.CatMissingDep
		}
		counts[cause{platform: k[0], category: best, dep: k[1]}] += n
	}
	return counts, failing
}
