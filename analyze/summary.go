package analyze

import (
	"fmt"
	"io/fs"
	"maps"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// SummaryOptions select the batch a job summary describes.
type SummaryOptions struct {
	// BatchID names the batch; "" picks the newest.
	BatchID string
	// Report tunes the report whose budget and insights the summary quotes;
	// its Now is replaced by the batch's time.
	Report ReportOptions
	// MaxExcerpt bounds the message excerpt kept per failure, in bytes.
	MaxExcerpt int
}

// DefaultSummaryOptions describe the newest batch.
func DefaultSummaryOptions() SummaryOptions {
	return SummaryOptions{Report: DefaultReportOptions(time.Now()), MaxExcerpt: 300}
}

// Validate checks the options.
func (o SummaryOptions) Validate() error {
	if o.MaxExcerpt < 16 {
		return fmt.Errorf("excerpt bound %d is too small", o.MaxExcerpt)
	}
	ro := o.Report
	if ro.Now.IsZero() {
		ro.Now = time.Now() // replaced by the batch's time
	}
	return ro.Validate()
}

// Summary is one batch's job summary, computed from the stored records.
type Summary struct {
	BatchID       string            `json:"batch_id"`
	Ecosystem     string            `json:"ecosystem"`
	Ecosystems    map[string]int64  `json:"ecosystems,omitempty"`
	Timestamp     time.Time         `json:"timestamp"`
	SchemaVersion int               `json:"schema_version"`
	Total         int64             `json:"total"`
	Generated     int64             `json:"generated"`
	Merged        int64             `json:"merged"`
	Platforms     []SummaryPlatform `json:"platforms"`
	// Tested, Passed and Failed sum the platforms; PassRate is their ratio
	// (nil when nothing was tested).
	Tested   int64    `json:"tested"`
	Passed   int64    `json:"passed"`
	Failed   int64    `json:"failed"`
	PassRate *float64 `json:"pass_rate"`
	// Previous is the batch of the same ecosystem before this one, if any.
	Previous   string           `json:"previous,omitempty"`
	Categories []CategoryStat   `json:"categories"`
	Failures   []SummaryFailure `json:"failures"`
	// Minutes is this batch's macOS minutes, when known.
	Minutes *float64 `json:"macos_minutes,omitempty"`
	Budget  Budget   `json:"budget"`
	// NewInsights are the report's insights that this batch brought;
	// ClearedInsights those it ended.
	NewInsights     []Insight `json:"new_insights"`
	ClearedInsights []Insight `json:"cleared_insights"`
	// FailureFiles are where the batch's failure records are stored.
	FailureFiles []string `json:"failure_files"`
	MetricsFile  string   `json:"metrics_file"`
	Problems     int      `json:"problems"`
	// Warnings are thresholds this batch crossed (budget, regressions), for
	// CI annotations.
	Warnings []Warning `json:"warnings"`
	// Outcomes is true when the batch has an outcome record; Transitions
	// are then its recipes' changes from their previous test on each
	// platform (newly failing, newly fixed, still failing), at the finest
	// level the records carry.
	Outcomes    bool         `json:"outcomes"`
	Transitions []Transition `json:"transitions"`

	// finestReadFailures tells tests whether the finest-level report read
	// the failure records.
	finestReadFailures bool
}

// Warning is a threshold crossed, worth an annotation.
type Warning struct {
	Title   string `json:"title"`
	Message string `json:"message"`
}

// SummaryPlatform is one platform's row of the summary table.
type SummaryPlatform struct {
	Platform        string   `json:"platform"`
	Tested          int64    `json:"tested"`
	Passed          int64    `json:"passed"`
	Failed          int64    `json:"failed"`
	Skipped         int64    `json:"skipped"`
	SkippedKnown    bool     `json:"skipped_known"`
	PassRate        float64  `json:"pass_rate"`
	CILow           float64  `json:"ci_low"`
	CIHigh          float64  `json:"ci_high"`
	DurationSeconds *float64 `json:"duration_seconds"`
	// Against the previous batch of the same ecosystem.
	PreviousPassRate *float64 `json:"previous_pass_rate"`
	PreviousTested   int64    `json:"previous_tested"`
	Change           *float64 `json:"change"`
}

// SummaryFailure is one failing recipe on one platform.
type SummaryFailure struct {
	PackageID string   `json:"package_id"`
	Platform  string   `json:"platform"`
	Category  string   `json:"category"`
	BlockedBy []string `json:"blocked_by"`
	ExitCode  *int     `json:"exit_code,omitempty"`
	Excerpt   string   `json:"excerpt"`
}

// BuildSummary computes the job summary of one batch from a data directory.
// A batch's failures are the records naming its batch ID or, for records
// that name none (v1), those stamped with the batch's exact time.
func BuildSummary(fsys fs.FS, name string, o SummaryOptions) (*Summary, error) {
	return buildSummary(fsys, name, o, nil)
}

// buildSummary is BuildSummary; with export set, it also sets *export to
// the checkpoint after the batch, when the data allow one.
func buildSummary(fsys fs.FS, name string, o SummaryOptions, export **sumState) (*Summary, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	// The reports quoted: after the batch, before it (for a batch with
	// one), and at the finest level; their windows end at the batch.
	ro := o.Report
	if ro.Now.IsZero() {
		ro.Now = time.Now() // replaced by the batch's time
	}
	ro.Since, ro.Last = time.Time{}, 0
	fo := ro
	fo.By = model.LevelFamily
	fo.Ecosystems, fo.Platforms = nil, nil
	var (
		sr  = newSummaryRuns(o)
		pk  summaryPick
		err error
	)
	// windows ends each report's window at the batch: after, before and
	// the finest level, in that order.
	windows := func(group []ReportOptions) {
		ts := pk.b.Timestamp
		group[0].Now, group[0].Until = ts, ts
		group[1].Now, group[1].Until = ts, ts.Add(-time.Nanosecond)
		group[2].Now, group[2].Until = ts, ts
	}
	var reps []*Report
	var commits *reader.Commits
	if summarySkipsOutcomes {
		// The insights compared before and after the batch (capability
		// gaps and incidents, insightChanges) come from the failure and
		// batch-run records only: those two reports leave the outcome
		// records unread and compute nothing else (insightsOnly). The
		// report at the finest level reads the outcome records, and the
		// failure records only where a batch's record does not count its
		// infrastructure failures. The three are computed in one reading
		// of the records (buildReports), which also gives the summary the
		// batch-run records; the report before a batch without one has
		// an empty window and is not quoted.
		group := []ReportOptions{ro, ro, fo}
		group[0].insightsOnly, group[1].insightsOnly = true, true
		group[2].skipFailures, group[2].detectorOnly = true, true
		sr.clone = true
		h := &reportHooks{run: sr.add, plan: func(opts []ReportOptions) error {
			if pk, err = sr.pick(fsys, name); err != nil {
				return err
			}
			windows(opts)
			return nil
		}}
		if export != nil && stateable(o) {
			spans := newSpanRecorder()
			spans.identify(fsys, name)
			h.spans = spans.record
			h.done = func(views []*view, sawV1 bool, uncommitted int) {
				*export = exportState(fsys, o, views, sawV1, uncommitted, sr, pk, spans)
			}
		}
		if reps, _, err = buildReportsWith(fsys, name, group, h); err != nil {
			return nil, err
		}
		commits = h.commits
	} else {
		// Each report whole and on its own (the reference the tests hold
		// the above to).
		rd := reader.New(fsys, name, reader.Options{})
		if err := rd.Metrics(sr.add); err != nil {
			return nil, err
		}
		if pk, err = sr.pick(fsys, name); err != nil {
			return nil, err
		}
		if commits, err = rd.Commits(); err != nil {
			return nil, err
		}
		group := []ReportOptions{ro, ro, fo}
		windows(group)
		for i, o := range group {
			if i == 1 && pk.idx == 0 {
				reps = append(reps, nil)
				continue
			}
			r, err := BuildReport(fsys, name, o)
			if err != nil {
				return nil, err
			}
			reps = append(reps, r)
		}
	}
	s := newSummary(pk.b, pk.prev)

	// The batch's failures, with message excerpts. Lines that certainly
	// belong to other batches are passed over undecoded; the report below
	// reads them all (and counts the data's problems).
	frd := reader.New(fsys, name, reader.Options{MaxProblems: 1, Commits: commits, OnlyBatch: pk.b.BatchID})
	sf := newSummaryFails(s, o.MaxExcerpt)
	if err = frd.Failures(sf.add); err != nil {
		return nil, err
	}
	sf.done()

	budgetRuns := make([]*batch, 0, len(sr.runs))
	for _, r := range sr.runs {
		budgetRuns = append(budgetRuns, r.batch)
	}
	after, fine := reps[0], reps[2]
	var before *Report
	if pk.idx > 0 {
		before = reps[1]
	}
	// Regressions come from the detector, at the finest level the records
	// carry: a window test re-run after every batch would alarm on most
	// stable histories (docs/METHODS.md, "Regression detector").
	// The data's problems, as the report counts them (every file, no
	// filter): the batch-run and failure files' from after when fine left
	// the failure records unread, with the outcome files' from fine.
	problems := len(fine.Problems) + fine.MoreProblems
	s.finestReadFailures = fine.failuresRead
	if !fine.failuresRead {
		problems = len(after.Problems) + after.MoreProblems + fine.outcomeProblems
	}
	s.complete(o, budgetRuns, before, after, detectorInsights(fine, pk.b), problems, fine.batchHasOutcomes, fine.Transitions)
	return s, nil
}

// newSummary starts the summary of batch b (prev: the batch of its
// ecosystem before it, if any): its counts per platform.
func newSummary(b, prev *model.BatchRun) *Summary {
	s := &Summary{
		BatchID: b.BatchID, Ecosystem: b.Ecosystem, Ecosystems: b.Ecosystems, Timestamp: b.Timestamp,
		SchemaVersion: b.SchemaVersion, Total: b.Total, Generated: b.Generated, Merged: b.Merged,
		MetricsFile: b.Source.File,
	}
	if prev != nil {
		s.Previous = prev.BatchID
	}
	ids := make([]string, 0, len(b.Platforms))
	for id := range b.Platforms {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := b.Platforms[id]
		p := SummaryPlatform{Platform: id, Tested: c.Tested, Passed: c.Passed, Failed: c.Failed, Skipped: c.Skipped,
			SkippedKnown: c.SkippedKnown, DurationSeconds: c.DurationSeconds}
		p.PassRate, p.CILow, p.CIHigh = passRate(c.Passed, c.Tested)
		if prev != nil {
			if pc, ok := prev.Platforms[id]; ok && pc.Tested > 0 && c.Tested > 0 {
				pr := rate(pc.Passed, pc.Tested)
				p.PreviousPassRate = &pr
				p.PreviousTested = pc.Tested
				d := p.PassRate - pr
				p.Change = &d
			}
		}
		s.Platforms = append(s.Platforms, p)
		s.Tested += c.Tested
		s.Passed += c.Passed
		s.Failed += c.Failed
	}
	if s.Tested > 0 {
		pr := rate(s.Passed, s.Tested)
		s.PassRate = &pr
	}
	if m, ok := MacOSMinutes(b); ok {
		s.Minutes = &m
	}
	return s
}

// summaryFails collects a summary's failures from the failure records (of
// any batch: it keeps its batch's).
type summaryFails struct {
	s          *Summary
	maxExcerpt int
	cats       map[string]map[string]int64
	files      map[string]bool
}

func newSummaryFails(s *Summary, maxExcerpt int) *summaryFails {
	return &summaryFails{s: s, maxExcerpt: maxExcerpt, cats: map[string]map[string]int64{}, files: map[string]bool{}}
}

// add keeps f when it is the batch's: by batch ID, or for a record that
// names none (v1) by the batch's exact time.
func (sf *summaryFails) add(f *model.Failure) {
	s := sf.s
	if f.BatchID != "" {
		if f.BatchID != s.BatchID {
			return
		}
	} else if !f.Timestamp.Equal(s.Timestamp) {
		return
	}
	sf.files[f.Source.File] = true
	if sf.cats[f.Environment] == nil {
		sf.cats[f.Environment] = map[string]int64{}
	}
	sf.cats[f.Environment][f.Category]++
	bl := f.BlockedBy
	if bl == nil {
		bl = []string{}
	}
	s.Failures = append(s.Failures, SummaryFailure{PackageID: f.PackageID, Platform: f.Environment, Category: f.Category,
		BlockedBy: bl, ExitCode: f.ExitCode, Excerpt: Excerpt(f.Message, sf.maxExcerpt)})
}

// done sorts the failures and sets the categories and files.
func (sf *summaryFails) done() {
	s := sf.s
	sort.SliceStable(s.Failures, func(i, j int) bool {
		a, c := s.Failures[i], s.Failures[j]
		if a.PackageID != c.PackageID {
			return a.PackageID < c.PackageID
		}
		return a.Platform < c.Platform
	})
	if s.Failures == nil {
		s.Failures = []SummaryFailure{}
	}
	fa := &failureAgg{catCount: sf.cats}
	s.Categories = fa.categories()
	for f := range sf.files {
		s.FailureFiles = append(s.FailureFiles, f)
	}
	sort.Strings(s.FailureFiles)
}

// complete sets the budget (over runs), the insights the batch brought
// and cleared (before and after it; before is nil for the first batch),
// the detector's alarms (detIns), the problems, the transitions and the
// warnings.
func (s *Summary) complete(o SummaryOptions, runs []*batch, before, after *Report, detIns []Insight, problems int, outcomes bool, transitions []Transition) {
	bo := o.Report
	bo.Now = s.Timestamp
	s.Budget = computeBudget(runs, bo)
	s.NewInsights, s.ClearedInsights = insightChanges(before, after)
	s.Problems = problems
	s.NewInsights = append(s.NewInsights, detIns...)
	s.Transitions = []Transition{}
	s.Outcomes = outcomes
	for _, t := range transitions {
		if t.BatchID == s.BatchID && t.Timestamp.Equal(s.Timestamp) {
			s.Transitions = append(s.Transitions, t)
		}
	}
	sort.SliceStable(s.Transitions, func(i, j int) bool {
		a, c := s.Transitions[i], s.Transitions[j]
		if a.Kind != c.Kind {
			return transitionOrder(a.Kind) < transitionOrder(c.Kind)
		}
		if a.Recipe != c.Recipe {
			return a.Recipe < c.Recipe
		}
		return a.Platform < c.Platform
	})
	s.Warnings = []Warning{}
	if s.Budget.Exhausted || s.Budget.RunOutAt != nil {
		s.Warnings = append(s.Warnings, Warning{Title: "macOS budget", Message: "macOS budget " + s.Budget.Status})
	}
	for _, in := range s.NewInsights {
		if in.Kind == KindRegression {
			s.Warnings = append(s.Warnings, Warning{Title: "Regression on " + in.Platform, Message: in.Evidence})
		}
	}
}

// summarySkipsOutcomes lets the reports before and after a batch leave the
// outcome records unread, and the finest-level one the failure records
// when it can; tests turn it off to check it changes nothing.
var summarySkipsOutcomes = true

func transitionOrder(k string) int {
	switch k {
	case NewlyFailing:
		return 0
	case NewlyFixed:
		return 1
	}
	return 2
}

// detectorInsights states the detector alarms a batch raised (matched by
// ID and time: v1 IDs need not be unique). An alarm explained by a gate's
// change is not a regression and is not stated.
func detectorInsights(r *Report, b *model.BatchRun) []Insight {
	var out []Insight
	for _, p := range r.Platforms {
		if p.Detector == nil {
			continue
		}
		for _, a := range p.Detector.Alarms {
			if a.At != b.BatchID || !a.AtTime.Equal(b.Timestamp) || a.PopulationChanged {
				continue
			}
			start := a.StartAt
			out = append(out, Insight{Kind: KindRegression, Platform: p.Platform, BlockedBy: []string{},
				Rate: ptr(a.Observed), N: a.Tests, Change: ptr(a.Observed - a.Expected), Statistic: ptr(a.Stat), Batches: a.Batches, Start: &start,
				Evidence: fmt.Sprintf("%s regressed from batch %s (%s) on: since then (%d batches) %s of %d %s where their ecosystems' history predicts %s; the detector's statistic %.1f passed its threshold %.0f (one-sided CUSUM within ecosystems, intra-batch correlation %.2f; %s)",
					p.Platform, a.Start, a.StartAt.Format("2006-01-02 15:04"), a.Batches, pct(a.Observed), a.Tests, "recipe tests passed", pct(a.Expected), a.Stat, p.Detector.Threshold, p.Detector.ICC, infer.DetectFalseAlarms)})
		}
	}
	return out
}

// perBatch reports whether an insight kind may be announced per batch.
func perBatch(kind string) bool { return kind == KindGap || kind == KindIncident }

func insightKey(in Insight) string {
	return strings.Join([]string{in.Kind, in.Platform, in.Ecosystem, in.Category, strings.Join(in.BlockedBy, ",")}, "\x00")
}

// insightChanges lists the insights found after a batch but not before it,
// and those found before but no longer: capability gaps and incidents,
// which are counts. Regressions come from the detector; the weakest
// platform and skip advice are tests that re-run after every batch would
// claim falsely far more often than once per report, so the summary leaves
// them to the report.
func insightChanges(before, after *Report) (added, cleared []Insight) {
	had := map[string]bool{}
	if before != nil {
		for _, in := range before.Insights {
			had[insightKey(in)] = true
		}
	}
	has := map[string]bool{}
	for _, in := range after.Insights {
		if !perBatch(in.Kind) {
			continue
		}
		has[insightKey(in)] = true
		if !had[insightKey(in)] {
			added = append(added, in)
		}
	}
	if before != nil {
		for _, in := range before.Insights {
			if perBatch(in.Kind) && !has[insightKey(in)] {
				cleared = append(cleared, in)
			}
		}
	}
	if added == nil {
		added = []Insight{}
	}
	if cleared == nil {
		cleared = []Insight{}
	}
	return added, cleared
}

// Excerpt returns the start of a log message, on one line, at most max
// bytes (cut on a rune boundary, marked with an ellipsis).
func Excerpt(msg string, max int) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// summaryRun is one run as the summary keeps it: its budget entry, its
// position in the metrics (order, from 1) and whether it tested anything.
type summaryRun struct {
	*batch
	tested bool
}

// summaryRuns follows the batch-run records as they are read: every run as
// its budget entry (the budget needs them all), and whole records only for
// the runs the summary may describe or compare with: the one named
// BatchID, the newest, and each ecosystem's two newest that tested
// something. Others are fetched by a second reading when needed (a batch
// named whose previous batch is older).
type summaryRuns struct {
	o      SummaryOptions
	runs   []summaryRun
	kept   map[int]*model.BatchRun
	newest summaryRun
	ecoTop map[string][2]summaryRun
	// clone copies the records kept (a reader that reuses its records).
	clone bool
}

func newSummaryRuns(o SummaryOptions) *summaryRuns {
	return &summaryRuns{o: o, kept: map[int]*model.BatchRun{}, ecoTop: map[string][2]summaryRun{}}
}

// later reports whether a comes after b, in the history's order.
func later(a, b summaryRun) bool {
	if !a.ts.Equal(b.ts) {
		return a.ts.After(b.ts)
	}
	return a.order > b.order
}

// candidate reports whether the run at order is still one whose whole
// record is kept.
func (sr *summaryRuns) candidate(order int) bool {
	r := sr.runs[order-1]
	top := sr.ecoTop[r.ecosystem]
	return order == sr.newest.order || sr.o.BatchID != "" && r.id == sr.o.BatchID ||
		top[0].batch != nil && top[0].order == order || top[1].batch != nil && top[1].order == order
}

// drop lets a run's record go when it is no longer a candidate.
func (sr *summaryRuns) drop(r summaryRun) {
	if r.batch != nil && !sr.candidate(r.order) {
		delete(sr.kept, r.order)
	}
}

// add follows one batch-run record.
func (sr *summaryRuns) add(b *model.BatchRun) {
	r := summaryRun{batch: budgetBatch(b), tested: b.Tested() > 0}
	r.order = len(sr.runs) + 1
	sr.runs = append(sr.runs, r)
	keep := sr.o.BatchID != "" && b.BatchID == sr.o.BatchID
	if sr.newest.batch == nil || later(r, sr.newest) {
		old := sr.newest
		sr.newest, keep = r, true
		sr.drop(old)
	}
	if r.tested {
		top := sr.ecoTop[b.Ecosystem]
		var out summaryRun
		switch {
		case top[0].batch == nil || later(r, top[0]):
			out, top[0], top[1] = top[1], r, top[0]
			keep = true
		case top[1].batch == nil || later(r, top[1]):
			out, top[1] = top[1], r
			keep = true
		}
		sr.ecoTop[b.Ecosystem] = top
		sr.drop(out)
	}
	if keep {
		if sr.clone {
			b = cloneRun(b)
		}
		sr.kept[r.order] = b
	}
}

// cloneRun copies a batch-run record a reader reuses: its maps (its
// strings, slices and numbers pointed to stay valid).
func cloneRun(b *model.BatchRun) *model.BatchRun {
	c := *b
	c.Platforms = maps.Clone(b.Platforms)
	c.Ecosystems = maps.Clone(b.Ecosystems)
	c.JobSeconds = maps.Clone(b.JobSeconds)
	if b.ByEcosystem != nil {
		c.ByEcosystem = make(map[string]map[string]model.Counts, len(b.ByEcosystem))
		for e, m := range b.ByEcosystem {
			c.ByEcosystem[e] = maps.Clone(m)
		}
	}
	c.Source.Raw = nil
	return &c
}

// summaryPick is the batch a summary describes (its position among the
// runs in time order) and the batch of its ecosystem before it, if any.
type summaryPick struct {
	idx     int
	b, prev *model.BatchRun
}

// pick finds the batch described, once every batch-run record is read.
func (sr *summaryRuns) pick(fsys fs.FS, name string) (summaryPick, error) {
	runs := sr.runs
	if len(runs) == 0 {
		return summaryPick{}, fmt.Errorf("%s holds no batch-run records", name)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].ts.Before(runs[j].ts) })
	idx := len(runs) - 1
	if sr.o.BatchID != "" {
		idx = -1
		for i := len(runs) - 1; i >= 0; i-- {
			if runs[i].id == sr.o.BatchID {
				idx = i
				break
			}
		}
		if idx < 0 {
			return summaryPick{}, fmt.Errorf("batch %s is not recorded in %s", sr.o.BatchID, name)
		}
	}
	prevAt := -1
	for i := idx - 1; i >= 0; i-- {
		if runs[i].ecosystem == runs[idx].ecosystem && runs[i].tested {
			prevAt = i
			break
		}
	}
	need := []int{runs[idx].order}
	if prevAt >= 0 {
		need = append(need, runs[prevAt].order)
	}
	if err := fetchRuns(fsys, name, sr.kept, need); err != nil {
		return summaryPick{}, err
	}
	pk := summaryPick{idx: idx, b: sr.kept[runs[idx].order]}
	if prevAt >= 0 {
		pk.prev = sr.kept[runs[prevAt].order]
	}
	return pk, nil
}

// fetchRuns reads the metrics again for the runs (by position) not in
// kept, when there are any.
func fetchRuns(fsys fs.FS, name string, kept map[int]*model.BatchRun, orders []int) error {
	missing := map[int]bool{}
	for _, o := range orders {
		if kept[o] == nil {
			missing[o] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	n := 0
	err := reader.New(fsys, name, reader.Options{}).Metrics(func(b *model.BatchRun) {
		n++
		if missing[n] {
			kept[n] = b
		}
	})
	if err != nil {
		return err
	}
	for o := range missing {
		if kept[o] == nil {
			return fmt.Errorf("%s changed while it was read: run %d is gone", name, o)
		}
	}
	return nil
}
