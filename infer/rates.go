package infer

import (
	"math"
	"sort"

	"github.com/batchsli/batchsli/stats"
)

// Evidence thresholds (docs/METHODS.md, "Small samples").
const (
	// MinBatches and MinTests are the least evidence for an interval or a
	// test: fewer batches give no between-batch variance worth the name.
	MinBatches = 3
	MinTests   = 10
	// MinRankBatches is the least number of shared batches for two
	// platforms to be ranked against each other.
	MinRankBatches = 5
	// Q is the false discovery rate the report's claims are controlled at.
	Q = 0.05
)

// Obs is one batch's recipe results on one platform, or on one ecosystem x
// platform cell: infrastructure failures are already out of Tested, and a
// batch that was an incident on the platform is not an Obs at all.
type Obs struct {
	// Batch is the batch's position in time order, shared by all
	// platforms, so that two platforms' results in one batch pair up.
	Batch  int32
	Eco    Eco
	Tested int64
	Passed int64
}

// Rate is a pass rate with batches as clusters.
type Rate struct {
	P       float64
	N       int64
	Batches int
	// DesignEffect is the between-batch variance over the binomial one
	// (at least 1: a smaller estimate is noise, and no precision beyond
	// independent trials is claimed); EffectiveN is N / DesignEffect.
	DesignEffect float64
	EffectiveN   float64
	// Interval is false with fewer than MinBatches batches: Low and High
	// are then not set.
	Interval  bool
	Low, High float64
	// Method names the interval: "wilson-t" (Wilson on the effective n,
	// Student's t on batches-1 df) or "korn-graubard" (Clopper-Pearson on
	// the effective n, for rates near 0 or 1).
	Method string
	// Small is true below MinBatches batches or MinTests tests.
	Small bool
}

// EstimateRate estimates a pass rate from its batches at 95%.
func EstimateRate(obs []Obs) Rate { return EstimateRateICC(obs, 0) }

// EstimateRateICC is EstimateRate with an intra-batch correlation pooled
// over many platforms: the design effect is at least the one it implies,
// sum n_b (1 + (n_b - 1) rho) / N, so that a platform whose few batches
// happen to agree is not credited with more precision than its peers show.
func EstimateRateICC(obs []Obs, rho float64) Rate {
	x := make([]int64, 0, len(obs))
	n := make([]int64, 0, len(obs))
	for _, o := range obs {
		if o.Tested > 0 {
			x = append(x, o.Passed)
			n = append(n, o.Tested)
		}
	}
	c := stats.ClusterProportion(x, n)
	r := Rate{P: c.P, N: c.N, Batches: c.Clusters, DesignEffect: math.Max(1, c.DesignEffect)}
	if rho > 0 && c.N > 0 {
		var m float64
		for _, k := range n {
			m += float64(k) * (1 + float64(k-1)*rho)
		}
		r.DesignEffect = math.Max(r.DesignEffect, m/float64(c.N))
	}
	r.EffectiveN = float64(c.N) / r.DesignEffect
	r.Small = c.Clusters < MinBatches || c.N < MinTests
	if c.Clusters < MinBatches {
		return r
	}
	r.Interval = true
	df := float64(c.Clusters - 1)
	t := stats.TQuantile(0.975, df)
	succ := r.P * r.EffectiveN
	if succ < 10 || r.EffectiveN-succ < 10 {
		// Korn and Graubard (1998): Clopper-Pearson on the effective n,
		// shrunk by (z/t)^2 for the degrees of freedom.
		ndf := r.EffectiveN * math.Pow(stats.Z95/t, 2)
		iv := cpReal(r.P*ndf, ndf, 0.95)
		r.Low, r.High, r.Method = iv.Low, iv.High, "korn-graubard"
		return r
	}
	iv := stats.WilsonN(r.P, r.EffectiveN, t)
	r.Low, r.High, r.Method = iv.Low, iv.High, "wilson-t"
	return r
}

// cpReal is the Clopper-Pearson interval for x successes of n trials,
// neither necessarily whole.
func cpReal(x, n, conf float64) stats.Interval {
	a := 1 - conf
	iv := stats.Interval{Low: 0, High: 1}
	if n <= 0 {
		return iv
	}
	if x > 0 {
		iv.Low = stats.BetaQuantile(a/2, x, n-x+1)
	}
	if x < n {
		iv.High = stats.BetaQuantile(1-a/2, x+1, n-x)
	}
	return iv
}

// Trend compares a platform's pass rate in two windows within ecosystems.
type Trend struct {
	// Crude rates of each window (all ecosystems together).
	PrevP, CurP             float64
	PrevN, CurN             int64
	PrevBatches, CurBatches int
	// Change is the directly standardised difference current - previous:
	// the within-ecosystem differences weighted by N_prev N_cur / (N_prev
	// + N_cur) (Mantel-Haenszel weights); SE its standard error with the
	// quasi-binomial dispersion; T = Change/SE on DF degrees of freedom.
	Change, SE, T, DF float64
	// ICC is the intra-batch correlation the variance allowed for.
	ICC float64
	P   float64 // two-sided
	// Strata are the ecosystems in both windows; OnlyOne those in one
	// window only, left out of Change.
	Strata  []string
	OnlyOne []string
	// MixShift is the total variation distance between the two windows'
	// ecosystem shares of tests (0 same mix, 1 disjoint).
	MixShift float64
	Testable bool
	Reason   string
}

// CompareWindows tests whether the pass rate changed from prev to cur,
// comparing like with like: ecosystem by ecosystem, combined with
// Mantel-Haenszel weights, with batches as clusters through a Pearson
// dispersion (Rao and Scott 1992).
func CompareWindows(prev, cur []Obs) Trend { return CompareWindowsICC(prev, cur, 0) }

// CompareWindowsICC is CompareWindows with an intra-batch correlation
// pooled over many platforms as a floor: a platform whose own batches
// happen to agree is not credited with more precision than its peers show.
func CompareWindowsICC(prev, cur []Obs, rhoFloor float64) Trend {
	var w [2]map[string]Suff
	for k, obs := range [2][]Obs{prev, cur} {
		w[k] = map[string]Suff{}
		for _, o := range obs {
			if o.Tested == 0 {
				continue
			}
			e := o.Eco.String()
			s := w[k][e]
			s.Add(o)
			w[k][e] = s
		}
	}
	return CompareSuffICC(w[0], w[1], rhoFloor)
}

// Suff is what one ecosystem's batches in a window bring to a trend:
// sums that add over batches and subtract between nested windows, so a
// window's trend can be had from running totals (the detector's checks of
// a gated platform's alarms, which `record` extends batch by batch).
type Suff struct {
	X, N float64 // passed, tested
	SX2N float64 // sum x_b^2 / n_b
	SN2  float64 // sum n_b^2
	K    int     // batches
}

// Add counts one batch (none without tests).
func (s *Suff) Add(o Obs) {
	if o.Tested <= 0 {
		return
	}
	x, n := float64(o.Passed), float64(o.Tested)
	s.X += x
	s.N += n
	s.SX2N += x * x / n
	s.SN2 += n * n
	s.K++
}

// Sub is s less the batches of t, which it holds.
func (s Suff) Sub(t Suff) Suff {
	return Suff{X: s.X - t.X, N: s.N - t.N, SX2N: s.SX2N - t.SX2N, SN2: s.SN2 - t.SN2, K: s.K - t.K}
}

// CompareSuffICC is CompareWindowsICC over each window's sums by
// ecosystem.
func CompareSuffICC(prev, cur map[string]Suff, rhoFloor float64) Trend {
	var t Trend
	var tot [2]float64
	ecoSet := map[string]bool{}
	for w, m := range [2]map[string]Suff{prev, cur} {
		var x, n float64
		batches := 0
		for e, s := range m {
			if s.K == 0 {
				continue
			}
			ecoSet[e] = true
			x += s.X
			n += s.N
			batches += s.K
		}
		tot[w] = n
		if w == 0 {
			t.PrevN, t.PrevBatches, t.PrevP = int64(n), batches, ratio(int64(x), int64(n))
		} else {
			t.CurN, t.CurBatches, t.CurP = int64(n), batches, ratio(int64(x), int64(n))
		}
	}
	switch {
	case t.PrevBatches < MinBatches || t.CurBatches < MinBatches:
		t.Reason = "too few batches"
		return t
	case t.PrevN < MinTests || t.CurN < MinTests:
		t.Reason = "too few tests"
		return t
	}
	ecos := make([]string, 0, len(ecoSet))
	for e := range ecoSet {
		ecos = append(ecos, e)
	}
	sort.Strings(ecos)
	// Intra-batch correlation: the pooled analysis of variance about each
	// ecosystem x window's own rate (EstimateICC, from the sums).
	var pooled anova
	for _, e := range ecos {
		t.MixShift += math.Abs(prev[e].N/tot[0]-cur[e].N/tot[1]) / 2
		pooled.add(prev[e], 1)
		pooled.add(cur[e], 1)
	}
	icc := pooled.icc()
	icc.Rho = math.Max(icc.Rho, rhoFloor)
	t.ICC, t.DF = icc.Rho, math.Max(icc.DF, 1)
	var sw, swd, sv float64
	for _, e := range ecos {
		a, b := prev[e], cur[e]
		if a.K == 0 || b.K == 0 {
			t.OnlyOne = append(t.OnlyOne, e)
			continue
		}
		t.Strata = append(t.Strata, e)
		w := a.N * b.N / (a.N + b.N)
		p := (a.X + b.X) / (a.N + b.N)
		d := b.X/b.N - a.X/a.N
		sw += w
		swd += w * d
		// Var of a window's rate: p(1-p) sum n_b (1 + (n_b-1) rho) / N^2,
		// the sum being N + rho (sum n_b^2 - N).
		var v float64
		for _, g := range [2]Suff{a, b} {
			v += (g.N + icc.Rho*(g.SN2-g.N)) / (g.N * g.N)
		}
		sv += w * w * p * (1 - p) * v
	}
	if sw == 0 {
		t.Reason = "no ecosystem tested in both windows"
		return t
	}
	t.Testable = true
	t.Change = swd / sw
	t.SE = math.Sqrt(sv) / sw
	if t.SE == 0 {
		t.P = 1
		if t.Change != 0 {
			t.P = 0
		}
		return t
	}
	t.T = t.Change / t.SE
	t.P = 2 * (1 - stats.TCDF(math.Abs(t.T), t.DF))
	return t
}

func ratio(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

// Pair compares two platforms over the batches that tested both: the
// difference of their pass rates (A - B), with the variance linearised
// over those batches (Woodruff 1971), so that what a batch does to both
// cancels.
type Pair struct {
	A, B    string
	Batches int
	PA, PB  float64
	Diff    float64
	SE      float64
	// P is the one-sided p-value of "A is below B".
	P float64
}

// ComparePair compares a with b over their shared batches.
//
// rho is the intra-batch correlation pooled over many platforms: the
// variance is never below what it implies for two independent platforms,
// p0(1-p0) (sum n_a (1 + (n_a-1) rho) / N_a^2 + the same for b), p0 the
// rate of both together. Pairing may only ever help beyond that floor when
// the data show it.
func ComparePair(aID string, a []Obs, bID string, b []Obs, rho float64) Pair {
	pr := Pair{A: aID, B: bID, P: 1}
	// b's observation of a batch: by a walk along b when both are in
	// batch order (series are), else from a map.
	var bb map[int32]Obs
	j := 0
	ordered := increasing(a) && increasing(b)
	if !ordered {
		bb = map[int32]Obs{}
		for _, o := range b {
			if o.Tested > 0 {
				bb[o.Batch] = o
			}
		}
	}
	find := func(batch int32) (Obs, bool) {
		if !ordered {
			ob, ok := bb[batch]
			return ob, ok
		}
		for j < len(b) && b[j].Batch < batch {
			j++
		}
		if j < len(b) && b[j].Batch == batch && b[j].Tested > 0 {
			return b[j], true
		}
		return Obs{}, false
	}
	type both struct{ xa, na, xb, nb float64 }
	rows := make([]both, 0, min(len(a), len(b)))
	var xa, na, xb, nb, ma, mb float64
	for _, o := range a {
		if o.Tested == 0 {
			continue
		}
		ob, ok := find(o.Batch)
		if !ok {
			continue
		}
		r := both{float64(o.Passed), float64(o.Tested), float64(ob.Passed), float64(ob.Tested)}
		rows = append(rows, r)
		xa += r.xa
		na += r.na
		xb += r.xb
		nb += r.nb
		ma += r.na * (1 + (r.na-1)*rho)
		mb += r.nb * (1 + (r.nb-1)*rho)
	}
	pr.Batches = len(rows)
	if len(rows) < 2 {
		return pr
	}
	pr.PA, pr.PB = xa/na, xb/nb
	pr.Diff = pr.PA - pr.PB
	var ss float64
	for _, r := range rows {
		u := (r.xa-pr.PA*r.na)/na - (r.xb-pr.PB*r.nb)/nb
		ss += u * u
	}
	k := float64(len(rows))
	// The linearised variance, but never below the variance of the
	// difference under equal rates for independent platforms with the
	// pooled correlation: batches that happen to agree exactly, or a rate
	// near 0 or 1, claim no precision they do not have.
	p0 := (xa + xb) / (na + nb)
	pr.SE = math.Sqrt(math.Max(k/(k-1)*ss, p0*(1-p0)*(ma/(na*na)+mb/(nb*nb))))
	switch {
	case pr.SE > 0:
		pr.P = stats.TCDF(pr.Diff/pr.SE, k-1)
	case pr.Diff < 0:
		pr.P = 0
	}
	return pr
}

// increasing reports whether obs are in strictly increasing batch order.
func increasing(obs []Obs) bool {
	for i := 1; i < len(obs); i++ {
		if obs[i].Batch <= obs[i-1].Batch {
			return false
		}
	}
	return true
}

// Candidate is a platform offered to WorstGroup.
type Candidate struct {
	ID  string
	Obs []Obs
}

// Worst is the outcome of WorstGroup.
type Worst struct {
	// Found is true when Group is significantly below every other
	// eligible platform; Group then lists it, lowest first.
	Found bool
	Group []string
	// Rates of the eligible platforms, lowest first.
	Eligible []string
	Rates    map[string]Rate
	// Weakest is the cross comparison (group member against a platform
	// outside) with the largest p-value: the intersection-union test's
	// p-value (Berger 1982).
	Weakest *Pair
	// TooLittle lists the platforms with too little data to rank.
	TooLittle []string
	// Alpha is the level each comparison was made at.
	Alpha float64
}

// WorstGroup names the platforms that are significantly below all others:
// the subset that could hold the lowest (every platform not significantly
// above the observed lowest, Gupta 1965), claimed only when each of its
// members is significantly below each platform outside it (an
// intersection-union test, Berger 1982). Because the lowest is chosen by
// the data (any of the k eligible platforms could be it), each comparison
// is made at alpha/k (Bonferroni over the candidates, in the spirit of
// Hsu's 1984 multiple comparisons with the best).
//
// rho is the pooled intra-batch correlation (see ComparePair).
func WorstGroup(cs []Candidate, alpha, rho float64) Worst {
	w := Worst{Rates: map[string]Rate{}}
	var el []Candidate
	for _, c := range cs {
		r := EstimateRateICC(c.Obs, rho)
		w.Rates[c.ID] = r
		if r.Batches < MinRankBatches || r.N < MinTests {
			w.TooLittle = append(w.TooLittle, c.ID)
			continue
		}
		el = append(el, c)
	}
	sort.SliceStable(el, func(i, j int) bool {
		ri, rj := w.Rates[el[i].ID], w.Rates[el[j].ID]
		if ri.P != rj.P {
			return ri.P < rj.P
		}
		return el[i].ID < el[j].ID
	})
	for _, c := range el {
		w.Eligible = append(w.Eligible, c.ID)
	}
	if len(el) < 2 {
		return w
	}
	alpha /= float64(len(el))
	w.Alpha = alpha
	low := el[0]
	in := map[string]bool{low.ID: true}
	w.Group = []string{low.ID}
	kept := el[:1]
	for _, c := range el[1:] {
		// Is c significantly above the lowest? A platform that shares too
		// few batches with it is set apart: it can neither hide nor make
		// a finding.
		pr := ComparePair(low.ID, low.Obs, c.ID, c.Obs, rho)
		if pr.Batches < MinRankBatches {
			w.TooLittle = append(w.TooLittle, c.ID)
			continue
		}
		kept = append(kept, c)
		if pr.P >= alpha {
			in[c.ID] = true
			w.Group = append(w.Group, c.ID)
		}
	}
	// A member with a small share of the data (tests under a
	// quarter of the eligible platforms' median) that is distinguishable
	// neither from the lowest nor from the highest platform outside the
	// group has too little data to place: set apart, it neither hides the
	// finding nor joins it.
	var top *Candidate
	var effs []float64
	for i := range kept {
		if !in[kept[i].ID] {
			top = &kept[i]
		}
		effs = append(effs, float64(w.Rates[kept[i].ID].N))
	}
	sort.Float64s(effs)
	small := effs[len(effs)/2] / 4
	if top != nil {
		var group []string
		var placed []Candidate
		for _, c := range kept {
			if in[c.ID] && c.ID != low.ID && float64(w.Rates[c.ID].N) < small {
				if pr := ComparePair(c.ID, c.Obs, top.ID, top.Obs, rho); pr.Batches >= MinRankBatches && pr.P >= alpha {
					delete(in, c.ID)
					w.TooLittle = append(w.TooLittle, c.ID)
					continue
				}
			}
			if in[c.ID] {
				group = append(group, c.ID)
			}
			placed = append(placed, c)
		}
		w.Group, kept = group, placed
	}
	el = kept
	w.Eligible = w.Eligible[:0]
	for _, c := range el {
		w.Eligible = append(w.Eligible, c.ID)
	}
	if len(el) < 2 || len(w.Group) == len(el) {
		return w
	}
	w.Found = true
	for _, g := range el {
		if !in[g.ID] {
			continue
		}
		for _, o := range el {
			if in[o.ID] {
				continue
			}
			pr := ComparePair(g.ID, g.Obs, o.ID, o.Obs, rho)
			if pr.Batches < MinRankBatches {
				pr.P = 1
			}
			if w.Weakest == nil || pr.P > w.Weakest.P {
				p := pr
				w.Weakest = &p
			}
			if pr.P >= alpha {
				w.Found = false
			}
		}
	}
	return w
}

// ICC is an intra-batch correlation estimated from groups of batches.
type ICC struct {
	Rho float64
	// DF is the residual degrees of freedom: batches less groups.
	DF float64
}

// EstimateICC estimates the intra-batch correlation rho of binary results,
// Var(x_b) = n_b p(1-p) (1 + (n_b - 1) rho), from batches in groups that
// share a rate (one platform's batches of one ecosystem in one window), by
// the pooled one-way analysis of variance of the 0/1 results with batches
// as the classes (Fleiss, Levin and Paik 2003, section 15.2; Ridout,
// Demetrio and Firth 1999): within each group, the between-batch sum of
// squares SSB = sum x_b^2/n_b - X^2/N and the within-batch SSW = X - sum
// x_b^2/n_b; MSB and MSW pool them over groups on sum (k-1) and sum (N-k)
// degrees of freedom; with n0 = sum (N - sum n_b^2/N) / sum (k-1),
// rho = (MSB - MSW) / (MSB + (n0 - 1) MSW), clamped to [0, 1]. Each sum of
// squares is about its own group's mean, so groups whose rates differ do
// not inflate rho, and no group's rate divides anything: unlike a
// residual-over-p(1-p) moment estimator, it is not biased low when rates
// are near 0 or 1.
func EstimateICC(groups [][]Obs) ICC {
	sums := make([]Suff, len(groups))
	for i, g := range groups {
		for _, o := range g {
			sums[i].Add(o)
		}
	}
	return EstimateICCSums(sums)
}

// EstimateICCSums is EstimateICC from each group's sums (Suff, its batches
// added in order): the same estimate, to the last bit, without the groups'
// batches.
func EstimateICCSums(groups []Suff) ICC {
	var a anova
	for _, s := range groups {
		a.add(s, 1)
	}
	return a.icc()
}
