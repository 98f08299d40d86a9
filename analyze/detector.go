package analyze

import (
	"slices"
	"sort"
	"time"

	"github.com/batchsli/batchsli/infer"
)

// detectorRun is the regression detectors of every platform of one level,
// advanced together batch by batch in history order (docs/METHODS.md,
// "Regression detector", "Sequential"). What it keeps does not grow with
// the history: each platform's detector, the correlation pooled over the
// platforms so far (the detectors' floor), running totals of every platform's series and yield by ecosystem, and
// the totals as they stood where each platform's current run of low
// batches began (what a gated platform's alarm is checked against).
type detectorRun struct {
	// ids are the platforms in the order they first came (by batch, then
	// by name), idx their indices.
	ids   []string
	idx   map[string]int
	plats []*platRun
	ecos  []string // ecosystem names by index
	ecoIx map[string]int
	pool  infer.ICCPool
	// groups numbers the pool's groups, by platform index and ecosystem
	// index.
	groups [][]int
	ng     int
	// totals holds every platform's detector series summed by ecosystem
	// index (yield its own yield).
	totals [][]infer.Suff
	// at is add's input by platform index (reused).
	at []*platBatch
}

type platRun struct {
	det   *infer.Detector
	yield []infer.Suff
	// named is what the latest batch that named gates named.
	named []string
	// Totals before the batch where each ecosystem's pooled chunk began
	// (pend) and where the current run began (run); free holds spare
	// copies for reuse.
	pend map[string]*detSnap
	run  *detSnap
	free []*detSnap
	// alarms are those raised.
	alarms []runAlarm
}

// detSnap is every platform's totals, and a platform's own yield, before
// the batch at pos; the gates the platform's batches named from it on
// (their intersection; gateSeen once one named any), and those the last
// batch before it that named any named (before).
type detSnap struct {
	pos      int
	totals   [][]infer.Suff
	yield    []infer.Suff
	gates    []string
	gateSeen bool
	before   []string
}

// gatesOf is the gates an alarm from the snapshot's batch on is judged by:
// those every batch since named, or, when none named any (a gate that
// passes everything leaves nothing skipped), the gates named last before.
func (s *detSnap) gatesOf() []string {
	if s.gateSeen {
		return s.gates
	}
	return s.before
}

// name counts the gates a batch named (nil: none) in the snapshot's.
func (s *detSnap) name(named []string) {
	switch {
	case named == nil:
	case !s.gateSeen:
		s.gates, s.gateSeen = append(s.gates[:0], named...), true
	default:
		s.gates = slices.DeleteFunc(s.gates, func(g string) bool { return !slices.Contains(named, g) })
	}
}

type runAlarm struct {
	infer.Alarm
	from, to   int // batch positions
	popChanged bool
	reason     string
}

func newDetectorRun() *detectorRun {
	return &detectorRun{idx: map[string]int{}, ecoIx: map[string]int{}}
}

// platform returns a platform's index, adding it when it is new.
func (r *detectorRun) platform(id string) int {
	i, ok := r.idx[id]
	if !ok {
		i = len(r.ids)
		r.ids = append(r.ids, id)
		r.idx[id] = i
		r.plats = append(r.plats, &platRun{det: infer.NewDetector(), pend: map[string]*detSnap{}})
		r.groups = append(r.groups, nil)
		r.totals = append(r.totals, nil)
	}
	return i
}

// platInput is one platform's part of a batch.
type platInput struct {
	id string
	*platBatch
}

func (r *detectorRun) eco(e string) int {
	i, ok := r.ecoIx[e]
	if !ok {
		i = len(r.ecos)
		r.ecos = append(r.ecos, e)
		r.ecoIx[e] = i
	}
	return i
}

// grow lengthens s to n with zero values (never shortens it).
func grow[T any](s []T, n int) []T {
	if n > len(s) {
		s = append(s, make([]T, n-len(s))...)
	}
	return s
}

// platBatch is what one batch brings to one platform's detector: its
// observations by ecosystem (real ecosystems only, flaky recipes' results
// left out from their first retried pass), its yield, and the gates the
// batch named for its skips (nil when it named none).
type platBatch struct {
	eco, yield []infer.Obs
	gates      []string
}

// take copies the totals as they stand (before the batch at pos is
// added) and the platform's yield, into a spare copy when there is one.
func (r *detectorRun) take(pr *platRun, pos int, named []string) *detSnap {
	var s *detSnap
	if n := len(pr.free); n > 0 {
		s, pr.free = pr.free[n-1], pr.free[:n-1]
	} else {
		s = &detSnap{}
	}
	s.pos = pos
	s.totals = slices.Grow(s.totals[:0], len(r.totals))[:len(r.totals)]
	for i, t := range r.totals {
		s.totals[i] = append(s.totals[i][:0], t...)
	}
	s.yield = append(s.yield[:0], pr.yield...)
	s.gates, s.gateSeen = s.gates[:0], false
	s.before = append(s.before[:0], pr.named...)
	s.name(named)
	return s
}

func (pr *platRun) release(s *detSnap) {
	if s != nil {
		pr.free = append(pr.free, s)
	}
}

// add advances every platform by the batch at pos: in holds the
// platforms the batch tested, by name.
func (r *detectorRun) add(pos int, byName []platInput) {
	for _, x := range byName {
		r.platform(x.id)
	}
	in := r.at[:0]
	for range r.plats {
		in = append(in, nil)
	}
	for _, x := range byName {
		in[r.idx[x.id]] = x.platBatch
	}
	r.at = in
	floor := r.pool.Rho()
	ff := func(int) float64 { return floor }
	type raised struct {
		p int
		a infer.Alarm
		s *detSnap
	}
	var alarms []raised
	// The detectors first, each on its own observations and the floor
	// from the batches before; the totals (not yet extended by this
	// batch) are copied where a chunk or a run begins here.
	for p, b := range in {
		if b == nil {
			continue
		}
		pr := r.plats[p]
		// The gates this batch named count in every run and chunk it
		// belongs to: those under way, and those that begin here (take).
		if b.gates != nil {
			if pr.run != nil {
				pr.run.name(b.gates)
			}
			for _, c := range pr.pend {
				c.name(b.gates)
			}
		}
		for _, o := range b.eco {
			i := pr.det.Seen()
			wasRun := pr.det.State().Start >= 0
			a, alarmed := pr.det.Add(o, ff)
			if f, still := pr.det.Pending(o.Eco); still {
				if f == i {
					pr.pend[o.Eco.String()] = r.take(pr, pos, b.gates) // a chunk begins here
				}
				continue
			}
			// The totals before the chunk just completed: taken where it
			// began, or now.
			chunk, pooled := pr.pend[o.Eco.String()]
			delete(pr.pend, o.Eco.String())
			started := !wasRun && pr.det.State().Start >= 0
			switch {
			case alarmed:
				s := pr.run
				if wasRun {
					pr.release(chunk)
				} else if s = chunk; !pooled {
					s = r.take(pr, pos, b.gates)
				}
				alarms = append(alarms, raised{p, a, s})
				pr.run = nil
			case started:
				if pr.run = chunk; !pooled {
					pr.run = r.take(pr, pos, b.gates)
				}
			default:
				pr.release(chunk)
				if pr.det.State().Start < 0 {
					pr.release(pr.run)
					pr.run = nil
				}
			}
		}
		if b.gates != nil {
			pr.named = append(pr.named[:0], b.gates...)
		}
	}
	// Then the totals and the pool.
	for p, b := range in {
		if b == nil {
			continue
		}
		for _, o := range b.eco {
			e := r.eco(o.Eco.String())
			r.totals[p] = grow(r.totals[p], e+1)
			r.totals[p][e].Add(o)
			r.groups[p] = grow(r.groups[p], e+1)
			if r.groups[p][e] == 0 {
				r.ng++
				r.groups[p][e] = r.ng
			}
			r.pool.Add(r.groups[p][e]-1, o)
		}
		pr := r.plats[p]
		for _, o := range b.yield {
			e := r.eco(o.Eco.String())
			pr.yield = grow(pr.yield, e+1)
			pr.yield[e].Add(o)
		}
	}
	// Then the alarms raised here, checked against what was known.
	for _, x := range alarms {
		pr := r.plats[x.p]
		ra := runAlarm{Alarm: x.a, from: x.s.pos, to: pos}
		// The gates are those every batch of the alarm's run named (a
		// platform whose gates changed before is judged by its gates of
		// now), else the last named before it.
		if gates := x.s.gatesOf(); len(gates) > 0 {
			// A gate that got better sends harder recipes through: it
			// explains the drop when it rose significantly (one-sided
			// 0.05, unadjusted) by at least half as much as the platform
			// fell (the newly admitted recipes are at most the gate's
			// rise). And the yield must have fallen too (one-sided 0.05,
			// within ecosystems): a gate's fix raises or keeps it.
			for _, g := range gates {
				gi, ok := r.idx[g]
				if !ok {
					continue
				}
				var then []infer.Suff // a platform new since holds none
				if gi < len(x.s.totals) {
					then = x.s.totals[gi]
				}
				b, a := r.windows(then, r.totals[gi])
				if t := infer.CompareSuffICC(b, a, floor); t.Testable && t.Change > 0 && t.P < 0.10 && t.Change >= (x.a.Before-x.a.After)/2 {
					ra.popChanged, ra.reason = true, g+" got better: harder recipes reach it"
					break
				}
			}
			if !ra.popChanged && len(pr.yield) > 0 {
				b, a := r.windows(x.s.yield, pr.yield)
				if t := infer.CompareSuffICC(b, a, floor); !t.Testable || t.Change >= 0 || t.P >= 0.10 {
					ra.popChanged, ra.reason = true, "its yield (passes per recipe entering) did not fall: the recipes reaching it changed"
				}
			}
		}
		pr.alarms = append(pr.alarms, ra)
		pr.release(x.s)
	}
}

// windows turns totals before a batch and now into the two windows'
// sums by ecosystem name.
func (r *detectorRun) windows(then, now []infer.Suff) (before, after map[string]infer.Suff) {
	before, after = map[string]infer.Suff{}, map[string]infer.Suff{}
	for e, s := range now {
		var b infer.Suff
		if e < len(then) {
			b = then[e]
		}
		if b.K > 0 {
			before[r.ecos[e]] = b
		}
		if a := s.Sub(b); a.K > 0 {
			after[r.ecos[e]] = a
		}
	}
	return before, after
}

// detectorInputs gives the detectors' input batch by batch, from the
// series (detectors builds them a block of batches at a time), for the
// positions before end; each call's slice is reused by the next.
func detectorInputs(hist map[string]*series, end int, each func(pos int, in []platInput)) {
	detectorInputsFrom(hist, 0, end, each)
}

// detectorInputsFrom is detectorInputs for the positions from on (series
// with nothing before from).
func detectorInputsFrom(hist map[string]*series, from, end int, each func(pos int, in []platInput)) {
	ids := make([]string, 0, len(hist))
	for id := range hist {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	type cursor struct {
		eco, yield []infer.Obs
		gates      []gateChange
		named      []string // what the batches name from the last change on
	}
	cs := make([]cursor, len(ids))
	for i, id := range ids {
		s := hist[id]
		cs[i] = cursor{eco: strata(s.ecoObs()), yield: strata(s.yield), gates: s.gateAt}
	}
	bufs := make([]platBatch, len(ids))
	var in []platInput
	for pos := from; pos < end; pos++ {
		in = in[:0]
		for i := range cs {
			c := &cs[i]
			b := &bufs[i]
			b.eco, b.yield, b.gates = b.eco[:0], b.yield[:0], nil
			for len(c.eco) > 0 && int(c.eco[0].Batch) == pos {
				b.eco = append(b.eco, c.eco[0])
				c.eco = c.eco[1:]
			}
			for len(c.yield) > 0 && int(c.yield[0].Batch) == pos {
				b.yield = append(b.yield, c.yield[0])
				c.yield = c.yield[1:]
			}
			for len(c.gates) > 0 && c.gates[0].pos <= pos {
				c.named = c.gates[0].gates
				c.gates = c.gates[1:]
			}
			if len(b.eco) > 0 || len(b.yield) > 0 {
				b.gates = c.named
				in = append(in, platInput{ids[i], b})
			}
		}
		if len(in) > 0 {
			each(pos, in)
		}
	}
}

// states sets the detector state of each platform in compared (those
// with results of a real ecosystem) from the run.
func (r *detectorRun) states(rep *Report, compared map[string]bool, all []*batch, since time.Time) {
	for i := range rep.Platforms {
		p := &rep.Platforms[i]
		pi, ok := r.idx[p.Platform]
		if !ok || !compared[p.Platform] {
			continue
		}
		pr := r.plats[pi]
		st := pr.det.State()
		d := &DetectorState{Statistic: round3(st.Stat), Threshold: infer.DetectH, ICC: round3(st.ICC), Alarms: []DetectorAlarm{}}
		if st.Start >= 0 && pr.run != nil {
			d.Since = all[pr.run.pos].id
		}
		for _, a := range pr.alarms {
			at, start := all[a.to], all[a.from]
			if at.ts.Before(since) {
				continue
			}
			d.Alarms = append(d.Alarms, DetectorAlarm{At: at.id, AtTime: at.ts, Start: start.id, StartAt: start.ts,
				Stat: round3(a.Stat), Expected: a.Before, Observed: a.After, Batches: a.Batches, Tests: a.Tests,
				PopulationChanged: a.popChanged, Reason: a.reason})
		}
		p.Detector = d
	}
}
