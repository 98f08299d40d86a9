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
// batches of their ecosystem until the pool reaches it. floor (the
// correlation pooled over many platforms from the batches before the one
// that completes a comparison) bounds the platform's own estimate from
// below. Everything a comparison uses comes from that batch and those
// before it, so the detector's past never changes as batches are added.
// Alarm and state indices refer to obs.
func Detect(obs []Obs, floor Floor) ([]Alarm, DetectState) {
	return detectPooled(obs, floor, DetectH, DetectMinHistory)
}

// Floor gives the floor on the intra-batch correlation for a comparison
// completed by the batch at a position (Obs.Batch).
type Floor func(batch int) float64

// ConstFloor is the same floor for every batch.
func ConstFloor(rho float64) Floor { return func(int) float64 { return rho } }

func detectPooled(obs []Obs, floor Floor, h float64, minHist int) ([]Alarm, DetectState) {
	d := NewDetector()
	d.h, d.minHist = h, minHist
	var alarms []Alarm
	for _, o := range obs {
		if a, ok := d.Add(o, floor); ok {
			alarms = append(alarms, a)
		}
	}
	return alarms, d.State()
}

// Detector is the detector's state after the observations given so far:
// Detect feeds it a whole series, and a series extended by one batch
// needs only that batch (Add). Indices in its alarms and state count the
// observations given, from 0.
type Detector struct {
	h       float64
	minHist int
	// pend pools each ecosystem's batches of fewer than DetectMinTests
	// tests until they reach it.
	pend map[Eco]*detPending
	// ref holds each ecosystem's reference (its batches since the last
	// alarm); run those since the current run of low batches began,
	// which become the reference when the run ends in an alarm.
	ref, run map[Eco]*detAcc
	// The platform's own estimate of the correlation: moment sums of the
	// residuals, how many, and the floor of the last comparison.
	rnum, rden float64
	nr         int
	floor      float64
	// The CUSUM and its run: its start (the first observation of the
	// chunk that began it, -1 none) and what the run's batches expected
	// and observed.
	stat              float64
	start, startSeq   int
	expX, obsX, tests float64
	compared          int
	// Observations given, and those with tests.
	n, seq int
}

type detPending struct {
	tested, passed  int64
	first, firstSeq int
}

type detAcc struct {
	x, n, c float64 // passed, tested, sum n(n-1)
	k       int
}

func (a *detAcc) add(o Obs) {
	a.x += float64(o.Passed)
	a.n += float64(o.Tested)
	a.c += float64(o.Tested) * float64(o.Tested-1)
	a.k++
}

func addTo(m map[Eco]*detAcc, o Obs) {
	a := m[o.Eco]
	if a == nil {
		a = &detAcc{}
		m[o.Eco] = a
	}
	a.add(o)
}

// NewDetector is a detector that has seen nothing.
func NewDetector() *Detector {
	return &Detector{h: DetectH, minHist: DetectMinHistory, pend: map[Eco]*detPending{}, ref: map[Eco]*detAcc{}, start: -1}
}

func (d *Detector) rho() float64 {
	if d.nr < detectRhoMin || d.rden <= 0 {
		return math.Max(d.floor, detectRhoStart)
	}
	return math.Max(d.floor, math.Min(1, d.rnum/d.rden))
}

// State is where the detector stands.
func (d *Detector) State() DetectState {
	return DetectState{Stat: d.stat, Start: d.start, ICC: d.rho(), Compared: d.compared}
}

// Add extends the detector by one observation (the platform's next batch
// of one ecosystem), floor giving the floor on the correlation at its
// batch; it returns the alarm the observation raised, if any.
func (d *Detector) Add(o Obs, floor Floor) (Alarm, bool) {
	i := d.n
	d.n++
	if o.Tested <= 0 {
		return Alarm{}, false
	}
	d.seq++
	p := d.pend[o.Eco]
	if p == nil {
		p = &detPending{first: i, firstSeq: d.seq}
		d.pend[o.Eco] = p
	}
	p.tested += o.Tested
	p.passed += o.Passed
	if p.tested < DetectMinTests {
		return Alarm{}, false
	}
	delete(d.pend, o.Eco)
	c := Obs{Batch: o.Batch, Eco: o.Eco, Tested: p.tested, Passed: p.passed}
	if a := d.ref[o.Eco]; a != nil && a.k >= d.minHist {
		pr := (a.x + 0.5) / (a.n + 1) // never exactly 0 or 1
		n := float64(c.Tested)
		d.floor = floor(int(c.Batch))
		// The residual's variance: this batch's, plus that of the
		// history's mean, both with the intra-batch correlation.
		rh := d.rho()
		v := pr * (1 - pr) * ((1+(n-1)*rh)/n + (a.n+rh*a.c)/(a.n*a.n))
		r := float64(c.Passed)/n - pr
		d.rnum += r*r/(pr*(1-pr)) - 1/n - 1/a.n
		d.rden += (n-1)/n + a.c/(a.n*a.n)
		d.nr++
		z := math.Max(-DetectClip, math.Min(DetectClip, r/math.Sqrt(v)))
		d.compared++
		if s := d.stat - z - DetectK; s <= 0 {
			d.stat, d.start, d.run = 0, -1, nil
			d.expX, d.obsX, d.tests = 0, 0, 0
		} else {
			if d.stat == 0 {
				d.start, d.startSeq, d.run = p.first, p.firstSeq, map[Eco]*detAcc{}
			}
			d.stat = s
			d.expX += pr * n
			d.obsX += float64(c.Passed)
			d.tests += n
		}
		if d.stat > d.h {
			al := Alarm{At: i, Start: d.start, Stat: d.stat, Before: d.expX / d.tests, After: d.obsX / d.tests,
				Batches: d.seq - d.startSeq + 1, Tests: int64(d.tests)}
			// Restart: the new level is learnt from the change on.
			addTo(d.run, c)
			d.ref, d.run = d.run, nil
			d.stat, d.start = 0, -1
			d.expX, d.obsX, d.tests = 0, 0, 0
			return al, true
		}
	}
	addTo(d.ref, c)
	if d.start >= 0 {
		addTo(d.run, c)
	}
	return Alarm{}, false
}

// Pending returns the index of the first observation of an ecosystem's
// batches still pooled towards DetectMinTests, if there are any.
func (d *Detector) Pending(eco Eco) (int, bool) {
	if p := d.pend[eco]; p != nil {
		return p.first, true
	}
	return 0, false
}

// Seen is the number of observations given.
func (d *Detector) Seen() int { return d.n }

// PendingCount is the number of ecosystems with batches still pooled.
func (d *Detector) PendingCount() int { return len(d.pend) }
