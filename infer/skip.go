package infer

import (
	"math"

	"github.com/batchsli/batchsli/stats"
)

// SkipQ is the false discovery rate the skip advice is controlled at.
const SkipQ = Q

// Dispersion is a quasi-binomial dispersion: the ratio of the batches'
// spread to the binomial's, pooled over many cells, with its degrees of
// freedom.
type Dispersion struct {
	Phi float64
	DF  float64
}

// PooledDispersion pools Pearson's X^2 over cells (each a list of batches,
// about the cell's own rate) into one dispersion, the moment estimator of
// Williams (1982): Phi = sum X^2 / sum (batches - 1), at least 1. Cells
// whose rate is 0 or 1 carry no information about it.
func PooledDispersion(cells [][]Obs) Dispersion {
	var x2, df float64
	for _, obs := range cells {
		var x, n float64
		k := 0
		for _, o := range obs {
			if o.Tested > 0 {
				x += float64(o.Passed)
				n += float64(o.Tested)
				k++
			}
		}
		if k < 2 {
			continue
		}
		p := x / n
		if p <= 0 || p >= 1 {
			continue
		}
		for _, o := range obs {
			if o.Tested > 0 {
				r := float64(o.Passed) - float64(o.Tested)*p
				x2 += r * r / (float64(o.Tested) * p * (1 - p))
			}
		}
		df += float64(k - 1)
	}
	d := Dispersion{Phi: 1, DF: df}
	if df >= 1 {
		d.Phi = math.Max(1, x2/df)
	}
	return d
}

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
	// Dispersion is the matrix's pooled dispersion the test used.
	Dispersion Dispersion
	// Low and High bound the failure rate: Wilson on N / Phi with Student's
	// t on the dispersion's degrees of freedom.
	Low, High float64
	// P is the one-sided p-value of "the failure rate exceeds the
	// threshold"; Q its Benjamini-Hochberg q-value among the cells tested
	// together (set by SkipAdvice).
	P, Q float64
}

// TestSkip tests one cell against the threshold. The statistic is (rate -
// threshold) over the standard error the threshold itself implies on N /
// Phi tests (a score test, so a cell failing every test still has a finite
// one), referred to Student's t on the dispersion's degrees of freedom.
func TestSkip(obs []Obs, threshold float64, d Dispersion) SkipTest {
	st := SkipTest{Dispersion: d}
	for _, o := range obs {
		if o.Tested > 0 {
			st.N += o.Tested
			st.Failed += o.Tested - o.Passed
			st.Batches++
		}
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
	df := math.Max(d.DF, 1)
	neff := float64(st.N) / math.Max(d.Phi, 1)
	iv := stats.WilsonN(st.Rate, neff, stats.TQuantile(0.975, df))
	st.Low, st.High = iv.Low, iv.High
	se := math.Sqrt(threshold * (1 - threshold) / neff)
	st.P = 1 - stats.TCDF((st.Rate-threshold)/se, df)
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
