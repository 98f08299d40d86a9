package analyze

import (
	"cmp"
	"hash/fnv"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/store"
)

// The job summary's checkpoint: what the summary of the next batch needs
// of the history so far, so that it reads only the records appended since
// (docs/STORAGE.md, "The job summary's checkpoint"). It holds, as they
// stood after the newest batch:
//
//   - every data file's span read (reader.Span) with its mark and identity,
//     to resume each file where it was left and to tell a changed one;
//   - every batch's ID and time in history order (transitions and alarms
//     name earlier batches), and a hash of every run's ID;
//   - each ecosystem's latest run that tested something (the summary's
//     "previous"), and the runs the budget reads (the last 36 days', and
//     the first with minutes);
//   - at the summary's level: the failure aggregate's per-recipe gap
//     states and each platform's incidents (the insights compared before
//     and after a batch);
//   - at the finest level: each recipe x platform's state (transitions and
//     flakiness) and the detectors' run.
//
// A summary is extended from it only when what was appended since is
// whole new batches: committed, later than every batch before, and every
// new failure and outcome record theirs, with no problem. Anything else
// (a record of an older batch, a changed file, a problem) computes the
// summary from the whole history, as without a checkpoint, and writes a
// new one when that history allows one.

// sumState is the summary's checkpoint.
type sumState struct {
	by      model.Level
	topGaps int
	files   []stateFile
	// bt holds the batches in history order (IDs and times) and the
	// FNV-1a hashes of every run's ID.
	bt batchTable
	// runs counts the batch-run records; last is the newest's time.
	runs int
	last time.Time
	// prevs is each ecosystem's latest run that tested something.
	prevs map[string]*model.BatchRun
	// budget holds the runs of the last budgetDays before the newest
	// and, when older, the first with minutes.
	budget []*batch
	fa     *failureAgg // at the summary's level, gaps only
	inc    map[string]*incidentList
	ra     *recipeAgg // at the finest level; its pairs' upper part (sumpairs.go)
	det    *detectorRun
	// pairsLo and gapsLo are the lower parts of the pairs and of the gaps
	// as the checkpoint names them, until they are read; pairsNew and
	// gapsNew are set when a lower part (ra.lo, fa.gapLo) is not stored
	// yet. tally is what the capability-gap insights count of every gap
	// (sumgaps.go).
	pairsLo, gapsLo   partRef
	pairsNew, gapsNew bool
	tally             *gapTally
}

// budgetRuns keeps of runs, none later than newest, what the budget reads
// at newest: the runs of its week and trailing days (budgetDays), and the
// first with minutes, for the forecast's span.
func budgetRuns(runs []*batch, newest time.Time) []*batch {
	cut := newest.Add(-budgetDays * 24 * time.Hour)
	var first *batch
	kept := make([]*batch, 0, len(runs))
	for _, r := range runs {
		if r.minutes != nil && (first == nil || r.ts.Before(first.ts)) {
			first = r
		}
		if !r.ts.Before(cut) {
			kept = append(kept, r)
		}
	}
	if first != nil && first.ts.Before(cut) {
		kept = append([]*batch{first}, kept...)
	}
	return kept
}

// budgetDays bounds how far back the budget reads runs: a week and the
// forecast's trailing days, with a margin.
const budgetDays = 7 + TrailingDays + 1

type stateFile struct {
	path  string
	span  reader.Span
	mark  reader.Mark
	ident string
}

// incidentList is a platform's incidents: how many, and the first three.
type incidentList struct {
	n     int
	first []string
}

func (l *incidentList) add(id string) {
	l.n++
	if len(l.first) < 3 {
		l.first = append(l.first, id)
	}
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// batchAt is history position p's batch ID and time.
func (st *sumState) batchAt(p int32) (string, time.Time) { return st.bt.at(p) }

func (st *sumState) knownRun(h uint64) bool { return st.bt.knownRun(h) }

// spanRecorder collects the spans readers report (from several
// goroutines).
type spanRecorder struct {
	mu    sync.Mutex
	spans map[string]reader.Span
	dirty bool
	// before holds each data file's identity taken before it was read
	// (store.StableIdentity): a file keeps an identity in the checkpoint
	// only when it still has that one after, so that a file replaced or
	// written to while it was read is checked by its bytes next time.
	before map[string]string
}

// identify takes the data files' identities before they are read.
func (r *spanRecorder) identify(fsys fs.FS, name string) {
	r.before = map[string]string{}
	files, _ := reader.New(fsys, name, reader.Options{MaxProblems: 1}).DataFiles()
	for _, f := range files {
		if id, ok := store.StableIdentity(fsys, f); ok {
			r.before[f] = id
		}
	}
}

func newSpanRecorder() *spanRecorder { return &spanRecorder{spans: map[string]reader.Span{}} }

func (r *spanRecorder) record(path string, end reader.Span, clean bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !clean {
		r.dirty = true
	}
	r.spans[path] = end
}

// files marks and identifies the files recorded (nil when one cannot be).
func (r *spanRecorder) files(fsys fs.FS) []stateFile {
	out := make([]stateFile, 0, len(r.spans))
	now := time.Now()
	for p, sp := range r.spans {
		m, ok := reader.PrefixMark(fsys, p, sp.End)
		if !ok {
			return nil
		}
		id, settled, ok := store.FileIdentity(fsys, p, now)
		if !ok || !settled || id != r.before[p] {
			id = ""
		}
		out = append(out, stateFile{path: p, span: sp, mark: m, ident: id})
	}
	slices.SortFunc(out, func(a, b stateFile) int { return cmp.Compare(a.path, b.path) })
	return out
}

// unchanged reports whether every file the state read still holds the
// bytes it read: the same mark, and the same identity or, when it was
// written since, the same CRC-32C (read again unless this process checked
// those bytes before appending to the file: store.KnownPrefix).
func (st *sumState) unchanged(fsys fs.FS, name string) bool {
	for _, f := range st.files {
		if intact, _ := store.PrefixIntact(fsys, name, f.path, f.span, f.mark, f.ident); !intact {
			return false
		}
	}
	return true
}

// summaryLevels are the options of the reports a summary quotes: after
// and before the batch at the summary's level, and the finest level.
func summaryLevels(o SummaryOptions) (ro, fo ReportOptions) {
	ro = o.Report
	if ro.Now.IsZero() {
		ro.Now = time.Now()
	}
	ro.Since, ro.Last = time.Time{}, 0
	fo = ro
	fo.By = model.LevelFamily
	fo.Ecosystems, fo.Platforms = nil, nil
	return ro, fo
}

// stateable reports whether the summary's options allow a checkpoint: no
// filters (the checkpoint holds the whole history).
func stateable(o SummaryOptions) bool {
	return len(o.Report.Ecosystems) == 0 && len(o.Report.Platforms) == 0
}

// exportState makes the checkpoint from a summary computed whole: the
// reports' views (after, before and finest), the runs read and the batch
// summarized, which must be the newest. It is nil when the history
// allows none: a v1 record, a problem, a failure record not committed or
// of an unknown batch, or a batch other than the newest.
func exportState(fsys fs.FS, o SummaryOptions, views []*view, sawV1 bool, uncommitted int, sr *summaryRuns, pk summaryPick, spans *spanRecorder) *sumState {
	if sawV1 || uncommitted > 0 || spans.dirty || !stateable(o) || len(views) != 3 {
		return nil
	}
	after, fine := views[0], views[2]
	for _, v := range views {
		r := v.rep
		if len(r.Problems)+r.MoreProblems+len(v.outProblems)+len(v.failProblems)+v.failDropped > 0 || v.fa == nil || v.fa.unknown > 0 {
			return nil
		}
		// An outcome record not committed may be committed later, by a
		// batch-run record appended after the checkpoint's spans.
		if v.ord != nil {
			if u, more := v.ord.Uncommitted(); len(u)+more > 0 {
				return nil
			}
		}
	}
	if pk.idx != len(sr.runs)-1 || fine.det == nil || fine.ra == nil {
		return nil
	}
	fall, rall := fine.level.all, after.level.all
	if len(fall) == 0 || len(fall) != len(rall) || fall[len(fall)-1].id != pk.b.BatchID {
		return nil
	}
	st := &sumState{by: o.Report.By, topGaps: o.Report.TopGaps, runs: len(sr.runs), last: pk.b.Timestamp,
		prevs: map[string]*model.BatchRun{}, inc: map[string]*incidentList{},
		fa: after.fa, ra: fine.ra, det: fine.det}
	for i, b := range fall {
		if rall[i].id != b.id {
			return nil
		}
		st.bt.add(b.id, b.ts)
	}
	runs := make([]*batch, 0, len(sr.runs))
	hashes := make([]uint64, 0, len(sr.runs))
	for _, r := range sr.runs {
		hashes = append(hashes, hashID(r.id))
		runs = append(runs, r.batch)
	}
	st.budget = budgetRuns(runs, st.last)
	slices.Sort(hashes)
	st.bt.runIDs = slices.Compact(hashes)
	st.bt.fold(true)
	for eco, top := range sr.ecoTop {
		if top[0].batch == nil {
			continue
		}
		b := sr.kept[top[0].order]
		if b == nil {
			return nil
		}
		st.prevs[eco] = b
	}
	for _, p := range after.rep.Platforms {
		if n := len(p.Health.Incidents); n > 0 {
			l := &incidentList{}
			for _, id := range p.Health.Incidents {
				l.add(id)
			}
			st.inc[p.Platform] = l
		}
	}
	if st.files = spans.files(fsys); st.files == nil {
		return nil
	}
	st.tally = st.fa.gapTally()
	if !st.foldPairs() || !st.foldGaps() {
		return nil
	}
	return st
}

// newRun is a batch-run record appended since the checkpoint.
type newRun struct {
	b     *model.BatchRun
	order int
}

// extend computes the summary of the newest batch from the checkpoint and
// the records appended since, and the checkpoint after it; ok is false
// when those records are not whole new batches (the caller then computes
// the summary whole). The checkpoint is consumed.
func (st *sumState) extend(fsys fs.FS, name string, o SummaryOptions) (s *Summary, ok bool, err error) {
	ro, fo := summaryLevels(o)
	if !stateable(o) || st.by != ro.By || st.topGaps != ro.TopGaps {
		return nil, false, nil
	}
	// The files' identities before their bytes are checked and read: a
	// file replaced after that keeps none in the next checkpoint.
	spans := newSpanRecorder()
	spans.identify(fsys, name)
	if !st.unchanged(fsys, name) {
		return nil, false, nil
	}
	from := make(map[string]reader.Span, len(st.files))
	for _, f := range st.files {
		from[f.path] = f.span
	}
	resume := func(p string) reader.Span { return from[p] }
	bad := false

	// The batch-run records appended: new batches, later than every
	// batch before, in history order.
	rd := reader.New(fsys, name, reader.Options{Resume: resume, Spans: spans.record, MaxProblems: 1})
	var runs []newRun
	err = rd.Metrics(func(b *model.BatchRun) {
		runs = append(runs, newRun{b: b, order: st.runs + len(runs) + 1})
	})
	if err != nil {
		return nil, false, err
	}
	if p, more := rd.Problems(); len(p)+more > 0 || len(runs) == 0 {
		return nil, false, nil
	}
	slices.SortStableFunc(runs, func(a, b newRun) int { return a.b.Timestamp.Compare(b.b.Timestamp) })
	newIDs := map[string]int{} // ID -> index in runs
	for i, r := range runs {
		h := hashID(r.b.BatchID)
		_, dup := newIDs[r.b.BatchID]
		// Later than every batch before: a run of the same time would be
		// ordered among them by where its record is read.
		if r.b.SchemaVersion != model.SchemaVersion || !r.b.Timestamp.After(st.last) || st.knownRun(h) || dup {
			return nil, false, nil
		}
		newIDs[r.b.BatchID] = i
	}
	b := runs[len(runs)-1].b
	if o.BatchID != "" && o.BatchID != b.BatchID || b.Tested() == 0 {
		return nil, false, nil
	}
	// The report before the batch ends just before its time: no other run
	// may share it.
	if len(runs) > 1 && runs[len(runs)-2].b.Timestamp.Equal(b.Timestamp) {
		return nil, false, nil
	}
	commits, err := rd.Commits()
	if err != nil {
		return nil, false, err
	}

	// The levels' batches, at history positions after the checkpoint's.
	lr, lf := newLevel(ro), newLevel(fo)
	for _, r := range runs {
		lr.add(r.b, r.order)
		lf.add(r.b, r.order)
	}
	if len(lr.all) != len(lf.all) || len(lf.all) == 0 || lf.all[len(lf.all)-1].id != b.BatchID {
		return nil, false, nil
	}
	base := st.bt.len()
	known, inWindow := map[string]bool{}, map[string]bool{}
	for id := range newIDs {
		known[id] = true
	}
	posR, posF := map[*batch]int{}, map[*batch]int{}
	for i := range lf.all {
		if lr.all[i].id != lf.all[i].id {
			return nil, false, nil
		}
		inWindow[lf.all[i].id] = true
		posR[lr.all[i]], posF[lf.all[i]] = base+i, base+i
	}
	needR, needF := map[string]bool{}, map[string]bool{}
	for i := range lf.all {
		if !lr.all[i].infraKnown() {
			needR[lr.all[i].id] = true
		}
		if !lf.all[i].infraKnown() {
			needF[lf.all[i].id] = true
		}
	}
	fa := st.fa
	fa.ro = newRoller(ro.By, nil)
	fa.known, fa.inWindow, fa.needInfra, fa.lo, fa.hi = known, inWindow, needR, time.Time{}, time.Time{}
	fa.lastBatch, fa.lastRollSet, fa.lastPkgSet, fa.lastPlatSet = batchFacts{}, false, false, false
	fa.touched = map[gapKey]gapPrev{}
	ff := newFailureAgg(newRoller(fo.By, nil), lf.all, time.Time{}, time.Time{}, nil)
	ff.known, ff.needInfra, ff.gapsOnly = known, needF, true

	// The failure records appended: every one a new batch's; the batch's
	// own are added to the aggregate once the insights before it are.
	prev := st.prevs[b.Ecosystem]
	for _, r := range runs[:len(runs)-1] {
		if r.b.Ecosystem == b.Ecosystem && r.b.Tested() > 0 {
			prev = r.b
		}
	}
	s = newSummary(b, prev)
	sf := newSummaryFails(s, o.MaxExcerpt)
	var mine []*model.Failure
	frd := reader.New(fsys, name, reader.Options{Resume: resume, Spans: spans.record, MaxProblems: 1, Commits: commits,
		OnUncommitted: func(*model.Failure) { bad = true }})
	err = frd.Failures(func(f *model.Failure) {
		if _, ok := newIDs[f.BatchID]; !ok {
			bad = true
			return
		}
		ff.add(f)
		if f.BatchID == b.BatchID {
			sf.add(f)
			mine = append(mine, f)
			return
		}
		fa.add(f)
	})
	if err != nil {
		return nil, false, err
	}
	if p, more := frd.Problems(); bad || len(p)+more > 0 || ff.unknown > 0 {
		return nil, false, nil
	}
	sf.done()

	// The outcome records appended: one per new batch at most, adding up
	// to its counts.
	ra := st.ra
	ra.start, ra.end, ra.segs, ra.stillOf = 0, base+len(lf.all)-1, map[uint32]flakySeg{}, map[uint32]int32{}
	ra.atEnd, ra.ring, ra.stills, ra.ringAt, ra.counts = nil, nil, nil, 0, nil
	entries := map[int][]ocEntry{}
	var dec outcomeDecoder
	ord := reader.New(fsys, name, reader.Options{Resume: resume, Spans: spans.record, MaxProblems: 1, Commits: commits,
		OnUncommittedOutcomes: func(*model.Outcomes) { bad = true }})
	posOf := map[string]int{}
	for i, fb := range lf.all {
		posOf[fb.id] = i
	}
	err = ord.Outcomes(func(oc *model.Outcomes) {
		i, ok := posOf[oc.BatchID]
		if _, seen := entries[i]; !ok || seen || oc.CountsSum() != model.CountsSum(runs[newIDs[oc.BatchID]].b.Platforms) {
			bad = true
			return
		}
		es, _ := dec.decode(ra, lf.ro, nil, oc)
		entries[i] = slices.Clone(es)
		lf.all[i].outcomes = true
	})
	if err != nil {
		return nil, false, err
	}
	if p, more := ord.Problems(); bad || len(p)+more > 0 || spans.dirty || ra.lowerBad() || fa.lowerBad() {
		return nil, false, nil
	}

	// The batches in order: the budget's runs, each ecosystem's latest,
	// the incidents, the recipes' states and the detectors; the insights
	// as they stood before the newest batch, then after it.
	var before *Report
	var tally *gapTally
	lvl := 0
	for ri, r := range runs {
		if ri == len(runs)-1 {
			// The gaps' tally followed through the failures of the
			// batches before, then through the batch's own.
			tally = st.tally
			tally.retally(fa)
			before = st.insights(ro, tally)
			fa.touched = map[gapKey]gapPrev{}
			for _, f := range mine {
				fa.add(f)
			}
			// The batch's own gaps were looked up in the lower part
			// only now.
			if fa.lowerBad() {
				return nil, false, nil
			}
			tally.retally(fa)
			fa.touched = nil
		}
		st.bt.addRuns(hashID(r.b.BatchID))
		st.budget = append(st.budget, budgetBatch(r.b))
		if r.b.Tested() > 0 {
			st.prevs[r.b.Ecosystem] = r.b
		}
		if lvl >= len(lf.all) || lf.all[lvl].id != r.b.BatchID {
			continue // tested nothing
		}
		p := base + lvl
		rb, fb := lr.all[lvl], lf.all[lvl]
		es := entries[lvl]
		lvl++
		st.bt.add(fb.id, fb.ts)
		// Flaky results leave the detector's evidence from their pair's
		// first retried pass on (excludeFlaky, flakySince).
		for _, e := range es {
			if e.kind != ocInfra && (ra.states.flags(int(e.pair))&retriedPair != 0 || e.kind == ocRetried) {
				ra.tallyFlaky(fb, e, false, true)
			}
		}
		ra.step(nil, p, es)
		ser := platSeries([]*batch{fb}, ff, posF, flakySince, seriesEco|seriesYield)
		detectorInputsFrom(ser, p, p+1, st.det.add)
		for id, s := range platSeries([]*batch{rb}, fa, posR, flakyKept, 0) {
			for _, x := range s.incidents {
				l := st.inc[id]
				if l == nil {
					l = &incidentList{}
					st.inc[id] = l
				}
				l.add(x)
			}
		}
	}
	st.bt.fold(false)
	st.runs += len(runs)
	st.last = b.Timestamp
	st.budget = budgetRuns(st.budget, b.Timestamp)
	after := st.insights(ro, tally)
	s.complete(o, st.budget, before, after, st.alarmsAt(b, base+len(lf.all)-1), 0, lf.all[len(lf.all)-1].outcomes, st.transitionsAt())
	st.files = nil
	for p, sp := range from {
		if _, ok := spans.spans[p]; !ok {
			spans.spans[p] = sp
		}
	}
	st.files = spans.files(fsys) // nil: no checkpoint to keep
	st.tally = tally
	// A lower part that cannot be read whole to be folded is damaged where
	// no lookup reached: the summary is computed whole, and the checkpoint
	// with it (kept, the part would be read again at every record).
	if !st.foldPairs() || !st.foldGaps() {
		return nil, false, nil
	}
	return s, true, nil
}

// insights are the capability gaps (of tally, st.fa's gaps counted) and
// incidents as the summary's reports state them (finishInsights):
// incidents by platform, then gaps.
func (st *sumState) insights(ro ReportOptions, tally *gapTally) *Report {
	rep := &Report{Insights: []Insight{}}
	for _, p := range slices.Sorted(maps.Keys(st.inc)) {
		l := st.inc[p]
		rep.Insights = append(rep.Insights, incidentInsight(p, l.n, l.first))
	}
	counts, failing := tally.counts()
	capabilityGapsFrom(rep, counts, failing, ro)
	noNilBlockers(rep)
	return rep
}

// alarmsAt states the detectors' alarms raised at position p, batch b.
func (st *sumState) alarmsAt(b *model.BatchRun, p int) []Insight {
	rep := &Report{}
	ids := slices.Clone(st.det.ids)
	sort.Strings(ids)
	for _, id := range ids {
		pr := st.det.plats[st.det.idx[id]]
		d := &DetectorState{Threshold: infer.DetectH, ICC: round3(pr.det.State().ICC), Alarms: []DetectorAlarm{}}
		for _, a := range pr.alarms {
			if a.to != p {
				continue
			}
			at, atTime := st.batchAt(int32(a.to))
			start, startAt := st.batchAt(int32(a.from))
			d.Alarms = append(d.Alarms, DetectorAlarm{At: at, AtTime: atTime, Start: start, StartAt: startAt,
				Stat: round3(a.Stat), Expected: a.Before, Observed: a.After, Batches: a.Batches, Tests: a.Tests,
				PopulationChanged: a.popChanged, Reason: a.reason})
		}
		if len(d.Alarms) > 0 {
			rep.Platforms = append(rep.Platforms, PlatformStat{Platform: id, Detector: d})
		}
	}
	return detectorInsights(rep, b)
}

// transitionsAt lists the transitions of the last batch stepped.
func (st *sumState) transitionsAt() []Transition {
	ra := st.ra
	var out []Transition
	for _, tr := range ra.atEnd {
		out = append(out, ra.transition(tr, st.batchAt))
	}
	for _, tr := range ra.stills {
		if int(tr.pos) == ra.end {
			out = append(out, ra.transition(tr, st.batchAt))
		}
	}
	ra.atEnd, ra.stills, ra.ring = nil, nil, nil
	clear(ra.stillOf)
	return out
}

// SummaryParts is a job summary's checkpoint as stored: Main, written at
// every summary, and Lower, the lower part of its batch table, stored
// apart (batchTable). A checkpoint returned has Lower nil when the stored
// one is still its lower part.
//
// The lower parts of the recipe x platform states (Pairs) and of the gap
// states (Gaps) run to hundreds of megabytes in a registry's history, of
// which a summary reads a few hundred kilobytes: when PairsAt or GapsAt is
// set, the part is read from there, in place, rather than from the bytes.
// A checkpoint returned has them in Pairs and Gaps (nil when the stored
// one is still its part).
type SummaryParts struct {
	Main, Lower, Pairs, Gaps []byte
	PairsAt, GapsAt          Part
}

// over is the checkpoint stored once p is written over prev.
func (p SummaryParts) over(prev SummaryParts) SummaryParts {
	if p.Main != nil && p.Lower == nil {
		p.Lower = prev.Lower
	}
	if p.Main != nil && p.Pairs == nil {
		p.Pairs = prev.Pairs
	}
	if p.Main != nil && p.Gaps == nil {
		p.Gaps = prev.Gaps
	}
	return p
}

// BuildSummaryFrom is BuildSummary extended from a checkpoint (none: nil
// parts) where the data allow (extended then says so), and the checkpoint
// after it (nil parts when the data allow none). The summary is the same,
// with or without one.
func BuildSummaryFrom(fsys fs.FS, name string, o SummaryOptions, checkpoint SummaryParts) (s *Summary, next SummaryParts, extended bool, err error) {
	return BuildSummaryFromCheckpoint(fsys, name, o, DecodeSummaryCheckpoint(checkpoint))
}

// SummaryCheckpoint is a job summary's checkpoint, decoded: a caller may
// decode it (DecodeSummaryCheckpoint) while it does other work, and then
// extend it once (BuildSummaryFromCheckpoint).
type SummaryCheckpoint struct {
	st *sumState
}

// DecodeSummaryCheckpoint decodes a checkpoint; it returns nil for none
// (no bytes, damaged, or not one this program writes, or a lower part not
// the one its main part names). Nothing in it is trusted yet:
// BuildSummaryFromCheckpoint checks it against the data.
func DecodeSummaryCheckpoint(p SummaryParts) *SummaryCheckpoint {
	if p.Main == nil {
		return nil
	}
	st := &sumState{}
	if st.UnmarshalBinary(p.Main) != nil {
		return nil
	}
	if bt := &st.bt; bt.loN > 0 {
		lo, token, ok := parseLowerBatches(p.Lower)
		if !ok || token != bt.loToken || lo.n != bt.loN || lo.runs != bt.loRuns {
			return nil
		}
		// The run hashes are a set: none in both parts.
		for _, h := range bt.runIDs {
			if lo.knownRun(h) {
				return nil
			}
		}
		bt.lo = lo
	} else if bt.loRuns != 0 {
		return nil
	}
	if st.pairsLo.n > 0 {
		lo, ok := parseLowerPairs(viewOf(p.PairsAt, p.Pairs))
		if !ok || lo.ref() != st.pairsLo {
			return nil
		}
		st.ra.attachLower(lo, st.bt.len())
	}
	if st.gapsLo.n > 0 {
		lo, ok := parseLowerGaps(viewOf(p.GapsAt, p.Gaps))
		if !ok || lo.ref() != st.gapsLo {
			return nil
		}
		st.fa.gapLo = lo
	}
	return &SummaryCheckpoint{st: st}
}

// BuildSummaryFromCheckpoint is BuildSummaryFrom from a decoded checkpoint
// (nil: none), which it uses up: it is not to be used again.
func BuildSummaryFromCheckpoint(fsys fs.FS, name string, o SummaryOptions, cp *SummaryCheckpoint) (s *Summary, next SummaryParts, extended bool, err error) {
	if err := o.Validate(); err != nil {
		return nil, SummaryParts{}, false, err
	}
	if cp != nil && cp.st != nil {
		st := cp.st
		cp.st = nil
		s, ok, err := st.extend(fsys, name, o)
		if err != nil {
			return nil, SummaryParts{}, false, err
		}
		if ok {
			return s, st.marshal(), true, nil
		}
	}
	var st *sumState
	if s, err = buildSummary(fsys, name, o, &st); err != nil {
		return nil, SummaryParts{}, false, err
	}
	return s, st.marshal(), false, nil
}

// marshal is the checkpoint's parts, nil for none.
func (st *sumState) marshal() SummaryParts {
	if st == nil || st.files == nil {
		return SummaryParts{}
	}
	b, err := st.MarshalBinary()
	if err != nil {
		return SummaryParts{}
	}
	p := SummaryParts{Main: b}
	if st.bt.loNew {
		p.Lower = st.bt.lo.raw
	}
	if st.pairsNew {
		p.Pairs = st.ra.lo.v.mem
	}
	if st.gapsNew {
		p.Gaps = st.fa.gapLo.v.mem
	}
	return p
}
