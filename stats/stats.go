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
