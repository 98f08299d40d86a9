package infer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEstimateICCUnbiased: the pooled ANOVA estimate of the intra-batch
// correlation stays within 0.02 of the truth on average, at pass rates from
// 0.5 to 0.98 and groups of only 3 batches (where a moment estimator that
// divides by each group's p(1-p) falls to about 0.12 for a true 0.2).
func TestEstimateICCUnbiased(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	reps := 300
	if raceOn {
		reps = 60
	}
	for _, rho := range []float64{0, 0.05, 0.2} {
		for _, p := range []float64{0.5, 0.85, 0.98} {
			var sum float64
			for r := 0; r < reps; r++ {
				groups := make([][]Obs, 60)
				for g := range groups {
					for b := 0; b < 3; b++ {
						n := 5 + rng.IntN(25)
						groups[g] = append(groups[g], Obs{Tested: int64(n), Passed: betaBinom(rng, p, rho, n)})
					}
				}
				sum += EstimateICC(groups).Rho
			}
			mean := sum / float64(reps)
			if testing.Verbose() {
				t.Logf("rho %.2f p %.2f: mean estimate %.3f", rho, p, mean)
			}
			// Clamping at 0 lifts the mean a little when rho is 0.
			if math.Abs(mean-rho) > 0.02 {
				t.Errorf("rho %.2f p %.2f: mean estimate %.3f", rho, p, mean)
			}
		}
	}
}

// TestEstimateICCKnown: a hand-worked case. Two groups; in each, one batch
// passes all 4 and one passes none: every batch is all or nothing, so the
// correlation is 1.
func TestEstimateICCKnown(t *testing.T) {
	g := []Obs{{Tested: 4, Passed: 4}, {Tested: 4, Passed: 0}}
	if r := EstimateICC([][]Obs{g, g}).Rho; math.Abs(r-1) > 1e-12 {
		t.Errorf("all-or-nothing batches: rho %v, want 1", r)
	}
	// Identical batches (2 of 4 each) vary less than chance: clamped to 0.
	h := []Obs{{Tested: 4, Passed: 2}, {Tested: 4, Passed: 2}}
	if r := EstimateICC([][]Obs{h}).Rho; r != 0 {
		t.Errorf("identical batches: rho %v, want 0", r)
	}
}

// TestICCPool: the pooled correlation extended batch by batch equals
// EstimateICC over the same groups, at every step of a long random
// sequence (groups of one batch, empty batches and rates of 0 and 1
// included).
func TestICCPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, rho := range []float64{0, 0.05, 0.3} {
		var pool ICCPool
		groups := make([][]Obs, 40)
		for step := 0; step < 5000; step++ {
			g := rng.IntN(len(groups))
			n := rng.IntN(30)
			p := []float64{0, 0.6, 0.95, 1}[g%4]
			o := Obs{Tested: int64(n)}
			if n > 0 {
				o.Passed = betaBinom(rng, p, rho, n)
			}
			pool.Add(g, o)
			groups[g] = append(groups[g], o)
			if step%97 != 0 && step < 4990 {
				continue
			}
			want, got := EstimateICC(groups).Rho, pool.Rho()
			if math.Abs(got-want) > 1e-9 {
				t.Fatalf("rho %.2f, step %d: pooled %v, EstimateICC %v", rho, step, got, want)
			}
		}
	}
}
