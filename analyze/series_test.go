package analyze

import (
	"maps"
	"math"
	"math/rand/v2"
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

// TestPooledICCFromSums: the pooled correlation from each group's sums
// equals, to the last bit, infer.EstimateICC over the groups written out
// (each platform's observations by ecosystem, platforms by ID, ecosystems
// by name, each group in series order), with the ecosystems interleaved
// and first met in an order other than their names'.
func TestPooledICCFromSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ecos := []infer.Eco{infer.EcoOf("zz-eco"), infer.EcoOf("npm"), infer.EcoOf("aa-eco"), infer.EcoOf("pypi")}
	for round := range 50 {
		sers := []map[string]*series{{}, {}}
		for _, ser := range sers {
			for _, id := range []string{"p3", "p1", "p2"}[:1+rng.IntN(3)] {
				s := &series{}
				for b := range 5 + rng.IntN(60) {
					n := int64(rng.IntN(40))
					s.eco = append(s.eco, infer.Obs{Batch: int32(b), Eco: ecos[rng.IntN(len(ecos))], Tested: n, Passed: rng.Int64N(n + 1)})
				}
				ser[id] = s
			}
		}
		var groups [][]infer.Obs
		for _, ser := range sers {
			ids := slices.Sorted(maps.Keys(ser))
			for _, id := range ids {
				byName := slices.Clone(ecos)
				slices.SortFunc(byName, infer.CompareEcos)
				for _, e := range byName {
					var g []infer.Obs
					for _, o := range ser[id].eco {
						if o.Eco == e {
							g = append(g, o)
						}
					}
					if g != nil {
						groups = append(groups, g)
					}
				}
			}
		}
		want := infer.EstimateICC(groups).Rho
		if got := pooledICC(sers...); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("round %d: pooled ICC %v, want %v", round, got, want)
		}
	}
}
