// Package stats holds the small statistics batchsli reports with: Wilson
// score intervals for pass rates, a two-proportion test for changes between
// windows, and quantiles. Functions are pure and take plain numbers.
package stats

import (
	"math"
	"sort"
)

// Z95 is the standard normal quantile for a two-sided 95% interval.
const Z95 = 1.959963984540054

// Interval is a confidence interval for a proportion.
type Interval struct {
	Low, High float64
}

// Wilson returns the Wilson score interval for k successes out of n at the
// given z (Z95 for 95%). With n = 0 the interval is [0, 1]: nothing is known.
func Wilson(k, n int64, z float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	if k < 0 {
		k = 0
	}
	if k > n {
		k = n
	}
	iv := WilsonN(float64(k)/float64(n), float64(n), z)
	// Exact bounds at the edges.
	if k == 0 {
		iv.Low = 0
	}
	if k == n {
		iv.High = 1
	}
	return iv
}

// Change is the comparison of a proportion between two windows.
type Change struct {
	Delta float64 // p2 - p1
	Z     float64 // pooled two-proportion z statistic
	P     float64 // two-sided p-value
	// Testable is false when a window is too small for the normal
	// approximation (fewer than 5 expected successes or failures in either).
	Testable bool
	// Significant is true when Testable and P < alpha.
	Significant bool
}

// CompareProportions tests whether k2/n2 differs from k1/n1 with a pooled
// two-proportion z-test at significance level alpha (0.05 for 95%).
func CompareProportions(k1, n1, k2, n2 int64, alpha float64) Change {
	if n1 <= 0 || n2 <= 0 {
		return Change{}
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	c := Change{Delta: p2 - p1}
	pool := float64(k1+k2) / float64(n1+n2)
	for _, n := range []int64{n1, n2} {
		if pool*float64(n) < 5 || (1-pool)*float64(n) < 5 {
			return c
		}
	}
	c.Testable = true
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return c
	}
	c.Z = c.Delta / se
	c.P = math.Erfc(math.Abs(c.Z) / math.Sqrt2)
	c.Significant = c.P < alpha
	return c
}

// Quantile returns the q-quantile (0..1) of xs by linear interpolation
// between order statistics (Hyndman and Fan type 7, as R and NumPy default).
// xs is sorted in place. It returns NaN for no data.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	if !sort.Float64sAreSorted(xs) {
		sort.Float64s(xs)
	}
	h := q * float64(len(xs)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-lo)*(xs[i+1]-xs[i])
}
