package analyze

import (
	"fmt"
	"io/fs"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/stats"
)

// The report is computed in steps:
//
//  1. Read every batch-run record; roll its platform keys up to the level
//     asked (keys coarser than that stay as they are) and apply the
//     ecosystem and platform filters. A run that tested nothing is not a batch.
//  2. Order the batches by time and cut the window (--since, --until,
//     --last) and the previous window the trend compares with.
//  3. Sum the window's counts per platform and per ecosystem x platform,
//     and collect durations and sparkline buckets.
//  4. Stream the failure records; keep those of the window (by batch ID
//     where they have one, else by time) and count categories, blockers and
//     each recipe's causes per platform.
//  5. Compute the macOS budget over every run of the current week.
//  6. Derive the insights, each with its evidence.

// batch is one run reduced to what the report needs.
type batch struct {
	id        string
	ts        time.Time
	ecosystem string
	plats     packedPlats // rolled up and filtered
	byEco     map[string]packedPlats
	minutes   *float64 // macOS minutes, when known
	usesMac   bool
	v1        bool
	order     int
	// outcomes is true when the batch's outcome record was read; flaky
	// holds the tests and passes of flaky recipes to leave out of the
	// regression evidence, per platform and per ecosystem "\x00" platform.
	outcomes bool
	flaky    map[string]flakyTally
}

// infraKnown reports whether the batch's record counts its infrastructure
// failures for every platform, in total and per ecosystem.
func (b *batch) infraKnown() bool {
	for pc := range b.plats.all() {
		if !pc.infraKnown {
			return false
		}
	}
	for _, pcs := range b.byEco {
		for pc := range pcs.all() {
			if !pc.infraKnown {
				return false
			}
		}
	}
	return true
}

type platCount struct {
	id      string
	c       counts
	seconds float64
	// infra counts the failed tests that were the infrastructure's.
	infra int64
	// gates are the platforms (rolled up) the record shows gating this
	// one in the batch.
	gates []string
	timed bool
	// infraKnown is false until the record or the failure records say.
	infraKnown bool
	// gateless is true when it had skips no gate explains.
	gateless bool
}

// counts is a platform's test counts in one batch (model.Counts without
// what the report keeps elsewhere), kept for every batch of the history.
type counts struct {
	Tested, Passed, Failed, Skipped int64
	SkippedKnown                    bool
}

type platInfo struct {
	level   model.Level
	coarser bool
}

// roller rolls platform IDs up to a level, with a cache.
type roller struct {
	by        model.Level
	filters   []model.Env
	filterRaw []string
	cache     map[string]rolled
}

type rolled struct {
	id    string
	level model.Level
	keep  bool
}

func newRoller(by model.Level, filters []string) *roller {
	r := &roller{by: by, cache: map[string]rolled{}}
	for _, f := range filters {
		r.filters = append(r.filters, model.ParseEnv(f))
		r.filterRaw = append(r.filterRaw, f)
	}
	return r
}

func (r *roller) roll(id string) rolled {
	if v, ok := r.cache[id]; ok {
		return v
	}
	e := model.ParseEnv(id)
	rid, lvl := e.At(r.by)
	v := rolled{id: rid, level: lvl, keep: len(r.filters) == 0}
	for i := range r.filters {
		if r.filterKeeps(i, id, e) {
			v.keep = true
		}
	}
	r.cache[id] = v
	return v
}

// filterKeeps reports whether the platform filter i keeps the platform id
// (e is its parse).
func (r *roller) filterKeeps(i int, id string, e model.Env) bool {
	f := r.filters[i]
	if !f.Known() || !e.Known() {
		return id == r.filterRaw[i]
	}
	got, l := e.At(f.Level)
	return got == f.ID && (l == f.Level || e.Level <= f.Level)
}

// FilterError is a report whose --ecosystem or --platform names nothing
// in the data.
type FilterError struct {
	// Flag is "ecosystem" or "platform"; Names are the values that match
	// nothing, Known what the data has (for platforms, under the
	// ecosystems selected).
	Flag         string
	Names, Known []string
	// For names what the filter belongs to when it is not a flag (an
	// SLO of the configuration).
	For string
}

func (e *FilterError) Error() string {
	what := "ecosystems"
	if e.Flag == "platform" {
		what = "platforms"
	}
	names := make([]string, len(e.Names))
	for i, n := range e.Names {
		names[i] = strconv.Quote(n)
	}
	known := "none"
	if len(e.Known) > 0 {
		const most = 24
		k := e.Known
		more := ""
		if len(k) > most {
			more = fmt.Sprintf(" and %d more", len(k)-most)
			k = k[:most]
		}
		known = strings.Join(k, ", ") + more
	}
	if e.For != "" {
		return fmt.Sprintf("%s: %s %s matches nothing in the data; its %s: %s", e.For, e.Flag, strings.Join(names, ", "), what, known)
	}
	return fmt.Sprintf("--%s %s matches nothing in the data; its %s: %s", e.Flag, strings.Join(names, ", "), what, known)
}

// The notes about problems and uncommitted records (see Comparable).
const (
	noteProblems    = "The reader met"
	noteUncommitted = "belong to no committed batch"
)

// excludeFlaky keeps flaky recipes' results out of the regression
// evidence; tests turn it off to show what they would do there.
var excludeFlaky = true

// BuildReport reads a data directory and computes the report.
func BuildReport(fsys fs.FS, name string, o ReportOptions) (*Report, error) {
	rep, _, err := buildReport(fsys, name, o)
	return rep, err
}

// buildReport is BuildReport; it also returns every run's macOS minutes,
// from which the budget is computed for any clock (BuildReportRuns).
func buildReport(fsys fs.FS, name string, o ReportOptions) (*Report, []*batch, error) {
	reps, runs, err := buildReports(fsys, name, []ReportOptions{o})
	if err != nil {
		return nil, nil, err
	}
	return reps[0], runs, nil
}

// buildReports computes several reports of the same data in one reading of
// it. Reports at the same level with the same filters that leave the
// outcome records unread share the history's batches (a level): their
// options may differ only in the window (Last, Since, Until), the clock
// (Now) and skipFailures. A report that reads the outcome records has a
// level of its own (reading them marks the batches); two such reports at
// the same level cannot be read together. The batch-run and failure
// records are read once for all of them, each report keeping its own
// aggregates; the outcome records once per report that reads them. Each
// report is the one buildReport computes alone; they are finished in
// parallel.
func buildReports(fsys fs.FS, name string, opts []ReportOptions) ([]*Report, []*batch, error) {
	return buildReportsWith(fsys, name, opts, nil)
}

// reportHooks let the caller of buildReportsWith follow the batch-run
// records as they are read, and set the reports' windows from them (the
// job summary, whose windows end at the batch it describes).
type reportHooks struct {
	// run sees each batch-run record, in reading order; the record is
	// valid only during the call (reader.Options.Reuse).
	run func(*model.BatchRun)
	// plan sets, once the batch-run records are read, each report's
	// window and clock (Last, Since, Until, Now) and nothing else.
	plan func(opts []ReportOptions) error
	// commits is set to the batches' commits (reader.Reader.Commits).
	commits *reader.Commits
	// spans, when set, receives each data file's span read
	// (reader.Options.Spans), from several goroutines.
	spans func(path string, end reader.Span, clean bool)
	// done, when set, sees the views once the reports are finished,
	// before their per-batch outcomes are let go; with whether a v1
	// record was read and how many failure records were not committed.
	done func(views []*view, sawV1 bool, uncommitted int)
}

// buildReportsWith is buildReports with hooks (nil: none).
func buildReportsWith(fsys fs.FS, name string, opts []ReportOptions, h *reportHooks) ([]*Report, []*batch, error) {
	var levels []*level
	levelOf := make([]*level, len(opts))
	opts = slices.Clone(opts)
	for i, o := range opts {
		if o.insightsOnly || o.ratesOnly {
			opts[i].skipOutcomes = true
			o.skipOutcomes = true
		}
		if err := o.Validate(); err != nil {
			return nil, nil, err
		}
		for _, l := range levels {
			if o.By == l.o.By && slices.Equal(o.Ecosystems, l.o.Ecosystems) && slices.Equal(o.Platforms, l.o.Platforms) && o.skipOutcomes == l.o.skipOutcomes {
				levelOf[i] = l
			}
		}
		if levelOf[i] == nil {
			levelOf[i] = newLevel(o)
			levels = append(levels, levelOf[i])
		}
		levelOf[i].views++
	}
	for i, o := range opts {
		if !o.skipOutcomes && levelOf[i].views > 1 {
			return nil, nil, fmt.Errorf("two reports that read the outcome records at the same level cannot be read together")
		}
	}
	var spans func(string, reader.Span, bool)
	if h != nil {
		spans = h.spans
	}
	rd := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true, Spans: spans})
	var budgetRuns []*batch // every run, unfiltered, for the budget
	sawV1 := false
	order := 0
	knownIDs := map[string]bool{}
	sums := map[string]uint64{}
	err := rd.Metrics(func(b *model.BatchRun) {
		order++
		knownIDs[b.BatchID] = true
		if b.SchemaVersion == model.SchemaVersion {
			sums[b.BatchID] = model.CountsSum(b.Platforms)
		}
		if b.SchemaVersion < 2 {
			sawV1 = true
		}
		budgetRuns = append(budgetRuns, budgetBatch(b))
		for _, l := range levels {
			l.add(b, order)
		}
		if h != nil && h.run != nil {
			h.run(b)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	metricsProblems, metricsDropped := rd.Problems()
	nMetricsProblems := len(metricsProblems) + metricsDropped
	commits, err := rd.Commits()
	if err != nil {
		return nil, nil, err
	}
	for _, l := range levels {
		if err := l.filterError(); err != nil {
			return nil, nil, err
		}
		l.settle()
	}
	if h != nil {
		h.commits = commits
		if h.plan != nil {
			planned := slices.Clone(opts)
			if err := h.plan(planned); err != nil {
				return nil, nil, err
			}
			for i, p := range planned {
				was := opts[i]
				was.Last, was.Since, was.Until, was.Now = p.Last, p.Since, p.Until, p.Now
				if !reflect.DeepEqual(was, p) {
					return nil, nil, fmt.Errorf("report %d: the plan changed more than the window", i)
				}
				if err := p.Validate(); err != nil {
					return nil, nil, err
				}
			}
			opts = planned
		}
	}
	views := make([]*view, len(opts))
	for i, o := range opts {
		views[i] = newView(o, name, levelOf[i])
	}
	// The per-batch outcomes are let go when a report is finished, or
	// here when none is.
	defer func() {
		for _, v := range views {
			if v.ra != nil {
				v.ra.release()
			}
		}
	}()

	// Recipe histories (outcome records), read while the failures are:
	// neither needs the other, and the outcome records are one file. Each
	// report that reads them has a reader of its own, for its problems.
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		for _, v := range views {
			if v.o.skipOutcomes {
				v.ra = newRecipeAgg(v.start, v.end)
				continue
			}
			l := v.level
			v.ord = reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true, Commits: commits, Spans: spans})
			v.ra, v.outProblems, v.outErr = readOutcomes(v.ord, fsys, name, l.ro, l.ecoFilter, l.all, sums, v.start, v.end, !v.o.detectorOnly)
			if v.outErr != nil {
				return
			}
		}
	}()
	// 4. Failures, read once for every report that needs them.
	var (
		specs                    []failSpec
		readers                  []*view
		failProblems             []reader.Problem
		failDropped, uncommitted int
	)
	for _, v := range views {
		l := v.level
		v.rep.failuresRead = !v.o.skipFailures || len(l.needInfra) > 0
		if v.rep.failuresRead {
			specs = append(specs, failSpec{o: v.o, cur: v.cur, prev: v.prev, lo: v.failLo, hi: v.failHi, ecoFilter: l.ecoFilter, needInfra: l.needInfra, base: -1})
			readers = append(readers, v)
			continue
		}
		// Every batch's record counts its infrastructure failures: the
		// inference needs nothing from the failure records.
		v.fa = newFailureAgg(newRoller(v.o.By, v.o.Platforms), v.cur, v.failLo, v.failHi, l.ecoFilter)
		v.fa.known, v.fa.needInfra = knownIDs, l.needInfra
		v.fa.settle()
	}
	if len(specs) > 0 {
		if failExtensions {
			extensions(specs)
		}
		var fas []*failureAgg
		fas, failProblems, failDropped, uncommitted, err = readFailures(fsys, name, commits, specs, knownIDs, spans)
		for i, v := range readers {
			if err == nil {
				v.fa = fas[i]
			}
		}
	}
	<-outDone
	if err != nil {
		return nil, nil, err
	}
	for _, v := range views {
		if v.outErr != nil {
			return nil, nil, v.outErr
		}
	}
	reps := make([]*Report, len(views))
	var wg sync.WaitGroup
	for i, v := range views {
		if v.rep.failuresRead {
			v.failProblems, v.failDropped, v.uncommitted = failProblems, failDropped, uncommitted
		}
		// The problems of the batch-run files, then of the outcome files
		// when the report read them, as one reader reading both has them.
		probs := reader.New(fsys, name, reader.Options{})
		probs.Join(rd)
		if v.ord != nil {
			probs.Join(v.ord)
		}
		reps[i] = v.rep
		wg.Go(func() { v.finish(probs, budgetRuns, sawV1, nMetricsProblems) })
	}
	wg.Wait()
	for _, v := range views {
		if err := v.ra.failed(); err != nil {
			return nil, nil, err
		}
	}
	if h != nil && h.done != nil {
		h.done(views, sawV1, uncommitted)
	}
	return reps, budgetRuns, nil
}

// noteOf is note(n), or "" for none.
func noteOf(n int, note func(int) string) string {
	if n == 0 {
		return ""
	}
	return note(n)
}

// failExtensions lets a report's failure aggregate be another's extended
// by the records of its window that the other leaves out (the job
// summary's after the batch, from before it); tests turn it off to check
// it changes nothing.
var failExtensions = true

// level is the history's batches at one roll-up level with one set of
// filters, shared by the reports of buildReports that have them.
type level struct {
	o          ReportOptions // By, Ecosystems and Platforms
	views      int
	table      *platTable
	ro         *roller
	ecoFilter  map[string]bool
	platLevels map[string]platInfo
	all        []*batch // every run that tested something (after filters)
	// emptyByTime are the times of the runs that tested nothing at all.
	emptyByTime []time.Time
	// needInfra holds the batches whose record does not count their
	// infrastructure failures; pos each batch's position in all.
	needInfra map[string]bool
	pos       map[*batch]int
	// scratch and scratchEco are add's rolled counts, reused from run to
	// run (packPlats keeps a copy).
	scratch, scratchEco []platCount
	// With filters: the ecosystems and the platforms (under the
	// ecosystem filter) the data has, and which platform filters matched.
	seenEcos, seenPlats map[string]bool
	platMatched         []bool
}

// filterError is the error for filters that match nothing, once every
// run is read; nil when each matches something.
func (l *level) filterError() error {
	var names []string
	for _, e := range l.o.Ecosystems {
		if !l.seenEcos[e] && !slices.Contains(names, e) {
			names = append(names, e)
		}
	}
	if len(names) > 0 {
		return &FilterError{Flag: "ecosystem", Names: names, Known: slices.Sorted(maps.Keys(l.seenEcos))}
	}
	for i, ok := range l.platMatched {
		if !ok && !slices.Contains(names, l.o.Platforms[i]) {
			names = append(names, l.o.Platforms[i])
		}
	}
	if len(names) > 0 {
		return &FilterError{Flag: "platform", Names: names, Known: slices.Sorted(maps.Keys(l.seenPlats))}
	}
	return nil
}

// see notes what a run has, for filterError.
func (l *level) see(b *model.BatchRun, src map[string]model.Counts) {
	if len(l.o.Ecosystems) > 0 {
		if b.ByEcosystem == nil {
			l.seenEcos[b.Ecosystem] = true
		}
		for e := range b.ByEcosystem {
			l.seenEcos[e] = true
		}
	}
	if len(l.o.Platforms) == 0 {
		return
	}
	for id := range src {
		if l.seenPlats[id] {
			continue
		}
		l.seenPlats[id] = true
		e := model.ParseEnv(id)
		for i := range l.platMatched {
			if !l.platMatched[i] && l.ro.filterKeeps(i, id, e) {
				l.platMatched[i] = true
			}
		}
	}
}

func newLevel(o ReportOptions) *level {
	l := &level{o: o, table: newPlatTable(), ro: newRoller(o.By, o.Platforms), ecoFilter: map[string]bool{}, platLevels: map[string]platInfo{}, emptyByTime: []time.Time{}}
	for _, e := range o.Ecosystems {
		l.ecoFilter[e] = true
	}
	l.seenEcos, l.seenPlats = map[string]bool{}, map[string]bool{}
	l.platMatched = make([]bool, len(o.Platforms))
	return l
}

// add takes one run at the level (step 1).
func (l *level) add(b *model.BatchRun, order int) {
	ro, ecoFilter, o := l.ro, l.ecoFilter, l.o
	nb := &batch{id: b.BatchID, ts: b.Timestamp, ecosystem: b.Ecosystem, v1: b.SchemaVersion < 2, order: order}
	var src map[string]model.Counts
	switch {
	case len(ecoFilter) == 0:
		src = b.Platforms
	case b.ByEcosystem != nil:
		src = map[string]model.Counts{}
		for eco, m := range b.ByEcosystem {
			if !ecoFilter[eco] {
				continue
			}
			for id, c := range m {
				s := src[id]
				s.Tested += c.Tested
				s.Passed += c.Passed
				s.Failed += c.Failed
				s.Skipped += c.Skipped
				s.SkippedKnown = c.SkippedKnown
				src[id] = s
			}
		}
	case ecoFilter[b.Ecosystem]:
		src = b.Platforms
	}
	if len(o.Ecosystems)+len(o.Platforms) > 0 {
		l.see(b, src)
	}
	plats := rollCounts(l.scratch[:0], ro, src, b.Platforms, b.JobSeconds, l.platLevels, o.By)
	l.scratch = plats
	nb.plats = packPlats(l.table, plats)
	if b.ByEcosystem != nil {
		nb.byEco = map[string]packedPlats{}
		for eco, m := range b.ByEcosystem {
			if len(ecoFilter) > 0 && !ecoFilter[eco] {
				continue
			}
			l.scratchEco = rollCounts(l.scratchEco[:0], ro, m, nil, nil, l.platLevels, o.By)
			nb.byEco[eco] = packPlats(l.table, l.scratchEco)
		}
	}
	var tested int64
	for _, p := range plats {
		tested += p.c.Tested
	}
	if tested == 0 {
		// Only a run that tested nothing at all is an empty run; one
		// that the filters emptied is simply not selected.
		if b.Tested() == 0 {
			l.emptyByTime = append(l.emptyByTime, b.Timestamp)
		}
		return
	}
	l.all = append(l.all, nb)
}

// settle orders the batches by time (step 2) once every run is read.
func (l *level) settle() {
	all := l.all
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].ts.Equal(all[j].ts) {
			return all[i].ts.Before(all[j].ts)
		}
		return all[i].order < all[j].order
	})
	l.needInfra = map[string]bool{}
	l.pos = make(map[*batch]int, len(all))
	for i, b := range all {
		if !b.infraKnown() {
			l.needInfra[b.id] = true
		}
		l.pos[b] = i
	}
}

// view is one report of buildReports: its window, the window's sums and
// its aggregates of the failure and outcome records.
type view struct {
	o                   ReportOptions
	level               *level
	rep                 *Report
	cur, trendCur, prev []*batch
	failLo, failHi      time.Time
	// start and end are the window's first and last positions in the
	// history (len and -1 when it is empty).
	start, end int
	plats      map[string]*PlatformStat
	platOrder  []string
	cells      map[cellKey]*MatrixCell
	durs       map[string]*durAcc
	buckets    int

	ra *recipeAgg
	// ord reads the outcome records, when the report reads them.
	ord          *reader.Reader
	outProblems  []reader.Problem
	outErr       error
	fa           *failureAgg
	det          *detectorRun // the detectors' run, after finishDetector
	failProblems []reader.Problem
	failDropped  int
	uncommitted  int
}

// newView cuts a report's window and sums its counts (steps 2 and 3).
func newView(o ReportOptions, name string, l *level) *view {
	all, emptyByTime, platLevels := l.all, l.emptyByTime, l.platLevels
	v := &view{o: o, level: l, plats: map[string]*PlatformStat{}, cells: map[cellKey]*MatrixCell{}, durs: map[string]*durAcc{}}
	v.rep = &Report{
		ReportVersion: ReportVersion,
		GeneratedAt:   o.Now,
		Data:          name,
		By:            o.By.String(),
	}
	rep := v.rep
	v.cur, v.trendCur, v.prev, v.failLo, v.failHi = cutWindow(all, o, &rep.Window)
	cur := v.cur
	rep.Batches = len(cur)
	for _, t := range emptyByTime {
		if inSpan(t, cur, o) {
			rep.EmptyRuns++
		}
	}
	v.start, v.end = len(all), -1
	if len(cur) > 0 {
		v.start, v.end = indexOf(all, cur[0]), indexOf(all, cur[len(cur)-1])
	}

	// 3. Window sums.
	stat := func(id string) *PlatformStat {
		p := v.plats[id]
		if p == nil {
			info := platLevels[id]
			p = &PlatformStat{Platform: id, Level: info.level.String(), Coarser: info.coarser}
			v.plats[id] = p
			v.platOrder = append(v.platOrder, id)
		}
		return p
	}
	v.buckets = o.SparkBuckets
	if len(cur) < v.buckets {
		v.buckets = len(cur)
	}
	for _, b := range cur {
		for pc := range b.plats.all() {
			p := stat(pc.id)
			if pc.c.Tested > 0 || pc.c.Skipped > 0 {
				p.Batches++
			}
			p.Tested += pc.c.Tested
			p.Passed += pc.c.Passed
			p.Failed += pc.c.Failed
			p.Skipped += pc.c.Skipped
			if !pc.c.SkippedKnown {
				p.SkippedPartial = true
			}
			if pc.timed && pc.c.Tested > 0 {
				d := v.durs[pc.id]
				if d == nil {
					d = &durAcc{}
					v.durs[pc.id] = d
				}
				d.batch = append(d.batch, pc.seconds)
				d.perRecipe = append(d.perRecipe, pc.seconds/float64(pc.c.Tested))
			}
		}
		if b.byEco != nil {
			for eco, pcs := range b.byEco {
				for pc := range pcs.all() {
					addCell(v.cells, cellKey{eco, pc.id}, pc.c)
				}
			}
		} else {
			for pc := range b.plats.all() {
				addCell(v.cells, cellKey{b.ecosystem, pc.id}, pc.c)
			}
		}
	}
	return v
}

// finish computes the report from the view's aggregates (steps 5 and 6).
// rd holds the problems of the files read for it but the failure files.
func (v *view) finish(rd *reader.Reader, budgetRuns []*batch, sawV1 bool, nMetricsProblems int) {
	if v.o.insightsOnly {
		v.finishInsights(rd, nMetricsProblems)
		return
	}
	if v.o.detectorOnly {
		v.finishDetector(rd, nMetricsProblems)
		return
	}
	if v.o.ratesOnly {
		v.finishRates(rd, nMetricsProblems)
		return
	}
	all, pos, platLevels := v.level.all, v.level.pos, v.level.platLevels
	o, rep, cur, trendCur, prev := v.o, v.rep, v.cur, v.trendCur, v.prev
	ra, fa, outProblems := v.ra, v.fa, v.outProblems
	platOrder, cells, durs, buckets := v.platOrder, v.cells, v.durs, v.buckets
	rr := ra.finish(all)
	if excludeFlaky {
		ra.excludeFlaky(all)
	}
	rep.Outcomes.Batches = len(cur)
	rep.batchHasOutcomes = len(cur) > 0 && cur[len(cur)-1].outcomes
	for _, b := range cur {
		if b.outcomes {
			rep.Outcomes.WithOutcomes++
		}
	}
	rep.Outcomes.Disagreeing = len(outProblems)
	rep.Outcomes.Transitions = rr.total
	outcomeNote(&rep.Outcomes)
	rep.Transitions, rep.Flaky = rr.transitions, rr.flaky
	if rep.Transitions == nil {
		rep.Transitions = []Transition{}
	}
	if rep.Flaky == nil {
		rep.Flaky = []FlakyRecipe{}
	}
	// What needs each batch's outcomes (the flake rates and the paired
	// comparisons, from the recipes' states and the outcomes kept) is
	// computed while the platforms' statistics are: neither reads what
	// the other writes. The outcomes are let go after.
	var (
		flakes   map[string]*FlakeStat
		wg       sync.WaitGroup
		det      *detectorRun
		compared map[string]bool
	)
	// The detectors read every batch up to the window's end, and write
	// only their run: they run while the rest is computed.
	if !o.noDetectors {
		wg.Go(func() { det, compared = runDetectors(cur, all, pos, fa) })
	}
	wg.Go(func() {
		if len(cur) > 0 {
			flakes = ra.flakeStats(cur, pos, rr)
			rep.Paired = ra.paired(cur, pos)
			for _, note := range []string{noteOf(len(ra.fine.dropped), pairedNote), noteOf(len(ra.fine.moreRecipes), recipesNote)} {
				if note == "" {
					continue
				}
				if rep.Outcomes.Note != "" {
					rep.Outcomes.Note += " "
				}
				rep.Outcomes.Note += note
			}
		}
		if rep.Paired == nil {
			rep.Paired = []PairedComparison{}
		}
		ra.release()
	})

	// Platform stats, trend, spark.
	v.platforms()
	ser := inferPlatforms(rep, cur, trendCur, prev, all, pos, fa)
	wg.Wait()
	if det != nil {
		det.states(rep, compared, all, cur[0].ts)
	}
	for i := range rep.Platforms {
		rep.Platforms[i].Flakes = flakes[rep.Platforms[i].Platform]
	}
	for i := range rep.Platforms {
		p := &rep.Platforms[i]
		for _, v := range spark(ser[p.Platform], cur, all, buckets) {
			p.Spark = append(p.Spark, v)
		}
	}

	rep.Categories = fa.categories()
	rep.Blockers = fa.blockers(o.TopBlockers)
	for _, c := range cells {
		if c.Tested == 0 {
			continue
		}
		rep.Matrix = append(rep.Matrix, *c)
	}
	sort.Slice(rep.Matrix, func(i, j int) bool {
		a, b := rep.Matrix[i], rep.Matrix[j]
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		return a.Platform < b.Platform
	})
	if rep.Matrix == nil {
		rep.Matrix = []MatrixCell{}
	}
	cellObs := matrixObs(rep, ser)
	cellRates(rep, cellObs)
	rep.Durations = durationStats(platOrder, durs)

	// 5. Budget.
	rep.Budget = computeBudget(budgetRuns, o)

	// 6. Insights.
	rep.Insights = []Insight{}
	weakest(rep, ser)
	pairedWeakest(rep, rep.Paired)
	regressions(rep)
	skipAdvice(rep, cur, cellObs, o)
	incidents(rep)
	capabilityGaps(rep, fa, o)
	if len(cur) > 0 {
		ra.gapsClosed(rep, fa, prev, cur)
	}
	noNilBlockers(rep)

	// Notes.
	notes(rep, o, sawV1, platLevels, fa)
	v.problems(rd, nMetricsProblems)
}

// platforms lists the window's platforms that tested or skipped anything,
// in ID order, with their failures by kind.
func (v *view) platforms() {
	rep := v.rep
	sort.Strings(v.platOrder)
	for _, id := range v.platOrder {
		p := v.plats[id]
		if p.Tested == 0 && p.Skipped == 0 {
			continue
		}
		p.RecipeFailures = v.fa.kindCount[id][model.KindRecipe]
		p.InfrastructureFailures = v.fa.kindCount[id][model.KindInfrastructure]
		rep.Platforms = append(rep.Platforms, *p)
	}
	if rep.Platforms == nil {
		rep.Platforms = []PlatformStat{}
	}
}

// noNilBlockers gives every insight without blockers an empty list.
func noNilBlockers(rep *Report) {
	for i := range rep.Insights {
		if rep.Insights[i].BlockedBy == nil {
			rep.Insights[i].BlockedBy = []string{}
		}
	}
}

// finishInsights computes only what a report with insightsOnly holds: its
// capability gaps and incidents, among the insights, and its problems.
func (v *view) finishInsights(rd *reader.Reader, nMetricsProblems int) {
	rep := v.rep
	v.platforms()
	ser := platSeries(v.cur, v.fa, v.level.pos, flakyKept, 0)
	for i := range rep.Platforms {
		if s := ser[rep.Platforms[i].Platform]; s != nil {
			rep.Platforms[i].Health.Incidents = s.incidents
		}
	}
	rep.Insights = []Insight{}
	incidents(rep)
	capabilityGaps(rep, v.fa, v.o)
	noNilBlockers(rep)
	v.problems(rd, nMetricsProblems)
}

// finishRates computes only what a report with ratesOnly holds: its
// platforms' rates, intervals, trends and runner health, as finish does,
// and its problems.
func (v *view) finishRates(rd *reader.Reader, nMetricsProblems int) {
	v.ra.release()
	v.platforms()
	inferPlatforms(v.rep, v.cur, v.trendCur, v.prev, v.level.all, v.level.pos, v.fa)
	v.problems(rd, nMetricsProblems)
}

// finishDetector computes only what a report with detectorOnly holds: the
// recipes' transitions, whether the window's last batch has outcomes, each
// platform's detector (with the gates it reads) and the problems.
func (v *view) finishDetector(rd *reader.Reader, nMetricsProblems int) {
	rep, all, pos, cur, ra := v.rep, v.level.all, v.level.pos, v.cur, v.ra
	rr := ra.finish(all)
	if excludeFlaky {
		ra.excludeFlaky(all)
	}
	rep.batchHasOutcomes = len(cur) > 0 && cur[len(cur)-1].outcomes
	rep.Transitions = rr.transitions
	if rep.Transitions == nil {
		rep.Transitions = []Transition{}
	}
	ra.release()
	v.platforms()
	// The detectors read their own series only (as inferPlatforms runs
	// them).
	v.det = detectors(rep, cur, all, pos, v.fa)
	v.problems(rd, nMetricsProblems)
}

// problems lists the report's problems: those of the files read for it
// (rd), the failure files' and the outcome records that disagree.
func (v *view) problems(rd *reader.Reader, nMetricsProblems int) {
	rep, outProblems := v.rep, v.outProblems
	rep.Problems, rep.MoreProblems = rd.Problems()
	rep.outcomeProblems = len(rep.Problems) + rep.MoreProblems - nMetricsProblems + len(outProblems)
	rep.MoreProblems += v.failDropped
	rep.Problems = append(rep.Problems, v.failProblems...)
	rep.Problems = append(rep.Problems, outProblems...)
	if max := reader.DefaultOptions.MaxProblems; len(rep.Problems) > max {
		rep.MoreProblems += len(rep.Problems) - max
		rep.Problems = rep.Problems[:max]
	}
	if rep.Problems == nil {
		rep.Problems = []reader.Problem{}
	}
	if v.uncommitted > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d failure records %s (writes that did not finish) and are not counted; `batchsli validate` lists them and `batchsli compact` moves them aside.", v.uncommitted, noteUncommitted))
	}
	if n := len(rep.Problems) + rep.MoreProblems; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf(noteProblems+" %d problems (listed below); the records concerned are left out. Run `batchsli validate` for the full list.", n))
	}
}

// passRate is passed/tested with its 95% Wilson interval.
func passRate(passed, tested int64) (r, lo, hi float64) {
	iv := stats.Wilson(passed, tested, stats.Z95)
	return rate(passed, tested), iv.Low, iv.High
}

func rate(k, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

type cellKey struct{ eco, plat string }

func addCell(cells map[cellKey]*MatrixCell, k cellKey, c counts) {
	m := cells[k]
	if m == nil {
		m = &MatrixCell{Ecosystem: k.eco, Platform: k.plat}
		cells[k] = m
	}
	m.Tested += c.Tested
	m.Passed += c.Passed
	m.Failed += c.Failed
}

// rollCounts rolls a run's platform counts up. Durations come from full (the
// run's own platforms) and from job keys that match a rolled ID exactly.
//
// The result is appended to out[:0], reusing its platCounts' gate lists:
// packPlats copies what it keeps, so a caller packing each result may give
// the last one back.
func rollCounts(out []platCount, ro *roller, src, full map[string]model.Counts, jobs map[string]float64, levels map[string]platInfo, by model.Level) []platCount {
	out = out[:0]
	if len(src) == 0 {
		return out
	}
	for id, c := range src {
		r := ro.roll(id)
		if !r.keep {
			continue
		}
		if _, ok := levels[r.id]; !ok {
			levels[r.id] = platInfo{level: r.level, coarser: r.level != by}
		}
		i := slices.IndexFunc(out, func(pc platCount) bool { return pc.id == r.id })
		if i < 0 {
			i = len(out)
			var gates []string
			if i < cap(out) {
				gates = out[:i+1][i].gates[:0]
			}
			out = append(out, platCount{id: r.id, c: counts{SkippedKnown: true}, infraKnown: true, gates: gates})
		}
		pc := &out[i]
		if c.Infrastructure != nil {
			pc.infra += *c.Infrastructure
		} else {
			pc.infraKnown = false
		}
		if c.Skipped > 0 {
			if len(c.GatedBy) == 0 {
				pc.gateless = true
			}
			for _, g := range c.GatedBy {
				if gr := ro.roll(g); gr.id != r.id && !slices.Contains(pc.gates, gr.id) {
					pc.gates = append(pc.gates, gr.id)
				}
			}
		}
		pc.c.Tested += c.Tested
		pc.c.Passed += c.Passed
		pc.c.Failed += c.Failed
		pc.c.Skipped += c.Skipped
		if !c.SkippedKnown {
			pc.c.SkippedKnown = false
		}
		if full != nil {
			if fc, ok := full[id]; ok && fc.DurationSeconds != nil {
				pc.seconds += *fc.DurationSeconds
				pc.timed = true
			}
		}
	}
	// A job time given for exactly a rolled ID is the real job time.
	for i := range out {
		if v, ok := jobs[out[i].id]; ok {
			out[i].seconds, out[i].timed = v, true
		}
	}
	slices.SortFunc(out, func(a, b platCount) int { return strings.Compare(a.id, b.id) })
	return out
}

// BaselineWindows is how many windows' worth of batches before a --last N
// window its trend compares with.
const BaselineWindows = 4

// cutWindow picks the window's batches, the batches the trend compares
// (trendCur against prev), and the time span failures without a batch ID
// must fall in. With a window, the trend compares it with the previous
// window of equal size; without one, the newer half of the history with the
// older half.
func cutWindow(all []*batch, o ReportOptions, w *Window) (cur, trendCur, prev []*batch, lo, hi time.Time) {
	inTime := all
	if !o.Since.IsZero() || !o.Until.IsZero() {
		inTime = nil
		for _, b := range all {
			if (o.Since.IsZero() || !b.ts.Before(o.Since)) && (o.Until.IsZero() || !b.ts.After(o.Until)) {
				inTime = append(inTime, b)
			}
		}
	}
	cur = inTime
	if o.Last > 0 && len(cur) > o.Last {
		cur = cur[len(cur)-o.Last:]
	}
	var parts []string
	if o.Last > 0 {
		parts = append(parts, fmt.Sprintf("last %d batches", o.Last))
	}
	if !o.Since.IsZero() {
		parts = append(parts, "since "+o.Since.Format(time.RFC3339))
	}
	if !o.Until.IsZero() {
		parts = append(parts, "until "+o.Until.Format(time.RFC3339))
	}
	if len(parts) == 0 {
		parts = append(parts, "whole history")
	}
	w.Description = strings.Join(parts, ", ")
	if len(cur) > 0 {
		f, l := cur[0].ts, cur[len(cur)-1].ts
		w.First, w.Last = &f, &l
	}

	// Failure time span: from the window's lower edge to its upper edge.
	lo, hi = o.Since, o.Until
	if o.Last > 0 && len(cur) > 0 {
		// Failures after the batch before the window belong to the window.
		idx := indexOf(all, cur[0])
		if idx > 0 {
			after := all[idx-1].ts.Add(time.Nanosecond)
			if after.After(lo) {
				lo = after
			}
		}
	}

	// Previous window.
	switch {
	case o.Last > 0:
		idx := len(all)
		if len(cur) > 0 {
			idx = indexOf(all, cur[0])
		}
		// The baseline is up to BaselineWindows times the window: a
		// longer baseline halves the comparison's variance at little cost.
		start := idx - BaselineWindows*len(cur)
		if start < 0 {
			start = 0
		}
		prev = all[start:idx]
		w.TrendDescription = fmt.Sprintf("the %d batches before", len(prev))
	case !o.Since.IsZero():
		until := o.Until
		if until.IsZero() {
			until = o.Now
		}
		span := until.Sub(o.Since)
		from := o.Since.Add(-span)
		for _, b := range all {
			if !b.ts.Before(from) && b.ts.Before(o.Since) {
				prev = append(prev, b)
			}
		}
		w.TrendDescription = fmt.Sprintf("the %s before (%d batches)", humanSpan(span), len(prev))
	default:
		// Whole history (or only --until): the newer half against the older half.
		h := len(cur) / 2
		prev = cur[:h]
		w.TrendDescription = fmt.Sprintf("newer half (%d batches) against older half (%d batches)", len(cur)-h, h)
		w.PreviousBatches = len(prev)
		return cur, cur[h:], prev, lo, hi
	}
	w.PreviousBatches = len(prev)
	return cur, cur, prev, lo, hi
}

func humanSpan(d time.Duration) string {
	d = d.Round(time.Minute)
	days := d.Hours() / 24
	if days >= 1 && days == math.Trunc(days) {
		return fmt.Sprintf("%d days", int(days))
	}
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	switch {
	case h >= 24:
		return fmt.Sprintf("%dd %02dh %02dm", h/24, h%24, m)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

func indexOf(all []*batch, b *batch) int {
	i := sort.Search(len(all), func(i int) bool {
		return !all[i].ts.Before(b.ts)
	})
	for ; i < len(all); i++ {
		if all[i] == b {
			return i
		}
	}
	return len(all)
}

func inSpan(t time.Time, cur []*batch, o ReportOptions) bool {
	if o.Last == 0 {
		return (o.Since.IsZero() || !t.Before(o.Since)) && (o.Until.IsZero() || !t.After(o.Until))
	}
	if len(cur) == 0 {
		return false
	}
	return !t.Before(cur[0].ts) && !t.After(cur[len(cur)-1].ts)
}

type durAcc struct {
	batch, perRecipe []float64
}

func durationStats(order []string, durs map[string]*durAcc) []DurationStat {
	out := []DurationStat{}
	for _, id := range order {
		d := durs[id]
		if d == nil || len(d.batch) == 0 {
			continue
		}
		ds := DurationStat{Platform: id, Batches: len(d.batch)}
		ds.MedianSeconds = ptr(round3(stats.Quantile(d.batch, 0.5)))
		ds.P90Seconds = ptr(round3(stats.Quantile(d.batch, 0.9)))
		ds.PerRecipeMedian = ptr(round3(stats.Quantile(d.perRecipe, 0.5)))
		ds.PerRecipeP90 = ptr(round3(stats.Quantile(d.perRecipe, 0.9)))
		out = append(out, ds)
	}
	return out
}

func ptr(f float64) *float64 { return &f }

// round3 keeps three decimals: seconds to the millisecond, without the
// binary noise of sums and interpolation.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
