package analyze

import (
	"fmt"
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

// TestSeriesEcoSharesRate: a series built with its rate keeps its
// ecosystem observations in the rate's while every batch tested one
// ecosystem, and apart from the first that spans several on; either way
// they are those of a series built without the rate, observation for
// observation, whether that batch comes first, in the middle, last or
// never, and with batches that tested nothing, incidents among them.
func TestSeriesEcoSharesRate(t *testing.T) {
	table := newPlatTable()
	const plat = "linux-debian-glibc-x86_64"
	rng := rand.New(rand.NewPCG(7, 8))
	apart := 0
	for round := range 200 {
		var bs []*batch
		pos := map[*batch]int{}
		n := 1 + rng.IntN(30)
		spans := rng.IntN(n + 1) // the first batch that spans ecosystems (n: none)
		for i := range n {
			tested := int64(rng.IntN(20))
			infra := int64(0)
			if rng.IntN(8) == 0 {
				infra = tested // an incident, when enough tested
			}
			pc := platCount{id: plat, c: counts{Tested: tested, Passed: rng.Int64N(tested + 1 - infra), Failed: tested, SkippedKnown: true}, infra: infra, infraKnown: true}
			b := &batch{id: fmt.Sprint("b", i), ecosystem: []string{"npm", "pypi"}[rng.IntN(2)]}
			b.plats = packPlats(table, []platCount{pc})
			if i >= spans && rng.IntN(2) == 0 || i == spans {
				b.ecosystem = "mixed"
				b.byEco = map[string]packedPlats{}
				for _, e := range []string{"npm", "go", "pypi"} {
					t := int64(rng.IntN(10))
					b.byEco[e] = packPlats(table, []platCount{{id: plat, c: counts{Tested: t, Passed: rng.Int64N(t + 1), SkippedKnown: true}, infraKnown: true}})
				}
			}
			bs = append(bs, b)
			pos[b] = i
		}
		with := platSeries(bs, &failureAgg{}, pos, flakyKept, seriesRate|seriesEco|seriesHealth)[plat]
		without := platSeries(bs, &failureAgg{}, pos, flakyKept, seriesEco)[plat]
		if (with == nil) != (without == nil) {
			t.Fatalf("round %d: a series only one way", round)
		}
		if with == nil {
			continue
		}
		if !slices.Equal(with.ecoObs(), without.ecoObs()) {
			t.Fatalf("round %d (spanning from %d of %d): %+v, want %+v", round, spans, n, with.ecoObs(), without.ecoObs())
		}
		if spans == n && !with.ecoRate {
			t.Fatalf("round %d: eco kept apart with no batch spanning ecosystems", round)
		}
		if !with.ecoRate {
			apart++
		}
	}
	// Most rounds have a spanning batch that tested the platform (not an
	// incident): the copy out of the rate's is exercised.
	if apart < 100 {
		t.Fatalf("eco kept apart in %d rounds of 200", apart)
	}
}
