package stats

import (
	"math"
	"sort"
)

// NormalQuantile returns the standard normal quantile of p (0 < p < 1).
func NormalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// RegIncBeta returns the regularised incomplete beta function I_x(a, b),
// by its continued fraction (modified Lentz's method), using the symmetry
// I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction converges slowly.
// Reference: Abramowitz and Stegun 26.5.8; DLMF 8.17.22.
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	if x > (a+1)/(a+b+2) {
		return 1 - RegIncBeta(b, a, 1-x)
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab-la-lb+a*math.Log(x)+b*math.Log1p(-x)) / a
	const tiny = 1e-300
	f, c, d := 1.0, 1.0, 0.0
	for i := 0; i <= 400; i++ {
		m := float64(i / 2)
		var num float64
		switch {
		case i == 0:
			num = 1
		case i%2 == 0:
			num = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		default:
			num = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		}
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		d = 1 / d
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		cd := c * d
		f *= cd
		if math.Abs(1-cd) < 1e-15 {
			break
		}
	}
	return front * (f - 1)
}

// BetaQuantile returns x with I_x(a, b) = p, by bisection (to about 1e-15).
func BetaQuantile(p, a, b float64) float64 {
	lo, hi := 0.0, 1.0
	for i := 0; i < 200 && hi-lo > 1e-16; i++ {
		mid := (lo + hi) / 2
		if RegIncBeta(a, b, mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// TQuantile returns the quantile of Student's t distribution with df
// degrees of freedom at p (0 < p < 1), from P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2).
func TQuantile(p, df float64) float64 {
	if p == 0.5 {
		return 0
	}
	if p < 0.5 {
		return -TQuantile(1-p, df)
	}
	// Upper tail 1-p: find t > 0 with I_x(df/2, 1/2)/2 = 1-p.
	x := BetaQuantile(2*(1-p), df/2, 0.5)
	return math.Sqrt(df * (1 - x) / x)
}

// ClopperPearson returns the exact (Clopper and Pearson 1934) interval for
// k successes out of n at confidence level conf (0.95).
func ClopperPearson(k, n int64, conf float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	alpha := 1 - conf
	iv := Interval{0, 1}
	if k > 0 {
		iv.Low = BetaQuantile(alpha/2, float64(k), float64(n-k+1))
	}
	if k < n {
		iv.High = BetaQuantile(1-alpha/2, float64(k+1), float64(n-k))
	}
	return iv
}

// Jeffreys returns the Jeffreys interval (the equal-tailed interval of the
// Beta(k+1/2, n-k+1/2) posterior; Brown, Cai and DasGupta 2001), with the
// bound at 0 or 1 when k is 0 or n.
func Jeffreys(k, n int64, conf float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	alpha := 1 - conf
	a, b := float64(k)+0.5, float64(n-k)+0.5
	iv := Interval{0, 1}
	if k > 0 {
		iv.Low = BetaQuantile(alpha/2, a, b)
	}
	if k < n {
		iv.High = BetaQuantile(1-alpha/2, a, b)
	}
	return iv
}

// QValues returns the Benjamini-Hochberg (1995) adjusted p-values: a claim
// with q <= 0.05 is one of a set whose expected false discovery rate is at
// most 5%. q_(i) = min over j >= i of p_(j) m / j, capped at 1.
func QValues(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	q := make([]float64, m)
	min := 1.0
	for r := m - 1; r >= 0; r-- {
		i := idx[r]
		v := ps[i] * float64(m) / float64(r+1)
		if v < min {
			min = v
		}
		q[i] = min
	}
	return q
}

// Clustered is a proportion estimated over clusters (batches): the ratio of
// total successes to total trials, with the variance taken between clusters
// (the ratio estimator's linearised variance, Cochran 1977, section 6.11),
// so results that move together within a batch are not counted as
// independent evidence.
type Clustered struct {
	P        float64 // successes / trials
	N        int64   // trials
	Clusters int     // clusters with at least one trial
	// Var is the between-cluster variance of P; 0 with fewer than 2 clusters.
	Var float64
	// DesignEffect is Var over the binomial p(1-p)/N (1 for independent
	// trials; larger when batches differ more than chance allows).
	DesignEffect float64
	// EffectiveN is N / DesignEffect: the number of independent trials the
	// data are worth (N when the design effect is below 1, which is noise).
	EffectiveN float64
}

// ClusterProportion estimates a proportion from per-cluster successes and
// trials: Var = B/(B-1) * sum (y_i - P n_i)^2 / N^2.
func ClusterProportion(succ, trials []int64) Clustered {
	var c Clustered
	var y int64
	for i := range trials {
		if trials[i] > 0 {
			c.Clusters++
			c.N += trials[i]
			y += succ[i]
		}
	}
	if c.N == 0 {
		return c
	}
	c.P = float64(y) / float64(c.N)
	c.DesignEffect, c.EffectiveN = 1, float64(c.N)
	if c.Clusters < 2 {
		return c
	}
	var ss float64
	for i := range trials {
		if trials[i] > 0 {
			r := float64(succ[i]) - c.P*float64(trials[i])
			ss += r * r
		}
	}
	b := float64(c.Clusters)
	n := float64(c.N)
	c.Var = b / (b - 1) * ss / (n * n)
	if binom := c.P * (1 - c.P) / n; binom > 0 {
		c.DesignEffect = c.Var / binom
		if c.DesignEffect > 1 {
			c.EffectiveN = n / c.DesignEffect
		}
	}
	return c
}

// TCDF returns P(T <= t) for Student's t distribution with df degrees of
// freedom.
func TCDF(t, df float64) float64 {
	tail := 0.5 * RegIncBeta(df/2, 0.5, df/(df+t*t))
	if t >= 0 {
		return 1 - tail
	}
	return tail
}

// WilsonN is the Wilson score interval for a proportion p observed over an
// effective number of trials n (not necessarily whole), at quantile z.
func WilsonN(p, n, z float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	z2 := z * z
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return Interval{math.Max(0, centre-half), math.Min(1, centre+half)}
}

// McNemarExact is the exact two-sided McNemar test (McNemar 1947; the
// exact form of Mosteller 1952) for paired binary outcomes: b and c count
// the discordant pairs (pass on one, fail on the other, and the reverse).
// Under equal rates b is Binomial(b+c, 1/2), and the p-value is
// min(1, 2 P(X <= min(b, c))), as R's binom.test and SciPy's binomtest give
// for p = 1/2. With no discordant pair there is no evidence: p = 1.
func McNemarExact(b, c int64) float64 {
	n := b + c
	if n <= 0 {
		return 1
	}
	k := min(b, c)
	var tail float64
	if n <= 1000 {
		// Sum the binomial probabilities in log space, exactly enough.
		lh := float64(n) * math.Log(0.5)
		lg1, _ := math.Lgamma(float64(n + 1))
		for i := int64(0); i <= k; i++ {
			lg2, _ := math.Lgamma(float64(i + 1))
			lg3, _ := math.Lgamma(float64(n - i + 1))
			tail += math.Exp(lg1 - lg2 - lg3 + lh)
		}
	} else {
		// P(X <= k) = I_{1/2}(n-k, k+1).
		tail = RegIncBeta(float64(n-k), float64(k+1), 0.5)
	}
	return math.Min(1, 2*tail)
}

// ExactClusters is the most informative clusters ClusteredMcNemar
// enumerates exactly.
const ExactClusters = 200

// ClusteredMcNemar tests paired binary outcomes that come in clusters
// (batches) whose pairs may be correlated: d[k] is cluster k's discordant
// difference b_k - c_k. Under the null each cluster's difference is
// symmetric about 0, so S = sum d[k] is compared with its sign-flip
// (randomisation) distribution: exactly, by convolving the clusters'
// +-|d[k]|, when that is cheap, else by the chi-square approximation
// S^2 / sum d[k]^2 on 1 degree of freedom (Durkalski, Palesch, Lipsitz and
// Rust 2003; Obuchowski 1998). It returns the two-sided p-value and the
// number of informative clusters (d[k] != 0).
func ClusteredMcNemar(d []int64) (p float64, informative int) {
	// The sign-flip distribution is exact up to ExactClusters informative
	// clusters; beyond, the chi-square form is close (many clusters).
	var s, total, sq float64
	abs := make([]int64, 0, len(d))
	for _, v := range d {
		if v == 0 {
			continue
		}
		if v < 0 {
			abs = append(abs, -v)
		} else {
			abs = append(abs, v)
		}
		s += float64(v)
		sq += float64(v) * float64(v)
		total += math.Abs(float64(v))
	}
	informative = len(abs)
	if informative == 0 {
		return 1, 0
	}
	if informative <= ExactClusters && total*float64(informative) <= 1e6 {
		// dist[j] = P(sum of +-|d| = j - total), each sign 1/2.
		n := int(total)
		dist, next := make([]float64, 2*n+1), make([]float64, 2*n+1)
		dist[n] = 1
		lo, hi := n, n
		for _, a := range abs {
			ai := int(a)
			clear(next[lo-ai : hi+ai+1])
			for j := lo; j <= hi; j++ {
				if dist[j] == 0 {
					continue
				}
				next[j-ai] += dist[j] / 2
				next[j+ai] += dist[j] / 2
			}
			dist, next, lo, hi = next, dist, lo-ai, hi+ai
		}
		obs := math.Abs(s)
		for j := lo; j <= hi; j++ {
			if math.Abs(float64(j-n)) >= obs-1e-9 {
				p += dist[j]
			}
		}
		return math.Min(1, p), informative
	}
	x := s * s / sq
	return math.Erfc(math.Sqrt(x / 2)), informative
}
