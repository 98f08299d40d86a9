package stats

import (
	"math"
	"math/rand/v2"
)

// BetaDraw draws from the beta distribution with mean p and intra-class
// correlation icc (0 < icc < 1): a = p(1-icc)/icc, b = (1-p)(1-icc)/icc,
// so that Binomial(n, BetaDraw) results have Var = n p(1-p)(1 + (n-1) icc).
func BetaDraw(rng *rand.Rand, p, icc float64) float64 {
	s := (1 - icc) / icc
	x := GammaDraw(rng, p*s)
	y := GammaDraw(rng, (1-p)*s)
	if x+y == 0 {
		return p
	}
	return x / (x + y)
}

// GammaDraw draws from Gamma(shape, 1) (Marsaglia and Tsang 2000; shapes
// below one through Gamma(shape+1) * U^(1/shape)).
func GammaDraw(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return GammaDraw(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
