package analyze

import (
	"io/fs"
	"sort"
	"time"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/reader"
)

// Exported is the history as per-batch counts, for exports to other
// engines (Prometheus, warehouses): each batch's counts per platform (at
// the options' level) and ecosystem, and what the report's pass rate
// counts of them.
type Exported struct {
	By      string
	Batches []ExportBatch
	// Problems counts the records left out as unreadable; FirstProblems
	// are the first of them.
	Problems      int
	FirstProblems []reader.Problem
}

// ExportBatch is one batch (a run that tested something), in history
// order.
type ExportBatch struct {
	ID        string
	Time      time.Time
	Ecosystem string
	// MacOSMinutes is the batch's macOS minutes, when known.
	MacOSMinutes *float64
	Cells        []ExportCell
	// Platforms holds what is per batch and platform only: its
	// infrastructure failures and validation time.
	Platforms []ExportPlatform
}

// ExportCell is one batch's counts on one platform and ecosystem.
type ExportCell struct {
	Platform, Ecosystem             string
	Tested, Passed, Failed, Skipped int64
	// RateTests and RatePasses are what the report's pass rate counts:
	// recipe results, infrastructure failures, incident batches and
	// flaky recipes' retried passes left out (docs/METHODS.md).
	RateTests, RatePasses int64
}

// ExportPlatform is one batch's platform-level figures.
type ExportPlatform struct {
	Platform       string
	Infrastructure int64
	// Seconds is the platform's validation time in the batch, when known.
	Seconds *float64
}

// Export reads the history at o's level (its window and filters apply)
// and returns each batch's counts.
func Export(fsys fs.FS, name string, o ReportOptions) (*Exported, error) {
	out := &Exported{By: o.By.String()}
	hooks := &reportHooks{done: func(views []*view, _ bool, _ int) {
		v := views[0]
		ser := platSeries(v.cur, v.fa, v.level.pos, flakyKept, seriesRate|seriesEco|seriesHealth)
		type key struct {
			pos int32
			eco infer.Eco
		}
		rate := map[string]map[key]infer.Obs{}
		infra := map[string]map[int32]int64{}
		for id, s := range ser {
			m := map[key]infer.Obs{}
			for _, e := range s.ecoObs() {
				k := key{e.Batch, e.Eco}
				o := m[k]
				o.Tested += e.Tested
				o.Passed += e.Passed
				m[k] = o
			}
			rate[id] = m
			h := map[int32]int64{}
			for _, o := range s.health {
				h[o.Batch] += o.Passed
			}
			infra[id] = h
		}
		for _, b := range v.cur {
			pos := int32(v.level.pos[b])
			eb := ExportBatch{ID: b.id, Time: b.ts, Ecosystem: b.ecosystem}
			add := func(eco string, pc platCount) {
				r := rate[pc.id][key{pos, infer.EcoOf(eco)}]
				eb.Cells = append(eb.Cells, ExportCell{Platform: pc.id, Ecosystem: eco, Tested: pc.c.Tested, Passed: pc.c.Passed,
					Failed: pc.c.Failed, Skipped: pc.c.Skipped, RateTests: r.Tested, RatePasses: r.Passed})
			}
			if b.byEco == nil {
				for pc := range b.plats.all() {
					add(b.ecosystem, pc)
				}
			} else {
				ecos := make([]string, 0, len(b.byEco))
				for e := range b.byEco {
					ecos = append(ecos, e)
				}
				sort.Strings(ecos)
				for _, e := range ecos {
					for pc := range b.byEco[e].all() {
						add(e, pc)
					}
				}
			}
			for pc := range b.plats.all() {
				ep := ExportPlatform{Platform: pc.id, Infrastructure: infra[pc.id][pos]}
				if pc.timed {
					s := pc.seconds
					ep.Seconds = &s
				}
				eb.Platforms = append(eb.Platforms, ep)
			}
			out.Batches = append(out.Batches, eb)
		}
	}}
	reps, runs, err := buildReportsWith(fsys, name, []ReportOptions{o}, hooks)
	if err != nil {
		return nil, err
	}
	if r := reps[0]; r != nil {
		out.FirstProblems = r.Problems
		out.Problems = len(r.Problems) + r.MoreProblems
	}
	minutes := map[string]*float64{}
	for _, r := range runs {
		if r.minutes != nil {
			minutes[r.id] = r.minutes
		}
	}
	for i := range out.Batches {
		out.Batches[i].MacOSMinutes = minutes[out.Batches[i].ID]
	}
	return out, nil
}
