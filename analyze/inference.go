package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/stats"
)

// Incident thresholds: a batch is an incident on a platform when at least
// incidentMin of its tests there failed for the infrastructure's reasons,
// and they are at least incidentShare of the tests.
const (
	incidentMin   = 3
	incidentShare = 0.5
)

// series is one platform's batches reduced to what inference needs.
// seriesKind says which of a series' observations to collect.
type seriesKind uint8

const (
	seriesRate seriesKind = 1 << iota
	seriesEco
	seriesYield
	seriesHealth
)

func (k seriesKind) alloc(batches, ecos int) *series {
	s := &series{}
	if k&seriesRate != 0 {
		s.rate = make([]infer.Obs, 0, batches)
	}
	switch {
	case k&seriesEco != 0 && k&seriesRate != 0:
		// The ecosystem observations are the rate's until a batch spans
		// several ecosystems (platSeries).
		s.ecoRate, s.ecoCap = true, ecos
	case k&seriesEco != 0:
		s.eco = make([]infer.Obs, 0, ecos)
	}
	if k&seriesYield != 0 {
		s.yield = make([]infer.Obs, 0, ecos)
	}
	if k&seriesHealth != 0 {
		s.health = make([]infer.Obs, 0, batches)
	}
	return s
}

type series struct {
	// rate holds one Obs per batch (recipe results, incidents left out);
	// eco one per batch and ecosystem (read them with ecoObs). While every
	// batch tested one ecosystem, a series with both has the same
	// observations in each: ecoRate is then set and eco is not kept (the
	// rate's are the eco's); ecoCap is the room to make for eco when a
	// batch comes that spans several.
	rate, eco []infer.Obs
	ecoRate   bool
	ecoCap    int
	// yield holds one Obs per batch and ecosystem with Tested = the recipes
	// entering the batch there (tested less infrastructure failures, plus
	// skipped) and Passed = passes: what a gate's fix cannot lower.
	// incidentAt marks the batches that were incidents on the platform.
	yield      []infer.Obs
	incidentAt map[int]bool
	// health holds one Obs per batch with Passed = the tests that failed
	// for the infrastructure (incidents included).
	health    []infer.Obs
	infra     int64
	tested    int64
	incidents []string
	// gates is the intersection of the gates every batch with skips named;
	// gateAt (with the yield) says what the batches named from each
	// position on, where it changed (nil: none).
	gates    []string
	gateSeen bool
	gateAt   []gateChange
	skipped  int64
	partial  bool
	passed   int64
}

// listKey is a shared list of strings: its first element and length.
type listKey struct {
	first *string
	n     int
}

// gateChange is the gates a platform's batches named from the one at pos
// on (nil: none, the batch had no skips a gate explains).
type gateChange struct {
	pos   int
	gates []string
}

// ecoObs is the series' observations per batch and ecosystem.
func (s *series) ecoObs() []infer.Obs {
	if s.ecoRate {
		return s.rate
	}
	return s.eco
}

func byBatchEco(a, b infer.Obs) int {
	if c := cmp.Compare(a.Batch, b.Batch); c != 0 {
		return c
	}
	return infer.CompareEcos(a.Eco, b.Eco)
}

// platSeries builds each platform's series over bs. pos gives each batch's
// position in the whole history, shared by all platforms.
//
// Unless fm is flakyKept, the results of flaky recipes (batch.flaky, as fm
// says) are left out of the recipe rate: they are not evidence of a change
// of the platform.
func platSeries(bs []*batch, fa *failureAgg, pos map[*batch]int, fm flakyMode, want seriesKind) map[string]*series {
	out := map[string]*series{}
	// The gate lists sorted, by the list: the platform table shares one
	// list among the batches that name it (packPlats).
	sortedGates := map[listKey][]string{}
	// Each series is allocated once, at most as long as the batches (and
	// their ecosystems) that can add to it.
	perBatch, perEco := map[string]int{}, map[string]int{}
	for _, b := range bs {
		for pc := range b.plats.all() {
			perBatch[pc.id]++
			if b.byEco == nil {
				perEco[pc.id]++
			}
		}
		for _, pcs := range b.byEco {
			for e := range pcs.all() {
				perEco[e.id]++
			}
		}
	}
	for _, b := range bs {
		bp := int32(pos[b])
		be := infer.EcoOf(b.ecosystem)
		infraOf := func(pc platCount) int64 {
			n := pc.infra
			if !pc.infraKnown {
				n = fa.infraBatch[b.id][pc.id] + fa.infraTime[timeKeyOf(b.ts)][pc.id]
			}
			return min(n, pc.c.Failed)
		}
		for pc := range b.plats.all() {
			s := out[pc.id]
			if s == nil {
				s = want.alloc(perBatch[pc.id], perEco[pc.id])
				out[pc.id] = s
			}
			s.skipped += pc.c.Skipped
			if !pc.c.SkippedKnown {
				s.partial = true
			}
			var named []string // the gates this batch names, if any
			if pc.c.Skipped > 0 && len(pc.gates) > 0 {
				named = pc.gates
				if !s.gateSeen {
					s.gates = slices.Clone(pc.gates)
					s.gateSeen = true
				} else {
					s.gates = slices.DeleteFunc(s.gates, func(g string) bool { return !slices.Contains(pc.gates, g) })
				}
			}
			if want&seriesYield != 0 {
				// What each batch names, sorted (one copy of each list),
				// kept where it changes.
				var g []string
				if named != nil {
					k := listKey{&named[0], len(named)}
					if g = sortedGates[k]; g == nil {
						g = slices.Clone(named)
						sort.Strings(g)
						sortedGates[k] = g
					}
				}
				if n := len(s.gateAt); n == 0 || !slices.Equal(s.gateAt[n-1].gates, g) || (s.gateAt[n-1].gates == nil) != (g == nil) {
					s.gateAt = append(s.gateAt, gateChange{pos: int(bp), gates: g})
				}
			}
			infra := infraOf(pc)
			incident := pc.c.Tested > 0 && infra >= incidentMin && float64(infra) >= incidentShare*float64(pc.c.Tested)
			if want&seriesYield != 0 && pc.c.SkippedKnown && !incident {
				if b.byEco == nil {
					if n := pc.c.Tested - infra + pc.c.Skipped; n > 0 {
						s.yield = append(s.yield, infer.Obs{Batch: bp, Eco: be, Tested: n, Passed: pc.c.Passed})
					}
				} else {
					for eco, pcs := range b.byEco {
						for e := range pcs.all() {
							if e.id != pc.id {
								continue
							}
							ei := e.infra
							if !e.infraKnown {
								ei = fa.infraEco[[2]string{b.id, eco}][pc.id]
							}
							if n := e.c.Tested - min(ei, e.c.Failed) + e.c.Skipped; n > 0 {
								s.yield = append(s.yield, infer.Obs{Batch: bp, Eco: infer.EcoOf(eco), Tested: n, Passed: e.c.Passed})
							}
						}
					}
				}
			}
			if pc.c.Tested == 0 {
				continue
			}
			s.infra += infra
			s.tested += pc.c.Tested
			if want&seriesHealth != 0 {
				s.health = append(s.health, infer.Obs{Batch: bp, Tested: pc.c.Tested, Passed: infra})
			}
			if incident {
				s.incidents = append(s.incidents, b.id)
				if s.incidentAt == nil {
					s.incidentAt = map[int]bool{}
				}
				s.incidentAt[int(bp)] = true
				continue
			}
			o := infer.Obs{Batch: bp, Eco: be, Tested: pc.c.Tested - infra, Passed: pc.c.Passed}
			if fm != flakyKept && b.flaky != nil {
				fl := b.flaky[pc.id][fm]
				o.Tested -= fl[0]
				o.Passed -= fl[1]
			}
			o = bounded(o)
			s.passed += o.Passed
			before := len(s.rate) // the rate's observations before this batch's
			if want&seriesRate != 0 && o.Tested > 0 {
				s.rate = append(s.rate, o)
			}
			if want&seriesEco == 0 {
				continue
			}
			if b.byEco == nil {
				if o.Tested > 0 && !s.ecoRate {
					s.eco = append(s.eco, o)
				}
				continue
			}
			if s.ecoRate {
				// The first batch that spans several ecosystems: the
				// observations so far are the rate's.
				s.eco = append(make([]infer.Obs, 0, s.ecoCap), s.rate[:before]...)
				s.ecoRate = false
			}
			for eco, pcs := range b.byEco {
				for e := range pcs.all() {
					if e.id != pc.id || e.c.Tested == 0 {
						continue
					}
					ei := e.infra
					if !e.infraKnown {
						ei = fa.infraEco[[2]string{b.id, eco}][pc.id]
					}
					ei = min(ei, e.c.Failed)
					var fl [2]int64
					if fm != flakyKept && b.flaky != nil {
						fl = b.flaky[eco+"\x00"+pc.id][fm]
					}
					if e.c.Tested-ei-fl[0] > 0 {
						s.eco = append(s.eco, bounded(infer.Obs{Batch: bp, Eco: infer.EcoOf(eco), Tested: e.c.Tested - ei - fl[0], Passed: e.c.Passed - fl[1]}))
					}
				}
			}
		}
	}
	for _, s := range out {
		// In batch order, and within a batch that spans several
		// ecosystems in theirs: not in the order a map gave them, which
		// varies from run to run, and which the detector's CUSUM sees.
		slices.SortFunc(s.eco, byBatchEco)
		slices.SortFunc(s.yield, byBatchEco)
		sort.Strings(s.gates)
	}
	return out
}

// pooledICC pools the intra-batch correlation over every platform and
// ecosystem of the windows given (each window's its own groups).
func pooledICC(sers ...map[string]*series) float64 {
	var groups []infer.Suff
	for _, ser := range sers {
		groups = appendICCGroups(groups, ser)
	}
	return infer.EstimateICCSums(groups).Rho
}

// appendICCGroups appends the sums of ser's groups: each platform's
// observations by ecosystem (platforms by ID, ecosystems by name), each
// group's in series order, as infer.EstimateICC would add them, without
// copying them out.
func appendICCGroups(groups []infer.Suff, ser map[string]*series) []infer.Suff {
	ids := make([]string, 0, len(ser))
	for id := range ser {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		at := map[infer.Eco]int{} // the ecosystem's group, among ecos
		var ecos []infer.Eco
		var sums []infer.Suff
		for _, o := range ser[id].ecoObs() {
			i, ok := at[o.Eco]
			if !ok {
				i = len(ecos)
				at[o.Eco] = i
				ecos = append(ecos, o.Eco)
				sums = append(sums, infer.Suff{})
			}
			sums[i].Add(o)
		}
		slices.SortFunc(ecos, infer.CompareEcos)
		for _, e := range ecos {
			groups = append(groups, sums[at[e]])
		}
	}
	return groups
}

// setRate fills a platform's pass rate from its series.
func setRate(p *PlatformStat, s *series, icc float64) {
	r := infer.EstimateRateICC(s.rate, icc)
	p.N, p.RateBatches, p.RecipePassed = r.N, r.Batches, s.passed
	p.DesignEffect, p.EffectiveN = round3(r.DesignEffect), round3(r.EffectiveN)
	p.SmallSample = r.Small
	if r.N > 0 {
		p.PassRate = ptr(r.P)
	}
	if r.Interval {
		p.CILow, p.CIHigh, p.IntervalMethod = ptr(r.Low), ptr(r.High), r.Method
	}
	p.GatedBy = s.gates
	if p.GatedBy == nil {
		p.GatedBy = []string{}
	}
	if !s.partial && p.Tested+p.Skipped > 0 {
		p.Yield = ptr(float64(p.Passed) / float64(p.Tested+p.Skipped))
	}
	h := infer.EstimateRate(s.health)
	p.Health = RunnerHealth{Tested: s.tested, Infrastructure: s.infra, Incidents: s.incidents}
	if p.Health.Incidents == nil {
		p.Health.Incidents = []string{}
	}
	if h.N > 0 {
		p.Health.FailureRate = ptr(h.P)
	}
	if h.Interval {
		p.Health.CILow, p.Health.CIHigh = ptr(h.Low), ptr(h.High)
	}
}

// makeTrend compares two windows' series of one platform.
func makeTrend(prev, cur []infer.Obs, icc float64) *Trend {
	t := infer.CompareWindowsICC(prev, cur, icc)
	tr := &Trend{
		PreviousTested: t.PrevN, PreviousPassRate: t.PrevP, PreviousBatches: t.PrevBatches,
		CurrentTested: t.CurN, CurrentPassRate: t.CurP, CurrentBatches: t.CurBatches,
		CrudeChange: t.CurP - t.PrevP, Testable: t.Testable,
		Change: t.Change, SE: t.SE, DF: t.DF, ICC: t.ICC, P: t.P, Q: 1,
		Strata: t.Strata, OnlyOneWindow: t.OnlyOne, MixShift: round3(t.MixShift),
	}
	for _, o := range prev {
		tr.PreviousPassed += o.Passed
	}
	for _, o := range cur {
		tr.CurrentPassed += o.Passed
	}
	if tr.Strata == nil {
		tr.Strata = []string{}
	}
	if tr.OnlyOneWindow == nil {
		tr.OnlyOneWindow = []string{}
	}
	if !t.Testable {
		tr.P = 1
		tr.Direction = "too few to tell (" + t.Reason + ")"
	}
	return tr
}

// settleTrends sets q-values across the trends given and their verdicts;
// lowerIsBetter is set for failure rates.
func settleTrends(ts []*Trend, lowerIsBetter bool) {
	var ps []float64
	var idx []int
	for i, t := range ts {
		if t != nil && t.Testable {
			ps = append(ps, t.P)
			idx = append(idx, i)
		}
	}
	qs := stats.QValues(ps)
	for j, i := range idx {
		t := ts[i]
		t.Q = qs[j]
		t.Significant = t.Q <= infer.Q
		switch {
		case !t.Significant:
			t.Direction = "no significant change"
		case (t.Change > 0) != lowerIsBetter:
			t.Direction = "better"
		default:
			t.Direction = "worse"
		}
	}
}

// inferPlatforms computes the platforms' rates, trends and runner health,
// in rep.Platforms order (their detector states: runDetectors).
func inferPlatforms(rep *Report, cur, trendCur, prev []*batch, all []*batch, pos map[*batch]int, fa *failureAgg) map[string]*series {
	ser, icc := platformRates(rep, cur, pos, fa)
	rep.Inference = Inference{ICC: round3(icc), MinBatches: infer.MinBatches, MinTests: infer.MinTests,
		MinRankBatches: infer.MinRankBatches, Q: infer.Q, IncidentMin: incidentMin, IncidentShare: incidentShare}
	prevSer, curSer := platSeries(prev, fa, pos, flakyAll, seriesEco|seriesHealth), platSeries(trendCur, fa, pos, flakyAll, seriesEco|seriesHealth)
	// The trends' floor on the intra-batch correlation pools both of their
	// windows (each ecosystem x window its own group): more batches, less
	// of the moment estimator's small-sample bias.
	trendICC := math.Max(icc, pooledICC(prevSer, curSer))
	var trends, health []*Trend
	for i := range rep.Platforms {
		p := &rep.Platforms[i]
		if ps, cs := prevSer[p.Platform], curSer[p.Platform]; ps != nil && cs != nil && len(strata(ps.ecoObs())) > 0 && len(strata(cs.ecoObs())) > 0 {
			p.Trend = makeTrend(strata(ps.ecoObs()), strata(cs.ecoObs()), trendICC)
			trends = append(trends, p.Trend)
		}
		if ps, cs := prevSer[p.Platform], curSer[p.Platform]; ps != nil && cs != nil && len(ps.health) > 0 && len(cs.health) > 0 {
			p.Health.Trend = makeTrend(ps.health, cs.health, 0)
			health = append(health, p.Health.Trend)
		}
	}
	settleTrends(trends, false)
	settleTrends(health, true)
	// A gate that changed changes who reaches the platforms it gates.
	changed := map[string]bool{}
	for _, p := range rep.Platforms {
		if p.Trend != nil && p.Trend.Significant {
			changed[p.Platform] = true
		}
	}
	for i := range rep.Platforms {
		p := &rep.Platforms[i]
		if p.Trend == nil {
			continue
		}
		for _, g := range p.GatedBy {
			if changed[g] {
				p.Trend.PopulationChanged = true
				if p.Trend.Significant {
					p.Trend.Direction = "population changed (" + g + " changed)"
				}
			}
		}
	}
	return ser
}

// platformRates builds the window's series of every platform, pools their
// intra-batch correlation and sets each platform's rates from them
// (setRate).
func platformRates(rep *Report, cur []*batch, pos map[*batch]int, fa *failureAgg) (map[string]*series, float64) {
	ser := platSeries(cur, fa, pos, flakyKept, seriesRate|seriesEco|seriesHealth)
	icc := pooledICC(ser)
	for i := range rep.Platforms {
		p := &rep.Platforms[i]
		s := ser[p.Platform]
		if s == nil {
			s = &series{}
		}
		setRate(p, s, icc)
	}
	return ser, icc
}

// detectors runs each platform's detector over every batch up to the
// window's end (as `record` sees it), with the alarms raised in the
// window (nil for an empty window). The detectors read every batch's
// results, flaky recipes' left out from their first retried pass on, in
// history order, batch by batch: the series are built a block of
// detectorBlock batches at a time and let go, as `record` extends the
// run one batch at a time (detectorInputsFrom), not for the whole
// history at once.
func detectors(rep *Report, cur, all []*batch, pos map[*batch]int, fa *failureAgg) *detectorRun {
	r, compared := runDetectors(cur, all, pos, fa)
	if r != nil {
		r.states(rep, compared, all, cur[0].ts)
	}
	return r
}

// runDetectors is detectors without the report: the run, and the
// platforms whose series compared anything (detectorRun.states). It reads
// the batches and the failure aggregate and writes nothing they share, so
// it runs while the rest of the report is computed.
func runDetectors(cur, all []*batch, pos map[*batch]int, fa *failureAgg) (*detectorRun, map[string]bool) {
	if len(cur) == 0 {
		return nil, nil
	}
	end := indexOf(all, cur[len(cur)-1]) + 1
	r := newDetectorRun()
	compared := map[string]bool{}
	for from := 0; from < end; from += detectorBlock {
		to := min(end, from+detectorBlock)
		ser := platSeries(all[from:to], fa, pos, flakySince, seriesEco|seriesYield)
		for id, s := range ser {
			if len(strata(s.ecoObs())) > 0 {
				compared[id] = true
			}
		}
		detectorInputsFrom(ser, from, to, r.add)
	}
	return r, compared
}

// detectorBlock is how many batches' series the detectors are given at
// once (a variable for tests).
var detectorBlock = 4096

// bounded keeps an observation's passes within its tests. Records that
// disagree (a batch run counting as infrastructure failures what its
// outcome record codes as recipe failures, which the outcome records'
// check does not compare) could otherwise leave more passes than tests
// once infrastructure failures and flaky results are taken out, and no
// rate can rest on that.
func bounded(o infer.Obs) infer.Obs {
	o.Tested = max(o.Tested, 0)
	o.Passed = min(max(o.Passed, 0), o.Tested)
	return o
}

// ecoMixed and ecoUnknown are the ecosystems strata leaves out.
var ecoMixed, ecoUnknown = infer.EcoOf(model.Mixed), infer.EcoOf(model.Unknown)

// strata keeps the observations of real ecosystems: `mixed` (v1 runs that
// spanned several) and `unknown` are not one population and cannot be
// compared with themselves over time.
//
// The result is read only: it is obs itself when obs has no other.
func strata(obs []infer.Obs) []infer.Obs {
	mixed, unknown := ecoMixed, ecoUnknown
	if !slices.ContainsFunc(obs, func(o infer.Obs) bool { return o.Eco == mixed || o.Eco == unknown }) {
		return obs[:len(obs):len(obs)]
	}
	out := make([]infer.Obs, 0, len(obs))
	for _, o := range obs {
		if o.Eco != mixed && o.Eco != unknown {
			out = append(out, o)
		}
	}
	return out
}

// evidence states a rate with what it rests on.
func rateEvidence(p PlatformStat) string {
	if p.PassRate == nil {
		return "no recipe result"
	}
	s := fmt.Sprintf("%s (%d of %d recipe tests, %d batches", pct(*p.PassRate), p.RecipePassed, p.N, p.RateBatches)
	if p.CILow != nil {
		s += fmt.Sprintf(", design effect %.2f, %s", p.DesignEffect, ciText(*p.CILow, *p.CIHigh))
	} else {
		s += ", too few batches for an interval"
	}
	return s + ")"
}

// weakest names the worst group among platforms tested on the same
// population (the same gates).
func weakest(rep *Report, ser map[string]*series) {
	groups := map[string][]infer.Candidate{}
	var keys []string
	for _, p := range rep.Platforms {
		s := ser[p.Platform]
		if s == nil || p.N == 0 {
			continue
		}
		k := strings.Join(p.GatedBy, ",")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], infer.Candidate{ID: p.Platform, Obs: s.rate})
	}
	sort.Strings(keys)
	ranked := 0
	for _, k := range keys {
		if len(groups[k]) >= 2 {
			ranked++
		}
	}
	byID := map[string]PlatformStat{}
	for _, p := range rep.Platforms {
		byID[p.Platform] = p
	}
	var verdicts []string
	found := 0
	alpha := 0.05 / math.Max(1, float64(ranked))
	for _, k := range keys {
		cs := groups[k]
		label := "ungated platforms"
		if k != "" {
			label = "platforms given passing " + strings.ReplaceAll(k, ",", " and ")
		}
		if len(cs) < 2 {
			continue
		}
		w := infer.WorstGroup(cs, alpha, rep.Inference.ICC)
		rep.Verdicts.Apart = append(rep.Verdicts.Apart, w.TooLittle...)
		if len(w.Eligible) < 2 {
			verdicts = append(verdicts, fmt.Sprintf("%s: fewer than two with enough data to rank", label))
			continue
		}
		if !w.Found {
			v := fmt.Sprintf("%s: no group is significantly below the rest", label)
			if w.Weakest != nil {
				v += fmt.Sprintf(" (%s vs %s: %+.1f points over %d shared batches, p = %.2g)", w.Weakest.A, w.Weakest.B, 100*w.Weakest.Diff, w.Weakest.Batches, w.Weakest.P)
			} else if len(w.Group) > 0 {
				v += fmt.Sprintf(" (the lowest, %s at %s, is not distinguishable from %d others)", w.Group[0], pct(w.Rates[w.Group[0]].P), len(w.Group)-1)
			}
			verdicts = append(verdicts, v)
			continue
		}
		found++
		lead := byID[w.Group[0]]
		var members []string
		for _, g := range w.Group {
			members = append(members, fmt.Sprintf("%s %s", g, rateEvidence(byID[g])))
		}
		in := Insight{Kind: KindWeakest, Platform: w.Group[0], Group: w.Group,
			Rate: lead.PassRate, CILow: lead.CILow, CIHigh: lead.CIHigh, N: lead.N, Batches: lead.RateBatches,
			DesignEffect: ptr(lead.DesignEffect), P: ptr(w.Weakest.P)}
		in.Evidence = fmt.Sprintf("among %s, %s %s below every other: %s; the closest pair, %s vs %s, differs by %+.1f points over %d shared batches (p = %.2g, each pair tested at %.3g)",
			label, strings.Join(w.Group, " and "), verb(len(w.Group), "is", "are"), strings.Join(members, "; "),
			w.Weakest.A, w.Weakest.B, 100*w.Weakest.Diff, w.Weakest.Batches, w.Weakest.P, w.Alpha)
		if k != "" {
			in.BlockedBy = nil
		}
		rep.Insights = append(rep.Insights, in)
	}
	sort.Strings(rep.Verdicts.Apart)
	switch {
	case found > 0 && len(verdicts) > 0:
		rep.Verdicts.WeakestPlatform = "named in the insights; " + strings.Join(verdicts, "; ")
	case found > 0:
		rep.Verdicts.WeakestPlatform = "named in the insights"
	case len(verdicts) == 0:
		rep.Verdicts.WeakestPlatform = "no comparison: fewer than two platforms of one population tested anything"
	default:
		rep.Verdicts.WeakestPlatform = strings.Join(verdicts, "; ")
	}
	if len(rep.Verdicts.Apart) > 0 {
		rep.Verdicts.WeakestPlatform += fmt.Sprintf("; too little data to rank: %s", strings.Join(rep.Verdicts.Apart, ", "))
	}
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// regressions names platforms whose pass rate fell, within ecosystems, with
// q <= Q among the report's trends, and whose gates did not change.
func regressions(rep *Report) {
	n, popChanged := 0, 0
	for _, p := range rep.Platforms {
		t := p.Trend
		if t == nil || !t.Significant || t.Change >= 0 {
			continue
		}
		if t.PopulationChanged {
			popChanged++
			continue
		}
		n++
		mix := ""
		if t.MixShift >= 0.2 {
			mix = fmt.Sprintf("; the ecosystem mix moved (%.0f%% of tests changed ecosystem), which the within-ecosystem comparison allows for", 100*t.MixShift)
		}
		rep.Insights = append(rep.Insights, Insight{
			Kind: KindRegression, Platform: p.Platform,
			Rate: ptr(t.CurrentPassRate), N: t.CurrentTested, Change: ptr(t.Change), P: ptr(t.P), Q: ptr(t.Q), Batches: t.CurrentBatches,
			Evidence: fmt.Sprintf("%s fell %+.1f points within ecosystems (%s), from %s (%d of %d, %d batches) to %s (%d of %d, %d batches); SE %.1f points with intra-batch correlation %.2f, p = %.2g, q = %.2g (comparing %s)%s",
				p.Platform, 100*t.Change, strings.Join(t.Strata, ", "), pct(t.PreviousPassRate), t.PreviousPassed, t.PreviousTested, t.PreviousBatches,
				pct(t.CurrentPassRate), t.CurrentPassed, t.CurrentTested, t.CurrentBatches, 100*t.SE, t.ICC, t.P, t.Q, rep.Window.TrendDescription, mix),
		})
	}
	compared := 0
	for _, p := range rep.Platforms {
		if p.Trend != nil && p.Trend.Testable {
			compared++
		}
	}
	switch {
	case n > 0:
		rep.Verdicts.Regressions = fmt.Sprintf("%d platform(s) regressed within ecosystems at q <= %.2f; see the insights", n, infer.Q)
	default:
		rep.Verdicts.Regressions = fmt.Sprintf("no platform's pass rate fell significantly within ecosystems (%d platforms compared with %s, q <= %.2f)", compared, rep.Window.TrendDescription, infer.Q)
	}
	if popChanged > 0 {
		rep.Verdicts.Regressions += fmt.Sprintf("; %d platform(s) whose gate changed show a different population, not a regression", popChanged)
	}
}

// skipAdvice tests every ecosystem x platform cell's recipe failure rate
// against the threshold, with the matrix's pooled dispersion and
// Benjamini-Hochberg across the cells.
func skipAdvice(rep *Report, cur []*batch, cellObs [][]infer.Obs, o ReportOptions) {
	secs := map[string][2]float64{} // platform -> (seconds, tested) where timed
	for _, b := range cur {
		for pc := range b.plats.all() {
			if pc.timed && pc.c.Tested > 0 {
				v := secs[pc.id]
				v[0] += pc.seconds
				v[1] += float64(pc.c.Tested)
				secs[pc.id] = v
			}
		}
	}
	var days float64
	if rep.Window.First != nil {
		days = rep.Window.Last.Sub(*rep.Window.First).Hours() / 24
	}
	d := infer.EstimateICC(cellObs)
	tests := make([]infer.SkipTest, len(rep.Matrix))
	for i := range rep.Matrix {
		tests[i] = infer.TestSkip(cellObs[i], o.SkipThreshold, d)
	}
	advised := infer.SkipAdvice(tests)
	gates := map[string][]string{}
	for _, p := range rep.Platforms {
		gates[p.Platform] = p.GatedBy
	}
	n, untested, above := 0, 0, 0
	for i := range rep.Matrix {
		c := &rep.Matrix[i]
		st := tests[i]
		if !st.Testable {
			if st.N > 0 {
				untested++
			}
			continue
		}
		c.SkipP, c.SkipQ = ptr(st.P), ptr(st.Q)
		if st.Rate > o.SkipThreshold {
			above++
		}
		if !advised[i] {
			continue
		}
		n++
		in := Insight{Kind: KindSkip, Platform: c.Platform, Ecosystem: c.Ecosystem,
			Rate: ptr(st.Rate), CILow: ptr(st.Low), CIHigh: ptr(st.High), N: st.N, Batches: st.Batches,
			DesignEffect: ptr(round3(st.DesignEffect)), P: ptr(st.P), Q: ptr(st.Q)}
		saving := "the time it would save is unknown (no durations recorded)"
		if v, ok := secs[c.Platform]; ok && v[1] > 0 {
			perTest := v[0] / v[1] / 60
			total := perTest * float64(c.Tested)
			if days >= 7 {
				in.MinutesPerWeek = ptr(math.Round(total/(days/7)*10) / 10)
				saving = fmt.Sprintf("skipping saves about %.0f minutes a week (%.0f minutes over the window's %.0f days)", *in.MinutesPerWeek, total, days)
			} else {
				saving = fmt.Sprintf("skipping would have saved about %.0f minutes over %d batches (the window spans under a week: no weekly figure)", total, st.Batches)
			}
		}
		given := ""
		if g := gates[c.Platform]; len(g) > 0 {
			given = " given passing " + strings.Join(g, " and ")
		}
		in.Evidence = fmt.Sprintf("%s fails on %s%s %s of the time (%d of %d recipe tests, %d batches, design effect %.2f at the matrix's intra-batch correlation %.2f, %s), above %s: p = %.2g, q = %.2g; %s",
			c.Ecosystem, c.Platform, given, pct(st.Rate), st.Failed, st.N, st.Batches, st.DesignEffect, st.ICC, ciText(st.Low, st.High), pct(o.SkipThreshold), st.P, st.Q, saving)
		rep.Insights = append(rep.Insights, in)
	}
	switch {
	case n > 0:
		rep.Verdicts.SkipAdvice = fmt.Sprintf("%d ecosystem x platform cell(s) fail above %s at q <= %.2f; see the insights", n, pct(o.SkipThreshold), infer.Q)
	case above > 0:
		rep.Verdicts.SkipAdvice = fmt.Sprintf("no skip advised: %d cell(s) fail above %s, but not significantly (q > %.2f)", above, pct(o.SkipThreshold), infer.Q)
	default:
		rep.Verdicts.SkipAdvice = fmt.Sprintf("no skip advised: no ecosystem fails above %s on any platform (%d cells)", pct(o.SkipThreshold), len(rep.Matrix))
	}
	if untested > 0 {
		rep.Verdicts.SkipAdvice += fmt.Sprintf("; %d cell(s) have too little data to test (under %d batches or %d tests)", untested, infer.MinBatches, infer.MinTests)
	}
}

// incidents names the platforms whose runners failed whole batches.
func incidents(rep *Report) {
	for _, p := range rep.Platforms {
		if len(p.Health.Incidents) == 0 {
			continue
		}
		rep.Insights = append(rep.Insights, incidentInsight(p.Platform, len(p.Health.Incidents), p.Health.Incidents))
	}
}

// incidentInsight names a platform's n incidents, of which first holds
// the first (at least three, when there are).
func incidentInsight(plat string, n int, first []string) Insight {
	list := first[:min(3, len(first))]
	more := ""
	if n > 3 {
		more = fmt.Sprintf(" and %d more", n-3)
	}
	return Insight{Kind: KindIncident, Platform: plat, Recipes: int64(n),
		Evidence: fmt.Sprintf("%s had %d batch(es) in which most tests failed for the infrastructure (network_error, timeout): %s%s; they are runner incidents, left out of the recipe pass rate",
			plat, n, strings.Join(list, ", "), more)}
}

// matrixObs is each matrix cell's observations: its platform's, of its
// ecosystem, in batch order, in one array (read only).
func matrixObs(rep *Report, ser map[string]*series) [][]infer.Obs {
	cell := map[[2]string]int{}
	for i, c := range rep.Matrix {
		cell[[2]string{c.Platform, c.Ecosystem}] = i
	}
	n := make([]int, len(rep.Matrix))
	total := 0
	for plat, s := range ser {
		for _, o := range s.ecoObs() {
			if i, ok := cell[[2]string{plat, o.Eco.String()}]; ok {
				n[i]++
				total++
			}
		}
	}
	out := make([][]infer.Obs, len(rep.Matrix))
	all := make([]infer.Obs, total)
	for i := range out {
		if n[i] > 0 {
			out[i], all = all[:0:n[i]], all[n[i]:]
		}
	}
	for plat, s := range ser {
		for _, o := range s.ecoObs() {
			if i, ok := cell[[2]string{plat, o.Eco.String()}]; ok {
				out[i] = append(out[i], o)
			}
		}
	}
	return out
}

// cellRates fills the matrix cells' recipe rates.
func cellRates(rep *Report, cellObs [][]infer.Obs) {
	icc := rep.Inference.ICC
	for i := range rep.Matrix {
		c := &rep.Matrix[i]
		obs := cellObs[i]
		r := infer.EstimateRateICC(obs, icc)
		c.N, c.Batches, c.DesignEffect, c.SmallSample = r.N, r.Batches, round3(r.DesignEffect), r.Small
		c.PassRate, c.CILow, c.CIHigh = nil, nil, nil
		if r.N > 0 {
			c.PassRate = ptr(r.P)
		}
		if r.Interval {
			c.CILow, c.CIHigh = ptr(r.Low), ptr(r.High)
		}
	}
}

// spark is a platform's recipe pass rate per bucket of consecutive batches
// of the window; nil where a bucket has no recipe result.
func spark(s *series, cur, all []*batch, buckets int) []*float64 {
	if buckets == 0 || len(cur) == 0 {
		return nil
	}
	first := indexOf(all, cur[0])
	var x, n = make([]int64, buckets), make([]int64, buckets)
	if s != nil {
		for _, o := range s.rate {
			i := int(o.Batch) - first
			if i < 0 || i >= len(cur) {
				continue
			}
			bk := i * buckets / len(cur)
			x[bk] += o.Passed
			n[bk] += o.Tested
		}
	}
	out := make([]*float64, buckets)
	for i := range out {
		if n[i] > 0 {
			out[i] = ptr(float64(x[i]) / float64(n[i]))
		}
	}
	return out
}
