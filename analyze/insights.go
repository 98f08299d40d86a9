package analyze

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/stats"
)

// pct formats a fraction as a percentage with one decimal.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func ciText(lo, hi float64) string { return fmt.Sprintf("95%% CI %s–%s", pct(lo), pct(hi)) }

// weakest names the weakest platform when its interval lies wholly below
// every other platform's.
func weakest(rep *Report, o ReportOptions) {
	var ps []PlatformStat
	for _, p := range rep.Platforms {
		if p.Tested > 0 {
			ps = append(ps, p)
		}
	}
	if len(ps) < 2 {
		rep.Verdicts.WeakestPlatform = fmt.Sprintf("no comparison: %d platform(s) tested anything in the window", len(ps))
		return
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].PassRate < ps[j].PassRate })
	w := ps[0]
	var overlap []string
	for _, p := range ps[1:] {
		if w.CIHigh >= p.CILow {
			overlap = append(overlap, fmt.Sprintf("%s %s (n = %d, %s)", p.Platform, pct(p.PassRate), p.N, ciText(p.CILow, p.CIHigh)))
		}
	}
	if len(overlap) > 0 {
		more := ""
		if len(overlap) > 3 {
			more = fmt.Sprintf(" and %d more", len(overlap)-3)
			overlap = overlap[:3]
		}
		rep.Verdicts.WeakestPlatform = fmt.Sprintf("no platform is significantly weaker: the lowest, %s at %s (n = %d, %s), overlaps %s%s",
			w.Platform, pct(w.PassRate), w.N, ciText(w.CILow, w.CIHigh), strings.Join(overlap, ", "), more)
		return
	}
	next := ps[1]
	rep.Insights = append(rep.Insights, Insight{
		Kind: KindWeakest, Platform: w.Platform,
		Rate: ptr(w.PassRate), CILow: ptr(w.CILow), CIHigh: ptr(w.CIHigh), N: w.N,
		Evidence: fmt.Sprintf("%s passes %s (%d of %d, %s), below every other platform's interval; the next lowest, %s, passes %s (n = %d, %s)",
			w.Platform, pct(w.PassRate), w.Passed, w.Tested, ciText(w.CILow, w.CIHigh), next.Platform, pct(next.PassRate), next.N, ciText(next.CILow, next.CIHigh)),
	})
	rep.Verdicts.WeakestPlatform = "named in the insights: " + w.Platform
}

// regressions names platforms whose pass rate fell significantly.
func regressions(rep *Report) {
	n := 0
	for _, p := range rep.Platforms {
		t := p.Trend
		if t == nil || !t.Significant || t.Change >= 0 {
			continue
		}
		n++
		rep.Insights = append(rep.Insights, Insight{
			Kind: KindRegression, Platform: p.Platform,
			Rate: ptr(t.CurrentPassRate), N: t.CurrentTested, Change: ptr(t.Change), P: ptr(t.P),
			Evidence: fmt.Sprintf("%s fell from %s (%d of %d) to %s (%d of %d), %+.1f points, p = %.3g (comparing %s)",
				p.Platform, pct(t.PreviousPassRate), t.PreviousPassed, t.PreviousTested,
				pct(t.CurrentPassRate), t.CurrentPassed, t.CurrentTested, 100*t.Change, t.P, rep.Window.TrendDescription),
		})
	}
	if n == 0 {
		compared := 0
		for _, p := range rep.Platforms {
			if p.Trend != nil && p.Trend.Testable {
				compared++
			}
		}
		rep.Verdicts.Regressions = fmt.Sprintf("no platform's pass rate fell significantly (%d platforms compared with %s)", compared, rep.Window.TrendDescription)
	} else {
		rep.Verdicts.Regressions = fmt.Sprintf("%d platform(s) regressed; see the insights", n)
	}
}

// skipAdvice advises skipping an ecosystem on a platform when even the lower
// bound of its failure rate's interval is above the threshold.
func skipAdvice(rep *Report, cur []*batch, o ReportOptions) {
	// Seconds per tested recipe per platform, and the window's length.
	secs := map[string][2]float64{} // platform -> (seconds, tested) where timed
	for _, b := range cur {
		for _, pc := range b.plats {
			if pc.timed && pc.c.Tested > 0 {
				v := secs[pc.id]
				v[0] += pc.seconds
				v[1] += float64(pc.c.Tested)
				secs[pc.id] = v
			}
		}
	}
	weeks := 1.0
	if rep.Window.First != nil {
		days := rep.Window.Last.Sub(*rep.Window.First).Hours() / 24
		weeks = math.Max(days, 1) / 7
	}
	n, close := 0, 0
	for _, c := range rep.Matrix {
		if c.Tested == 0 {
			continue
		}
		fr := rate(c.Failed, c.Tested)
		iv := stats.Wilson(c.Failed, c.Tested, stats.Z95)
		if iv.Low <= o.SkipThreshold {
			if fr > o.SkipThreshold {
				close++
			}
			continue
		}
		n++
		in := Insight{Kind: KindSkip, Platform: c.Platform, Ecosystem: c.Ecosystem,
			Rate: ptr(fr), CILow: ptr(iv.Low), CIHigh: ptr(iv.High), N: c.Tested}
		saving := "the time it would save is unknown (no durations recorded)"
		if v, ok := secs[c.Platform]; ok && v[1] > 0 {
			min := v[0] / v[1] * float64(c.Tested) / 60 / weeks
			in.MinutesPerWeek = ptr(math.Round(min*10) / 10)
			saving = fmt.Sprintf("skipping saves about %.0f minutes a week", min)
		}
		in.Evidence = fmt.Sprintf("%s fails on %s %s of the time (%d of %d, %s), above the %s threshold even at the interval's low end; %s",
			c.Ecosystem, c.Platform, pct(fr), c.Failed, c.Tested, ciText(iv.Low, iv.High), pct(o.SkipThreshold), saving)
		rep.Insights = append(rep.Insights, in)
	}
	switch {
	case n > 0:
		rep.Verdicts.SkipAdvice = fmt.Sprintf("%d ecosystem x platform cell(s) fail above %s with confidence; see the insights", n, pct(o.SkipThreshold))
	case close > 0:
		rep.Verdicts.SkipAdvice = fmt.Sprintf("no skip advised: %d cell(s) fail above %s, but their intervals reach below it (too few tests to be sure)", close, pct(o.SkipThreshold))
	default:
		rep.Verdicts.SkipAdvice = fmt.Sprintf("no skip advised: no ecosystem fails above %s on any platform (%d cells)", pct(o.SkipThreshold), len(rep.Matrix))
	}
}

// capabilityGaps names, per platform, the causes that alone explain the most
// failing recipes. Infrastructure categories are not capability gaps.
func capabilityGaps(rep *Report, fa *failureAgg, o ReportOptions) {
	counts, failing := fa.gapCounts()
	byPlat := map[string][]cause{}
	for c, n := range counts {
		if n < 2 || (c.dep == "" && model.CategoryKind(c.category) == model.KindInfrastructure) {
			continue
		}
		byPlat[c.platform] = append(byPlat[c.platform], c)
	}
	var gaps []Insight
	for p, cs := range byPlat {
		sort.Slice(cs, func(i, j int) bool {
			if counts[cs[i]] != counts[cs[j]] {
				return counts[cs[i]] > counts[cs[j]]
			}
			if cs[i].dep != cs[j].dep {
				return cs[i].dep < cs[j].dep
			}
			return cs[i].category < cs[j].category
		})
		if len(cs) > o.TopGaps {
			cs = cs[:o.TopGaps]
		}
		for _, c := range cs {
			n := counts[c]
			in := Insight{Kind: KindGap, Platform: p, Category: c.category, BlockedBy: []string{}, Recipes: n, FailingRecipes: failing[p]}
			if c.dep != "" {
				in.BlockedBy = []string{c.dep}
				in.Evidence = fmt.Sprintf("on %s, %d of %d failing recipes fail only because they are blocked by %s: providing it would unlock up to %d recipes",
					p, n, failing[p], c.dep, n)
			} else {
				in.Evidence = fmt.Sprintf("on %s, %d of %d failing recipes fail only with %s: fixing it would unlock up to %d recipes",
					p, n, failing[p], c.category, n)
			}
			gaps = append(gaps, in)
		}
	}
	sort.SliceStable(gaps, func(i, j int) bool {
		if gaps[i].Recipes != gaps[j].Recipes {
			return gaps[i].Recipes > gaps[j].Recipes
		}
		if gaps[i].Platform != gaps[j].Platform {
			return gaps[i].Platform < gaps[j].Platform
		}
		return strings.Join(gaps[i].BlockedBy, ",")+gaps[i].Category < strings.Join(gaps[j].BlockedBy, ",")+gaps[j].Category
	})
	rep.Insights = append(rep.Insights, gaps...)
	var total int64
	for _, n := range failing {
		total += n
	}
	if len(gaps) == 0 {
		rep.Verdicts.CapabilityGaps = fmt.Sprintf("no single cause explains two or more failing recipes on any platform (%d failing recipe x platform pairs in the window)", total)
	} else {
		rep.Verdicts.CapabilityGaps = fmt.Sprintf("%d gap(s) named in the insights, ranked by recipes unlocked (%d failing recipe x platform pairs in the window)", len(gaps), total)
	}
}

// notes writes the footnotes that state the denominators and caveats.
func notes(rep *Report, o ReportOptions, sawV1 bool, levels map[string]platInfo, fa *failureAgg) {
	rep.Notes = append(rep.Notes, "Tested counts one result per recipe and platform key: a recipe tested on three Linux families counts three times at the family level."+
		" Passed + failed = tested; skipped recipes (not tested there, for example after failing earlier) are not in the pass rate.")
	if sawV1 {
		rep.Notes = append(rep.Notes, "Older (v1) records key Linux by validation job (linux-x86_64, linux-arm64) and count one result per recipe x distribution family; they do not count skips.")
	}
	var coarse []string
	for id, info := range levels {
		if info.coarser {
			coarse = append(coarse, fmt.Sprintf("%s (%s)", id, info.level))
		}
	}
	if len(coarse) > 0 {
		sort.Strings(coarse)
		rep.Notes = append(rep.Notes, fmt.Sprintf("Records coarser than the level asked (%s) are reported at their own level, never split: %s.", o.By, strings.Join(coarse, ", ")))
	}
	if rep.EmptyRuns > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d runs in the window tested nothing; they are not counted as batches.", rep.EmptyRuns))
	}
	var over []string
	for _, p := range rep.Platforms {
		if n := p.RecipeFailures + p.InfrastructureFailures; n > p.Failed {
			over = append(over, fmt.Sprintf("%s (%d records, %d failed)", p.Platform, n, p.Failed))
		}
	}
	if len(over) > 0 {
		rep.Notes = append(rep.Notes, "Some platforms have more failure records than failed tests: the failure files also hold failures from outside validation (such as generation), which the batch counters do not count: "+strings.Join(over, ", ")+".")
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("Failure records (%d in the window) fall in the window by batch ID where they carry one, else by time; categories network_error and timeout are infrastructure failures and do not count against a recipe.", fa.records))
	rep.Notes = append(rep.Notes, fmt.Sprintf("Intervals are 95%% Wilson score intervals; rates from fewer than %d tests are marked as small samples. Changes are tested with a two-proportion z-test at p < 0.05 and not at all when a window expects fewer than 5 passes or failures.", o.SmallSample))
	if len(o.Ecosystems) > 0 || len(o.Platforms) > 0 {
		rep.Notes = append(rep.Notes, "Filters apply to pass rates, categories and insights; the macOS budget always counts every batch of the week.")
	}
	for _, e := range o.Ecosystems {
		if e == model.Mixed {
			rep.Notes = append(rep.Notes, "`mixed` holds v1 runs that spanned several ecosystems: they cannot be split and are never apportioned.")
		}
	}
}
