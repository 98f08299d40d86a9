// Package analyze computes what batchsli reports from the model: the
// inventory of a data directory (validate), and the cross-run report with its
// statistics and insights. It reads through package reader and prints
// nothing; package render formats its results.
package analyze

import (
	"fmt"
	"io/fs"
	"iter"
	"runtime"
	"sort"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// Inventory is what `batchsli validate` reports about a data directory.
type Inventory struct {
	Data           string        `json:"data"`
	Formats        []FormatCount `json:"formats"`
	BatchRuns      int           `json:"batch_runs"`
	FailureRecords int           `json:"failure_records"`
	// OutcomeRecords counts the committed outcome records (one per batch).
	OutcomeRecords int              `json:"outcome_records"`
	Platforms      []PlatformCount  `json:"platforms"`
	Categories     []CategoryCount  `json:"categories"`
	Problems       []reader.Problem `json:"problems"`
	// MoreProblems counts problems beyond those listed.
	MoreProblems int `json:"more_problems,omitempty"`
	// Uncommitted lists the failure records of batches that are not
	// committed (a write that did not finish; docs/STORAGE.md). They are
	// not counted in FailureRecords or anywhere else.
	Uncommitted     []reader.Problem `json:"uncommitted"`
	MoreUncommitted int              `json:"more_uncommitted,omitempty"`
}

// FormatCount counts the files read in one format.
type FormatCount struct {
	Kind    string `json:"kind"`   // metrics or failures
	Format  string `json:"format"` // schema version and layout
	Files   int    `json:"files"`
	Records int    `json:"records"`
}

// PlatformCount counts the records that name one platform ID.
type PlatformCount struct {
	Platform       string `json:"platform"`
	Level          string `json:"level"` // family, env, job, os, or unknown (unparseable)
	BatchRuns      int    `json:"batch_runs"`
	FailureRecords int    `json:"failure_records"`
}

// CategoryCount counts the failure records of one category.
type CategoryCount struct {
	Category string `json:"category"`
	Kind     string `json:"kind"`
	Known    bool   `json:"known"`
	Count    int    `json:"count"`
}

// Take reads the whole data directory and counts what it holds.
func Take(fsys fs.FS, name string) (*Inventory, error) {
	r := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true})
	inv := &Inventory{Data: name, Formats: []FormatCount{}, Platforms: []PlatformCount{}, Categories: []CategoryCount{}, Problems: []reader.Problem{}, Uncommitted: []reader.Problem{}}
	plats := map[string]*PlatformCount{}
	plat := func(id string) *PlatformCount {
		p := plats[id]
		if p == nil {
			p = &PlatformCount{Platform: id, Level: model.ParseEnv(id).Level.String()}
			plats[id] = p
		}
		return p
	}
	cats := map[string]*CategoryCount{}
	sums := map[string]uint64{}
	if err := r.Metrics(func(b *model.BatchRun) {
		inv.BatchRuns++
		if b.SchemaVersion == model.SchemaVersion {
			sums[b.BatchID] = model.CountsSum(b.Platforms)
		}
		for id := range b.Platforms {
			plat(id).BatchRuns++
		}
	}); err != nil {
		return nil, err
	}
	// The failure files, a worker per core, each counting on its own.
	type counts struct {
		records int
		plats   tally
		cats    tally
	}
	workers := make([]counts, max(1, runtime.GOMAXPROCS(0)))
	fns := make([]func(*model.Failure), len(workers))
	for w := range workers {
		c := &workers[w]
		fns[w] = func(f *model.Failure) {
			c.records++
			c.plats.add(f.Environment)
			c.cats.add(f.Category)
		}
	}
	// The outcome records, read meanwhile by a reader of their own.
	commits, err := r.Commits()
	if err != nil {
		return nil, err
	}
	or := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true, Commits: commits})
	var (
		disagree []reader.Problem
		outErr   error
		outDone  = make(chan struct{})
	)
	go func() {
		defer close(outDone)
		outErr = or.Outcomes(func(o *model.Outcomes) {
			inv.OutcomeRecords++
			if sums[o.BatchID] != o.CountsSum() {
				disagree = append(disagree, reader.Problem{File: o.Source.File, Line: o.Source.Line,
					Message: fmt.Sprintf("outcome record of batch %s does not add up to the batch's counts; reports leave it out", o.BatchID)})
			}
		})
	}()
	err = r.FailuresParallel(fns)
	<-outDone
	if err != nil {
		return nil, err
	}
	if outErr != nil {
		return nil, outErr
	}
	r.Join(or)
	for _, c := range workers {
		inv.FailureRecords += c.records
		for id, n := range c.plats.all() {
			plat(id).FailureRecords += n
		}
		for cat, n := range c.cats.all() {
			cc := cats[cat]
			if cc == nil {
				_, known := model.CanonicalCategory(cat)
				cc = &CategoryCount{Category: cat, Kind: string(model.CategoryKind(cat)), Known: known}
				cats[cat] = cc
			}
			cc.Count += n
		}
	}

	formats := map[[2]string]*FormatCount{}
	var keys [][2]string
	for _, f := range r.Files() {
		k := [2]string{f.Kind, f.Format}
		fc := formats[k]
		if fc == nil {
			fc = &FormatCount{Kind: f.Kind, Format: f.Format}
			formats[k] = fc
			keys = append(keys, k)
		}
		fc.Files++
		fc.Records += f.Records
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return kindOrder(keys[i][0]) < kindOrder(keys[j][0])
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		inv.Formats = append(inv.Formats, *formats[k])
	}
	for _, p := range plats {
		inv.Platforms = append(inv.Platforms, *p)
	}
	sort.Slice(inv.Platforms, func(i, j int) bool { return inv.Platforms[i].Platform < inv.Platforms[j].Platform })
	for _, c := range cats {
		inv.Categories = append(inv.Categories, *c)
	}
	sort.Slice(inv.Categories, func(i, j int) bool {
		a, b := inv.Categories[i], inv.Categories[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Category < b.Category
	})
	inv.Problems, inv.MoreProblems = r.Problems()
	inv.Problems = append(inv.Problems, disagree...)
	if inv.Problems == nil {
		inv.Problems = []reader.Problem{}
	}
	inv.Uncommitted, inv.MoreUncommitted = r.Uncommitted()
	if inv.Uncommitted == nil {
		inv.Uncommitted = []reader.Problem{}
	}
	return inv, nil
}

// OK reports whether the data directory has no problem and no uncommitted
// record.
func (inv *Inventory) OK() bool {
	return len(inv.Problems) == 0 && inv.MoreProblems == 0 && len(inv.Uncommitted) == 0 && inv.MoreUncommitted == 0
}

// UnknownCategories lists the categories batchsli does not know.
func (inv *Inventory) UnknownCategories() []string {
	var out []string
	for _, c := range inv.Categories {
		if !c.Known {
			out = append(out, c.Category)
		}
	}
	return out
}

// UnparsedPlatforms lists the platform IDs that fit no known shape.
func (inv *Inventory) UnparsedPlatforms() []string {
	var out []string
	for _, p := range inv.Platforms {
		if p.Level == model.LevelUnknown.String() {
			out = append(out, p.Platform)
		}
	}
	return out
}

func kindOrder(k string) int {
	switch k {
	case "metrics":
		return 0
	case "failures":
		return 1
	}
	return 2
}

// tally counts strings of a small set (platforms, categories): the first
// tallyList in a list (a record's strings are mostly the reader's interned
// ones, compared at once), any more in a map.
type tally struct {
	keys []string
	ns   []int
	more map[string]int
}

const tallyList = 64

func (t *tally) add(s string) {
	for i, k := range t.keys {
		if k == s {
			t.ns[i]++
			return
		}
	}
	if len(t.keys) < tallyList {
		t.keys, t.ns = append(t.keys, s), append(t.ns, 1)
		return
	}
	if t.more == nil {
		t.more = map[string]int{}
	}
	t.more[s]++
}

// all yields each string with its count.
func (t *tally) all() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		for i, k := range t.keys {
			if !yield(k, t.ns[i]) {
				return
			}
		}
		for k, n := range t.more {
			if !yield(k, n) {
				return
			}
		}
	}
}
