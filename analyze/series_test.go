package analyze

import (
	"slices"
	"testing"

	"github.com/batchsli/batchsli/infer"
)

// TestSeriesOrderWithinBatch: a batch spanning several ecosystems gives a
// platform's observations in ecosystem order, every time (the detector's
// CUSUM reads them in that order; a map's order varies between runs).
func TestSeriesOrderWithinBatch(t *testing.T) {
	table := newPlatTable()
	ecos := []string{"npm", "pypi", "crates.io", "go", "rubygems", "homebrew", "github"}
	var bs []*batch
	pos := map[*batch]int{}
	for i := range 3 {
		b := &batch{id: "b", ecosystem: "mixed", byEco: map[string]packedPlats{}}
		all := []platCount{{id: "linux-debian-glibc-x86_64", c: counts{Tested: 70, Passed: 60, SkippedKnown: true}, infraKnown: true}}
		b.plats = packPlats(table, all)
		for j, e := range ecos {
			b.byEco[e] = packPlats(table, []platCount{{id: "linux-debian-glibc-x86_64", c: counts{Tested: 10, Passed: int64(j), SkippedKnown: true}, infraKnown: true}})
		}
		bs = append(bs, b)
		pos[b] = i
	}
	var first []infer.Obs
	for run := range 30 {
		s := platSeries(bs, &failureAgg{}, pos, flakyKept, seriesEco|seriesYield)["linux-debian-glibc-x86_64"]
		if s == nil || len(s.eco) != 3*len(ecos) {
			t.Fatalf("series %+v", s)
		}
		if !slices.IsSortedFunc(s.eco, byBatchEco) || !slices.IsSortedFunc(s.yield, byBatchEco) {
			t.Fatalf("run %d: not in batch and ecosystem order: %+v", run, s.eco)
		}
		if run == 0 {
			first = slices.Clone(s.eco)
		} else if !slices.Equal(first, s.eco) {
			t.Fatalf("run %d: another order", run)
		}
	}
}

// TestSeriesEcosystemsByName: within a batch, a series' observations are
// in the order of their ecosystems' names, not of their indexes in the
// process's table (which follows the order names were first met).
func TestSeriesEcosystemsByName(t *testing.T) {
	z, a := infer.EcoOf("zz-series-by-name"), infer.EcoOf("aa-series-by-name")
	if z >= a {
		t.Fatalf("indexes %d, %d: the test needs the later name first", z, a)
	}
	obs := []infer.Obs{{Batch: 1, Eco: z}, {Batch: 1, Eco: a}, {Batch: 0, Eco: z}}
	slices.SortFunc(obs, byBatchEco)
	if obs[0].Batch != 0 || obs[1].Eco != a || obs[2].Eco != z {
		t.Fatalf("order %+v", obs)
	}
}
