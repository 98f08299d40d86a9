package stats

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Published values: Newcombe (1998), "Two-sided confidence intervals for the
// single proportion", Statistics in Medicine 17, Table I, method 3 (Wilson
// score without continuity correction), and the usual n/n and 0/n bounds.
func TestWilsonPublished(t *testing.T) {
	tests := []struct {
		k, n   int64
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0.0000, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{0, 10, 0.0000, 0.2775},
		{10, 10, 0.7225, 1.0000},
		{5, 10, 0.2366, 0.7634},
		{3, 3, 0.4385, 1.0000},
		{0, 1, 0.0000, 0.7935},
		{1, 1, 0.2065, 1.0000},
	}
	for _, tt := range tests {
		got := Wilson(tt.k, tt.n, Z95)
		if !near(got.Low, tt.lo, 0.00006) || !near(got.High, tt.hi, 0.00006) {
			t.Errorf("Wilson(%d/%d) = [%.4f, %.4f], want [%.4f, %.4f]", tt.k, tt.n, got.Low, got.High, tt.lo, tt.hi)
		}
	}
}

func TestWilsonEdges(t *testing.T) {
	if got := Wilson(0, 0, Z95); got != (Interval{0, 1}) {
		t.Errorf("Wilson(0/0) = %v, want [0, 1]", got)
	}
	for n := int64(1); n < 200; n += 7 {
		for k := int64(0); k <= n; k++ {
			iv := Wilson(k, n, Z95)
			p := float64(k) / float64(n)
			if iv.Low < 0 || iv.High > 1 || iv.Low > p || iv.High < p {
				t.Fatalf("Wilson(%d/%d) = %v does not hold %v within [0,1]", k, n, iv, p)
			}
		}
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{4, 1, 3, 2}, 0.9, 3.7},
		{[]float64{7}, 0.9, 7},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{[]float64{1, 2, 3}, 0, 1},
		{[]float64{1, 2, 3}, 1, 3},
	}
	for _, tt := range tests {
		if got := Quantile(tt.xs, tt.q); !near(got, tt.want, 1e-9) {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tt.xs, tt.q, got, tt.want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile(nil) is not NaN")
	}
}
