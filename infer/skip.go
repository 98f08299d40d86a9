package infer

import (
	"math"

	"github.com/batchsli/batchsli/stats"
)

// Skip advice settings (docs/METHODS.md, "Skip advice").
const (
	// SkipMinBatches and SkipMinTests are the least evidence a cell needs
	// before it is tested at all.
	SkipMinBatches = 3
	SkipMinTests   = 10
	// SkipQ is the false discovery rate the advice is controlled at.
	SkipQ = 0.05
)

// SkipTest is the evidence that an ecosystem fails on a platform more often
// than a threshold, with batches as clusters.
type SkipTest struct {
	// Testable is false when the cell has fewer than SkipMinBatches
	// batches or SkipMinTests tests; Reason says which.
	Testable bool
	Reason   string
	Rate     float64 // failures / tests
	N        int64
	Batches  int
	// DesignEffect and EffectiveN from the batches' spread (stats.Clustered).
	DesignEffect, EffectiveN float64
	// Low and High bound the failure rate: Wilson on the effective n with
	// Student's t quantile on Batches-1 degrees of freedom.
	Low, High float64
	// P is the one-sided p-value of "the failure rate exceeds the
	// threshold"; Q its Benjamini-Hochberg q-value among the cells tested
	// together (set by SkipAdvice).
	P, Q float64
}

// TestSkip tests one cell: failed and tested hold its per-batch counts.
// The statistic is (rate - threshold) over the standard error the
// threshold itself implies on the effective n (a score test, so a cell
// failing every test still has a finite one), referred to Student's t on
// batches-1 degrees of freedom.
func TestSkip(failed, tested []int64, threshold float64) SkipTest {
	c := stats.ClusterProportion(failed, tested)
	st := SkipTest{Rate: c.P, N: c.N, Batches: c.Clusters, DesignEffect: c.DesignEffect, EffectiveN: c.EffectiveN}
	switch {
	case c.Clusters < SkipMinBatches:
		st.Reason = "too few batches"
		return st
	case c.N < SkipMinTests:
		st.Reason = "too few tests"
		return st
	}
	st.Testable = true
	df := float64(c.Clusters - 1)
	iv := stats.WilsonN(c.P, c.EffectiveN, stats.TQuantile(0.975, df))
	st.Low, st.High = iv.Low, iv.High
	se := math.Sqrt(threshold * (1 - threshold) / c.EffectiveN)
	st.P = 1 - stats.TCDF((c.P-threshold)/se, df)
	return st
}

// SkipAdvice applies Benjamini-Hochberg across the testable cells: it sets
// each one's Q and reports which are advised (Q <= SkipQ).
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
		advised[i] = qs[j] <= SkipQ
	}
	return advised
}
