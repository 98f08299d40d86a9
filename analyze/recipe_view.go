package analyze

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// RecipeView is one recipe's history across batches and platforms: what
// `batchsli recipe ID` shows.
type RecipeView struct {
	Recipe string `json:"recipe"`
	// Batches are the committed batches that tested or failed it, oldest
	// first.
	Batches []RecipeBatch `json:"batches"`
	// Platforms sums its history per platform (family level, as recorded).
	Platforms []RecipePlatform `json:"platforms"`
	// Transitions are its changes between consecutive tests on each platform.
	Transitions []Transition `json:"transitions"`
	// NoOutcomes counts the batches known only from failure records (no
	// outcome record): their passes and skips are not known.
	NoOutcomes int      `json:"no_outcomes"`
	Problems   int      `json:"problems"`
	Notes      []string `json:"notes"`
}

// RecipeBatch is the recipe in one batch.
type RecipeBatch struct {
	BatchID   string    `json:"batch_id"`
	Timestamp time.Time `json:"timestamp"`
	Version   string    `json:"version,omitempty"`
	// Outcomes is false when the batch has no outcome record for it.
	Outcomes bool            `json:"outcomes"`
	Passed   []string        `json:"passed"`
	Retried  []string        `json:"passed_after_retry"`
	Skipped  []string        `json:"skipped"`
	Failures []RecipeFailure `json:"failures"`
}

// RecipeFailure is one failure of the recipe.
type RecipeFailure struct {
	Platform  string   `json:"platform"`
	Category  string   `json:"category"`
	BlockedBy []string `json:"blocked_by"`
	ExitCode  *int     `json:"exit_code,omitempty"`
	Attempts  int      `json:"attempts,omitempty"`
	Excerpt   string   `json:"excerpt"`
}

// RecipePlatform sums the recipe's history on one platform.
type RecipePlatform struct {
	Platform string `json:"platform"`
	Passes   int64  `json:"passes"`
	Failures int64  `json:"failures"`
	Skipped  int64  `json:"skipped"`
	// Last is its latest outcome there: pass, a failure category, or
	// skipped; LastBatchID where.
	Last        string `json:"last"`
	LastBatchID string `json:"last_batch_id"`
	Flaky       bool   `json:"flaky"`
}

// BuildRecipeView reads one recipe's history. id is a package ID
// (eco:name) or a bare name, which must then name one recipe.
func BuildRecipeView(fsys fs.FS, name, id string, maxExcerpt int) (*RecipeView, error) {
	// Resolve a bare name against the package IDs seen (match is called
	// by two readers at once).
	candidates := map[string]bool{}
	var mu sync.Mutex
	match := func(pkg string) bool {
		if pkg == id {
			return true
		}
		if !strings.Contains(id, ":") {
			if _, n := model.SplitPackageID(pkg); n == id {
				mu.Lock()
				candidates[pkg] = true
				mu.Unlock()
				return true
			}
		}
		return false
	}
	rr, err := readRecipes(fsys, name, match, recipeHooks{}, maxExcerpt)
	if err != nil {
		return nil, err
	}
	if len(candidates) > 1 {
		var cs []string
		for c := range candidates {
			cs = append(cs, c)
		}
		sort.Strings(cs)
		return nil, fmt.Errorf("%q names %d recipes (%s); give the package ID", id, len(cs), strings.Join(cs, ", "))
	}
	pkg := id
	for c := range candidates {
		pkg = c
	}
	v, _ := rr.view(pkg, 0)
	if len(v.Batches) == 0 {
		return nil, fmt.Errorf("no committed batch in %s names recipe %q", name, id)
	}
	return v, nil
}

// recipeReading is the records of the recipes a reading kept: every
// batch, and per package its failures (by batch ID, or "@" and the time
// for records that name no batch) and its outcome records (by batch ID,
// each holding only that recipe).
type recipeReading struct {
	all []*batch
	// at holds the positions in all of each batch ID, and of each time
	// ("@" and the time) of a batch whose record names no batch (v1).
	at       map[string][]int
	fails    map[string]map[string][]RecipeFailure
	outs     map[string]map[string]recipeOut
	problems int
}

// recipeOut is one recipe's outcomes in a batch: recipe r of record o (the
// reader does not reuse records here).
type recipeOut struct {
	o *model.Outcomes
	r int
}

func recipeKeyOf(batchID string, ts time.Time) string {
	if batchID != "" {
		return batchID
	}
	return "@" + ts.Format(time.RFC3339Nano)
}

// recipeHooks let a caller of readRecipes see the records as they are
// read (all optional): run sees each batch-run record (not reused), ran is
// called once they are all read and before the failure records are; fail
// sees every committed failure record (with its message); passOver names
// the failure lines neither needs, which are then not decoded
// (reader.Options.PassOver).
type recipeHooks struct {
	run      func(*model.BatchRun)
	ran      func()
	fail     func(*model.Failure)
	passOver func(batchID, pkg []byte) bool
}

// readRecipes reads the records of the recipes match keeps, in one
// reading of the data. match is called from two goroutines at once.
func readRecipes(fsys fs.FS, name string, match func(string) bool, h recipeHooks, maxExcerpt int) (*recipeReading, error) {
	rd := reader.New(fsys, name, reader.Options{PassOver: h.passOver})
	rr := &recipeReading{fails: map[string]map[string][]RecipeFailure{}, outs: map[string]map[string]recipeOut{}}
	sums := map[string]uint64{}
	order := 0
	err := rd.Metrics(func(b *model.BatchRun) {
		order++
		if b.SchemaVersion == model.SchemaVersion {
			sums[b.BatchID] = model.CountsSum(b.Platforms)
		}
		rr.all = append(rr.all, &batch{id: b.BatchID, ts: b.Timestamp, ecosystem: b.Ecosystem, order: order, v1: b.SchemaVersion < 2})
		if h.run != nil {
			h.run(b)
		}
	})
	if err != nil {
		return nil, err
	}
	if h.ran != nil {
		h.ran()
	}
	all := rr.all
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].ts.Equal(all[j].ts) {
			return all[i].ts.Before(all[j].ts)
		}
		return all[i].order < all[j].order
	})
	rr.at = make(map[string][]int, len(all))
	for i, b := range all {
		rr.at[b.id] = append(rr.at[b.id], i)
		if b.v1 {
			k := recipeKeyOf("", b.ts)
			rr.at[k] = append(rr.at[k], i)
		}
	}
	// The outcome records are read while the failure records are, by a
	// reader of their own (neither needs the other).
	commits, err := rd.Commits()
	if err != nil {
		return nil, err
	}
	ord := reader.New(fsys, name, reader.Options{Commits: commits})
	var oerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		oerr = ord.Outcomes(func(o *model.Outcomes) {
			// A record that does not add up to its batch is left out, as
			// the report does.
			sum, ok := sums[o.BatchID]
			agrees := ok && sum == o.CountsSum()
			for i, r := range o.Recipes {
				if !match(r.PackageID) || !agrees {
					continue
				}
				m := rr.outs[r.PackageID]
				if m == nil {
					m = map[string]recipeOut{}
					rr.outs[r.PackageID] = m
				}
				m[o.BatchID] = recipeOut{o, i}
			}
		})
	}()
	err = rd.Failures(func(f *model.Failure) {
		if h.fail != nil {
			h.fail(f)
		}
		if !match(f.PackageID) {
			return
		}
		bl := f.BlockedBy
		if bl == nil {
			bl = []string{}
		}
		k := recipeKeyOf(f.BatchID, f.Timestamp)
		m := rr.fails[f.PackageID]
		if m == nil {
			m = map[string][]RecipeFailure{}
			rr.fails[f.PackageID] = m
		}
		m[k] = append(m[k], RecipeFailure{Platform: f.Environment, Category: f.Category, BlockedBy: bl,
			ExitCode: f.ExitCode, Attempts: f.Attempts, Excerpt: Excerpt(f.Message, maxExcerpt)})
	})
	<-done
	if err != nil {
		return nil, err
	}
	if oerr != nil {
		return nil, oerr
	}
	ps, more := rd.Problems()
	ops, omore := ord.Problems()
	rr.problems = len(ps) + more + len(ops) + omore
	return rr, nil
}

// view assembles package pkg's history from the reading (no batch when
// the reading has none of it). With keep > 0, only its newest keep batches
// are listed (the platforms and transitions still count every batch);
// total is how many it has.
func (rr *recipeReading) view(pkg string, keep int) (v *RecipeView, total int) {
	all := rr.all
	outs, failsBy := rr.outs[pkg], rr.fails[pkg]
	v = &RecipeView{Recipe: pkg, Batches: []RecipeBatch{}, Platforms: []RecipePlatform{}, Transitions: []Transition{}, Notes: []string{}}
	plats := map[string]*RecipePlatform{}
	plat := func(p string) *RecipePlatform {
		if plats[p] == nil {
			plats[p] = &RecipePlatform{Platform: p}
		}
		return plats[p]
	}
	// Its outcomes at the recorded level, for transitions and flakiness.
	ra := newRecipeAgg(0, len(all)-1)
	// Only the batches that hold its records, in order.
	var at []int
	for k := range outs {
		at = append(at, rr.at[k]...)
	}
	for k := range failsBy {
		at = append(at, rr.at[k]...)
	}
	slices.Sort(at)
	at = slices.Compact(at)
	for n, i := range at {
		b := all[i]
		ref, hasOut := outs[b.id]
		fs := failsBy[b.id]
		if b.v1 {
			fs = append(slices.Clone(fs), failsBy[recipeKeyOf("", b.ts)]...)
		}
		if !hasOut && len(fs) == 0 {
			continue
		}
		total++
		// An older batch than those listed is counted, not kept.
		listed := keep <= 0 || n >= len(at)-keep
		rb := RecipeBatch{BatchID: b.id, Timestamp: b.ts, Passed: []string{}, Retried: []string{}, Skipped: []string{}, Failures: []RecipeFailure{}}
		if listed {
			rb.Failures = append(rb.Failures, fs...)
			sort.Slice(rb.Failures, func(i, j int) bool { return rb.Failures[i].Platform < rb.Failures[j].Platform })
		}
		if hasOut {
			o := ref.o
			rb.Outcomes = true
			r := o.Recipes[ref.r]
			rb.Version = r.Version
			var es []ocEntry
			ver := ra.version(r.Version)
			for j, p := range o.Platforms {
				oc := o.At(ref.r, j)
				e := ocEntry{pair: ra.pair(r.PackageID, p), ver: ver, kind: kindOf(o, r.Codes[j])}
				e.n, e.np = membersOf(e.kind)
				switch e.kind {
				case ocRetried:
					if listed {
						rb.Retried = append(rb.Retried, p)
					}
					plat(p).Passes++
				case ocPass:
					if listed {
						rb.Passed = append(rb.Passed, p)
					}
					plat(p).Passes++
				case ocFail, ocInfra:
					plat(p).Failures++
					e.cat = ra.intern(ra.catIdx, &ra.cats, oc.Category)
				default:
					if listed {
						rb.Skipped = append(rb.Skipped, p)
					}
					plat(p).Skipped++
				}
				if e.kind != 0 {
					es = append(es, e)
				}
				pl := plat(p)
				switch oc.Kind {
				case model.Passed:
					pl.Last, pl.LastBatchID = "pass", b.id
				case model.Failed:
					pl.Last, pl.LastBatchID = oc.Category, b.id
				}
			}
			ra.step(all, i, es)
		} else {
			v.NoOutcomes++
			sorted := slices.Clone(fs)
			sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Platform < sorted[j].Platform })
			for _, f := range sorted {
				pl := plat(f.Platform)
				pl.Failures++
				pl.Last, pl.LastBatchID = f.Category, b.id
			}
		}
		if listed {
			v.Batches = append(v.Batches, rb)
		}
	}
	if total == 0 {
		return v, 0
	}
	if len(all) > 0 {
		res := ra.finish(all)
		v.Transitions = res.transitions
		if v.Transitions == nil {
			v.Transitions = []Transition{}
		}
		for _, f := range res.flaky {
			if pl := plats[f.Platform]; pl != nil {
				pl.Flaky = true
			}
		}
	}
	for _, p := range plats {
		v.Platforms = append(v.Platforms, *p)
	}
	sort.Slice(v.Platforms, func(i, j int) bool { return v.Platforms[i].Platform < v.Platforms[j].Platform })
	if v.NoOutcomes > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d of its %d batches have no outcome record (recorded before them): only their failures are known.", v.NoOutcomes, total))
	}
	v.Problems = rr.problems
	return v, total
}
