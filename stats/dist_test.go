package stats

import (
	"math"
	"testing"
)

// Student's t quantiles from published tables (two-sided 95%: the 0.975
// quantile), and the normal limit.
func TestTQuantile(t *testing.T) {
	for _, tt := range []struct{ df, want float64 }{
		{1, 12.7062047361747}, {2, 4.30265272974946}, {5, 2.57058183563631},
		{10, 2.22813885198627}, {30, 2.04227245630124}, {120, 1.97993040508242},
	} {
		if got := TQuantile(0.975, tt.df); !near(got, tt.want, 1e-9) {
			t.Errorf("TQuantile(0.975, %v) = %.12f, want %.12f", tt.df, got, tt.want)
		}
	}
	if got := TQuantile(0.025, 5); !near(got, -2.57058183563631, 1e-9) {
		t.Errorf("lower tail: %v", got)
	}
	if got := NormalQuantile(0.975); !near(got, Z95, 1e-15) {
		t.Errorf("NormalQuantile(0.975) = %v", got)
	}
}

// binomCDF is P(X <= k) for X ~ Binomial(n, p), summed exactly.
func binomCDF(k, n int64, p float64) float64 {
	s := 0.0
	for i := int64(0); i <= k; i++ {
		lc, _ := math.Lgamma(float64(n + 1))
		li, _ := math.Lgamma(float64(i + 1))
		lni, _ := math.Lgamma(float64(n - i + 1))
		s += math.Exp(lc - li - lni + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return s
}

// The Clopper-Pearson bounds are where the binomial tails are alpha/2; the
// edges have closed forms (1 - (alpha/2)^(1/n) for 0 of n).
func TestClopperPearson(t *testing.T) {
	iv := ClopperPearson(0, 10, 0.95)
	if iv.Low != 0 || !near(iv.High, 1-math.Pow(0.025, 0.1), 1e-12) {
		t.Errorf("0/10: %+v", iv)
	}
	iv = ClopperPearson(3, 3, 0.95)
	if iv.High != 1 || !near(iv.Low, math.Pow(0.025, 1.0/3), 1e-12) {
		t.Errorf("3/3: %+v", iv)
	}
	for _, c := range [][2]int64{{81, 263}, {15, 148}, {1, 29}, {7, 12}} {
		k, n := c[0], c[1]
		iv := ClopperPearson(k, n, 0.95)
		// P(X >= k | p_low) = 0.025 and P(X <= k | p_high) = 0.025.
		if up := 1 - binomCDF(k-1, n, iv.Low); !near(up, 0.025, 1e-9) {
			t.Errorf("%d/%d: upper tail at the lower bound %v = %v", k, n, iv.Low, up)
		}
		if lo := binomCDF(k, n, iv.High); !near(lo, 0.025, 1e-9) {
			t.Errorf("%d/%d: lower tail at the upper bound %v = %v", k, n, iv.High, lo)
		}
		w := Wilson(k, n, Z95)
		if !(iv.Low <= w.Low && iv.High >= w.High) {
			t.Errorf("%d/%d: exact %+v should contain Wilson %+v", k, n, iv, w)
		}
	}
}

// The Jeffreys interval is the Beta(k+1/2, n-k+1/2) equal-tailed interval.
func TestJeffreys(t *testing.T) {
	iv := Jeffreys(81, 263, 0.95)
	if !near(RegIncBeta(81.5, 182.5, iv.Low), 0.025, 1e-12) || !near(RegIncBeta(81.5, 182.5, iv.High), 0.975, 1e-12) {
		t.Errorf("81/263: %+v", iv)
	}
	if iv := Jeffreys(0, 10, 0.95); iv.Low != 0 || iv.High <= 0 || iv.High >= ClopperPearson(0, 10, 0.95).High {
		t.Errorf("0/10: %+v", iv)
	}
}

// RegIncBeta against closed forms: I_x(1, b) = 1-(1-x)^b, I_x(a, 1) = x^a,
// I_x(1/2, 1/2) = (2/pi) asin(sqrt x).
func TestRegIncBeta(t *testing.T) {
	for _, x := range []float64{0.01, 0.2, 0.5, 0.77, 0.99} {
		if got := RegIncBeta(1, 3.5, x); !near(got, 1-math.Pow(1-x, 3.5), 1e-13) {
			t.Errorf("I_%v(1, 3.5) = %v", x, got)
		}
		if got := RegIncBeta(4, 1, x); !near(got, math.Pow(x, 4), 1e-13) {
			t.Errorf("I_%v(4, 1) = %v", x, got)
		}
		if got := RegIncBeta(0.5, 0.5, x); !near(got, 2/math.Pi*math.Asin(math.Sqrt(x)), 1e-12) {
			t.Errorf("I_%v(1/2, 1/2) = %v", x, got)
		}
	}
}

// The worked example of Benjamini and Hochberg (1995, section 3.2): 15
// p-values, of which the four smallest are discoveries at q = 0.05.
func TestQValues(t *testing.T) {
	ps := []float64{0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000}
	q := QValues(ps)
	n := 0
	for _, v := range q {
		if v <= 0.05 {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d discoveries, want 4 (q = %v)", n, q)
	}
	if !near(q[0], 0.0015, 1e-12) || !near(q[3], 0.035625, 1e-12) || q[14] != 1 {
		t.Errorf("q = %v", q)
	}
	// Order does not matter.
	r := QValues([]float64{1.000, 0.0095, 0.0001})
	if !near(r[1], 0.0095*3/2, 1e-15) || !near(r[2], 0.0003, 1e-15) || r[0] != 1 {
		t.Errorf("unsorted: %v", r)
	}
}

func TestClusterProportion(t *testing.T) {
	// Two batches, all or nothing: worth one independent trial.
	c := ClusterProportion([]int64{0, 10}, []int64{10, 10})
	if c.P != 0.5 || c.N != 20 || c.Clusters != 2 || !near(c.Var, 0.25, 1e-15) || !near(c.DesignEffect, 20, 1e-12) || !near(c.EffectiveN, 1, 1e-12) {
		t.Errorf("all or nothing: %+v", c)
	}
	// Identical batches: no between-batch variance; the effective n stays N.
	c = ClusterProportion([]int64{5, 5, 0}, []int64{10, 10, 0})
	if c.Clusters != 2 || c.Var != 0 || c.EffectiveN != 20 {
		t.Errorf("identical: %+v", c)
	}
	// Cochran's ratio variance by hand: y = 2, 6, 1 of n = 10, 20, 5.
	c = ClusterProportion([]int64{2, 6, 1}, []int64{10, 20, 5})
	p := 9.0 / 35
	ss := math.Pow(2-p*10, 2) + math.Pow(6-p*20, 2) + math.Pow(1-p*5, 2)
	if !near(c.Var, 1.5*ss/(35*35), 1e-15) || !near(c.DesignEffect, c.Var/(p*(1-p)/35), 1e-12) {
		t.Errorf("by hand: %+v", c)
	}
	// One batch: no between-batch variance can be estimated.
	if c := ClusterProportion([]int64{3}, []int64{4}); c.Clusters != 1 || c.Var != 0 {
		t.Errorf("one batch: %+v", c)
	}
}

func TestTCDF(t *testing.T) {
	for _, df := range []float64{1, 4, 29} {
		for _, p := range []float64{0.025, 0.3, 0.5, 0.9, 0.995} {
			if got := TCDF(TQuantile(p, df), df); !near(got, p, 1e-9) {
				t.Errorf("TCDF(TQuantile(%v, %v)) = %v", p, df, got)
			}
		}
	}
	// t with 1 degree of freedom is Cauchy: P(T <= 1) = 3/4.
	if got := TCDF(1, 1); !near(got, 0.75, 1e-12) {
		t.Errorf("TCDF(1, 1) = %v", got)
	}
	if iv, w := WilsonN(81.0/263, 263, Z95), Wilson(81, 263, Z95); !near(iv.Low, w.Low, 1e-15) || !near(iv.High, w.High, 1e-15) {
		t.Errorf("WilsonN %+v, Wilson %+v", iv, w)
	}
}

// TestMcNemarExact checks the exact McNemar test against two-sided exact
// binomial p-values on the discordant pairs, computed in exact rational
// arithmetic (the values R's binom.test(min(b,c), b+c) and SciPy's
// binomtest give).
func TestMcNemarExact(t *testing.T) {
	for _, tt := range []struct {
		b, c int64
		p    float64
	}{
		{0, 0, 1},
		{1, 9, 0.021484375},
		{9, 1, 0.021484375},
		{2, 8, 0.109375},
		{0, 5, 0.0625},
		{5, 5, 1},
		{3, 0, 0.25},
		{10, 25, 0.016673847800120711},
		{7, 21, 0.012540951371192932},
		{40, 60, 0.056887933640980791},
		{120, 80, 0.0056851559967503055},
		{500, 560, 0.069909559460269333},
	} {
		got := McNemarExact(tt.b, tt.c)
		if math.Abs(got-tt.p) > 1e-9*math.Max(tt.p, 1e-300) && math.Abs(got-tt.p) > 1e-12 {
			t.Errorf("McNemarExact(%d, %d) = %.17g, want %.17g", tt.b, tt.c, got, tt.p)
		}
	}
}

// TestClusteredMcNemar: with one pair per cluster it is the exact McNemar
// test (each cluster's difference is +1 or -1: the sign-flip distribution
// is the binomial's); with larger clusters it is the sign-flip test,
// checked against hand-computed values; and its chi-square form holds
// where enumeration is too costly.
func TestClusteredMcNemar(t *testing.T) {
	for _, tt := range []struct{ b, c int64 }{{1, 9}, {2, 8}, {0, 5}, {5, 5}, {10, 25}, {7, 21}} {
		var d []int64
		for range tt.b {
			d = append(d, 1)
		}
		for range tt.c {
			d = append(d, -1)
		}
		d = append(d, 0, 0)
		got, m := ClusteredMcNemar(d)
		if want := McNemarExact(tt.b, tt.c); math.Abs(got-want) > 1e-12 || m != int(tt.b+tt.c) {
			t.Errorf("b=%d c=%d: %v (%d clusters), want %v", tt.b, tt.c, got, m, want)
		}
	}
	// d = {3, 1, 2}: S = 6; of the 8 sign patterns only +++ and --- reach
	// |S| >= 6: p = 2/8.
	if p, _ := ClusteredMcNemar([]int64{3, 1, 2}); math.Abs(p-0.25) > 1e-12 {
		t.Errorf("{3,1,2}: %v, want 0.25", p)
	}
	// d = {4, -1, 1}: S = 4; |S*| >= 4 for +4 with (-1,+1) or (+1,-1), and
	// +4+1+1 = 6, and the mirror images: 6 of 8.
	if p, _ := ClusteredMcNemar([]int64{4, -1, 1}); math.Abs(p-0.75) > 1e-12 {
		t.Errorf("{4,-1,1}: %v, want 0.75", p)
	}
	// Large: 2,000 clusters of +-1000 are beyond enumeration; S^2/sum d^2.
	d := make([]int64, 2000)
	for i := range d {
		d[i] = 1000
		if i%2 == 1 {
			d[i] = -1000
		}
	}
	d[0], d[2] = 1000, 1000 // S = 0 still: balanced
	if p, _ := ClusteredMcNemar(d); math.Abs(p-1) > 1e-12 {
		t.Errorf("balanced large: %v, want 1", p)
	}
	d[1] = 1000 // S = 2000, sum d^2 = 2000 * 1e6: x = 4e6/2e9 = 0.002
	if p, _ := ClusteredMcNemar(d); math.Abs(p-math.Erfc(math.Sqrt(0.002/2))) > 1e-12 {
		t.Errorf("large: %v", p)
	}
}
