package infer

import (
	"math"

	"github.com/batchsli/batchsli/stats"
)

// SkipTest is the evidence that an ecosystem fails on a platform more often
// than a threshold, with batches as clusters.
type SkipTest struct {
	// Testable is false when the cell has fewer than MinBatches batches or
	// MinTests tests; Reason says which.
	Testable bool
	Reason   string
	Rate     float64 // recipe failures / recipe tests
	N        int64
	Failed   int64
	Batches  int
	// ICC is the intra-batch correlation pooled over the matrix, and DF
	// its degrees of freedom; DesignEffect = sum n_b (1 + (n_b-1) ICC) / N
	// is this cell's own, from its batch sizes.
	ICC, DF      float64
	DesignEffect float64
	// Low and High bound the failure rate: Wilson on N / DesignEffect
	// with Student's t on DF degrees of freedom.
	Low, High float64
	// P is the one-sided p-value of "the failure rate exceeds the
	// threshold"; Q its Benjamini-Hochberg q-value among the cells tested
	// together (set by SkipAdvice).
	P, Q float64
}

// TestSkip tests one cell against the threshold, with the intra-batch
// correlation icc pooled over the matrix (a beta-binomial variance, the
// model of Williams 1982): the cell's design effect follows from its own
// batch sizes, so a cell of large batches is not credited with the
// precision of many small ones. The statistic is (rate - threshold) over
// the standard error the threshold itself implies, sqrt(thr (1-thr) deff /
// N) (a score test, so a cell failing every test still has a finite one),
// referred to Student's t on icc's degrees of freedom, one-sided.
func TestSkip(obs []Obs, threshold float64, icc ICC) SkipTest {
	st := SkipTest{ICC: icc.Rho, DF: math.Max(icc.DF, 1)}
	var m float64
	for _, o := range obs {
		if o.Tested > 0 {
			st.N += o.Tested
			st.Failed += o.Tested - o.Passed
			st.Batches++
			n := float64(o.Tested)
			m += n * (1 + (n-1)*icc.Rho)
		}
	}
	if st.N > 0 {
		st.DesignEffect = m / float64(st.N)
	}
	if st.N > 0 {
		st.Rate = float64(st.Failed) / float64(st.N)
	}
	switch {
	case st.Batches < MinBatches:
		st.Reason = "too few batches"
		return st
	case st.N < MinTests:
		st.Reason = "too few tests"
		return st
	}
	st.Testable = true
	df := st.DF
	neff := float64(st.N) / st.DesignEffect
	iv := stats.WilsonN(st.Rate, neff, stats.TQuantile(0.975, df))
	st.Low, st.High = iv.Low, iv.High
	se := math.Sqrt(threshold * (1 - threshold) / neff)
	st.P = 1 - stats.TCDF((st.Rate-threshold)/se, df)
	return st
}

// SkipAdvice applies Benjamini-Hochberg across the testable cells: it sets
// each one's Q and reports which are advised (Q <= Q, the package's false discovery rate).
func SkipAdvice(tests []SkipTest) []bool {
	var ps []float64
	var idx []int
	for i, t := range tests {
		if t.Testable {
			ps = append(ps, t.P)
			idx = append(idx, i)
		}
	}
	qs := stats.QValues(ps)
	advised := make([]bool, len(tests))
	for j, i := range idx {
		tests[i].Q = qs[j]
		advised[i] = qs[j] <= Q
	}
	return advised
}

// ExceedTest is the one-sided evidence that a failure rate exceeds a
// threshold from the batches' own spread (ExceedsClustered).
type ExceedTest struct {
	Testable bool
	Rate     float64
	N        int64
	Failed   int64
	Batches  int
	// SE is the rate's standard error; T the statistic and P its
	// one-sided p-value on Batches-1 degrees of freedom.
	SE, T, P float64
}

// ExceedsClustered tests "the failure rate exceeds threshold" over obs
// (Passed counts passes), with batches as clusters and the variance of the
// ratio estimator from the batches' own residuals (Cochran 1977, sampling
// techniques, 6.3; the cluster-robust variance), B/(B-1) sum (f_b - r
// n_b)^2 / N^2, floored at the binomial variance the threshold implies,
// thr (1-thr) / N. The statistic is referred to Student's t on B-1
// degrees of freedom. A window of few batches in which one batch fails
// wholesale (a burst) thus carries that batch's weight in its spread:
// what a sustained rise shows in every batch, a single burst does not.
// Needs MinBatches batches and MinTests tests.
func ExceedsClustered(obs []Obs, threshold float64) ExceedTest {
	var et ExceedTest
	for _, o := range obs {
		if o.Tested > 0 {
			et.N += o.Tested
			et.Failed += o.Tested - o.Passed
			et.Batches++
		}
	}
	if et.N == 0 {
		return et
	}
	n := float64(et.N)
	et.Rate = float64(et.Failed) / n
	if et.Batches < MinBatches || et.N < MinTests {
		return et
	}
	et.Testable = true
	var ss float64
	for _, o := range obs {
		if o.Tested > 0 {
			d := float64(o.Tested-o.Passed) - et.Rate*float64(o.Tested)
			ss += d * d
		}
	}
	b := float64(et.Batches)
	v := math.Max(b/(b-1)*ss/(n*n), threshold*(1-threshold)/n)
	et.SE = math.Sqrt(v)
	et.T = (et.Rate - threshold) / et.SE
	et.P = 1 - stats.TCDF(et.T, b-1)
	return et
}
