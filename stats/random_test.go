package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBetaDrawMoments: the draws' mean is p and their variance
// p(1-p) icc, the beta distribution's with a + b = (1-icc)/icc.
func TestBetaDrawMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ p, icc float64 }{{0.5, 0.05}, {0.9, 0.2}, {0.98, 0.2}} {
		const n = 2000000
		var s, s2 float64
		for i := 0; i < n; i++ {
			x := BetaDraw(rng, c.p, c.icc)
			s += x
			s2 += x * x
		}
		mean := s / n
		v := s2/n - mean*mean
		if math.Abs(mean-c.p) > 0.002 || math.Abs(v-c.p*(1-c.p)*c.icc)/(c.p*(1-c.p)*c.icc) > 0.03 {
			t.Errorf("p %.2f icc %.2f: mean %.4f variance %.5f, want %.5f", c.p, c.icc, mean, v, c.p*(1-c.p)*c.icc)
		}
	}
}
