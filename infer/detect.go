package infer

import "math"

// Detector settings (docs/METHODS.md, "Regression detector"), calibrated by
// simulation (TestDetectorCalibration).
const (
	// DetectK is the CUSUM's reference value in standard units: it is
	// tuned to a drop of about 2K standard errors of one batch.
	DetectK = 0.5
	// DetectH is the threshold the statistic must pass.
	DetectH = 10
	// DetectClip bounds one batch's standardised residual, so that one
	// odd batch cannot raise an alarm alone.
	DetectClip = 3
	// DetectMinHistory is how many earlier batches of the same ecosystem
	// a batch needs before it is compared with them.
	DetectMinHistory = 5
	// DetectMinTests is the least tests one comparison rests on: smaller
	// batches of an ecosystem are pooled with its next ones until they
	// reach it.
	DetectMinTests = 5
	// detectRhoStart is the intra-batch correlation assumed until
	// detectRhoMin residuals have estimated it.
	detectRhoStart = 0.1
	detectRhoMin   = 10
)

// DetectFalseAlarms states the detector's measured false-alarm rate
// (TestDetectorCalibration), as printed beside every alarm.
const DetectFalseAlarms = "on stable simulated histories, about one false alarm per 2,500 batches across 11 platforms"

// Alarm is a regression the detector found on one platform.
type Alarm struct {
	// At is the index (in the Obs given) of the batch that raised it;
	// Start that of the first batch of the run of low batches (where the
	// change began, as the CUSUM estimates it, Page 1954).
	At, Start int
	// Stat is the statistic when it crossed DetectH.
	Stat float64
	// Before is the expected pass rate of the batches since Start (from
	// the earlier batches of their ecosystems), After their observed rate.
	Before, After float64
	// Batches since Start, and their tests.
	Batches int
	Tests   int64
}

// DetectState is where the detector stands after the last batch.
type DetectState struct {
	Stat  float64
	Start int // -1 when the statistic is 0
	// ICC is the intra-batch correlation estimated from the platform's
	// residuals.
	ICC      float64
	Compared int // batches compared with their ecosystem's history
}

// Detect runs a one-sided lower CUSUM over a platform's batches in time
// order (Page 1954). Each batch is compared with the earlier batches of
// its own ecosystem (since the last alarm): z = (rate - expected) over the
// standard error of that difference under a beta-binomial batch effect
// (intra-batch correlation rho, estimated from the earlier residuals),
// clipped to +-DetectClip. S = max(0, S - z - K); an
// alarm when S > H, after which the history restarts at the change.
//
// Batches with fewer than DetectMinTests tests are pooled with the next
// batches of their ecosystem until the pool reaches it; rhoFloor (the
// correlation pooled over many platforms) bounds the platform's own
// estimate from below. Alarm and state indices refer to obs.
func Detect(obs []Obs, rhoFloor float64) ([]Alarm, DetectState) {
	return detectPooled(obs, rhoFloor, DetectH, DetectMinHistory)
}

func detectPooled(obs []Obs, rhoFloor, h float64, minHist int) ([]Alarm, DetectState) {
	// At most a chunk per observation.
	chunks := make([]Obs, 0, len(obs))
	first, last := make([]int, 0, len(obs)), make([]int, 0, len(obs))
	pend := map[string]*Obs{}
	pendFirst := map[string]int{}
	for i, o := range obs {
		if o.Tested <= 0 {
			continue
		}
		p := pend[o.Eco]
		if p == nil {
			p = &Obs{Eco: o.Eco}
			pend[o.Eco] = p
			pendFirst[o.Eco] = i
		}
		p.Tested += o.Tested
		p.Passed += o.Passed
		if p.Tested >= DetectMinTests {
			p.Batch = len(chunks)
			chunks = append(chunks, *p)
			first = append(first, pendFirst[o.Eco])
			last = append(last, i)
			delete(pend, o.Eco)
		}
	}
	alarms, st := detect(chunks, rhoFloor, h, minHist)
	for i := range alarms {
		alarms[i].At, alarms[i].Start = last[alarms[i].At], first[alarms[i].Start]
		// Count batches, not pooled chunks.
		alarms[i].Batches = 0
		for _, o := range obs[alarms[i].Start : alarms[i].At+1] {
			if o.Tested > 0 {
				alarms[i].Batches++
			}
		}
	}
	if st.Start >= 0 {
		st.Start = first[st.Start]
	}
	return alarms, st
}

func detect(obs []Obs, rhoFloor, h float64, minHist int) ([]Alarm, DetectState) {
	type acc struct {
		x, n, c float64 // passed, tested, sum n(n-1)
		k       int
	}
	hist := map[string]*acc{}
	var alarms []Alarm
	st := DetectState{Start: -1}
	var rnum, rden float64
	var nr int
	rho := func() float64 {
		if nr < detectRhoMin || rden <= 0 {
			return math.Max(rhoFloor, detectRhoStart)
		}
		return math.Max(rhoFloor, math.Min(1, rnum/rden))
	}
	var expX, obsX, tests float64
	batches := 0
	add := func(o Obs) {
		a := hist[o.Eco]
		if a == nil {
			a = &acc{}
			hist[o.Eco] = a
		}
		a.x += float64(o.Passed)
		a.n += float64(o.Tested)
		a.c += float64(o.Tested) * float64(o.Tested-1)
		a.k++
	}
	rebuild := func(start, end int) {
		hist = map[string]*acc{}
		for _, o := range obs[start:end] {
			if o.Tested > 0 {
				add(o)
			}
		}
	}
	for i, o := range obs {
		if o.Tested == 0 {
			continue
		}
		a := hist[o.Eco]
		if a != nil && a.k >= minHist {
			p := (a.x + 0.5) / (a.n + 1) // never exactly 0 or 1
			n := float64(o.Tested)
			// The residual's variance: this batch's, plus that of the
			// history's mean, both with the intra-batch correlation.
			rh := rho()
			v := p * (1 - p) * ((1+(n-1)*rh)/n + (a.n+rh*a.c)/(a.n*a.n))
			r := float64(o.Passed)/n - p
			rnum += r*r/(p*(1-p)) - 1/n - 1/a.n
			rden += (n-1)/n + a.c/(a.n*a.n)
			nr++
			z := math.Max(-DetectClip, math.Min(DetectClip, r/math.Sqrt(v)))
			st.Compared++
			s := st.Stat - z - DetectK
			if s <= 0 {
				st.Stat, st.Start = 0, -1
				expX, obsX, tests, batches = 0, 0, 0, 0
			} else {
				if st.Stat == 0 {
					st.Start = i
				}
				st.Stat = s
				expX += p * n
				obsX += float64(o.Passed)
				tests += n
				batches++
			}
			if st.Stat > h {
				alarms = append(alarms, Alarm{At: i, Start: st.Start, Stat: st.Stat,
					Before: expX / tests, After: obsX / tests, Batches: batches, Tests: int64(tests)})
				// Restart: the new level is learnt from the change on.
				rebuild(st.Start, i+1)
				st.Stat, st.Start = 0, -1
				expX, obsX, tests, batches = 0, 0, 0, 0
				continue
			}
		}
		add(o)
	}
	st.ICC = rho()
	return alarms, st
}
