package analyze

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/model"
)

// budgetBatch reduces a run to its macOS minutes: macos_minutes_used where
// recorded, else ceil(seconds/60) per darwin platform when every darwin
// platform that tested something has a duration (and at least one has), zero
// for a run with no darwin platform at all, else unknown. A record that says
// nothing about minutes is never read as zero.
func budgetBatch(b *model.BatchRun) *batch {
	nb := &batch{id: b.BatchID, ts: b.Timestamp, ecosystem: b.Ecosystem}
	if b.MacOSMinutesUsed != nil {
		m := float64(*b.MacOSMinutesUsed)
		nb.minutes, nb.usesMac = &m, m > 0
		return nb
	}
	var sum float64
	known, timed, darwin := true, false, false
	for id, c := range b.Platforms {
		if !model.ParseEnv(id).IsDarwin() {
			continue
		}
		darwin = true
		if c.DurationSeconds == nil {
			if c.Tested > 0 {
				known = false
			}
			continue
		}
		timed = true
		sum += math.Ceil(*c.DurationSeconds / 60)
	}
	if !darwin || (known && timed) {
		nb.minutes = &sum // no darwin platform at all: no macOS used
		nb.usesMac = sum > 0
		return nb
	}
	nb.usesMac = true // unknown: it may have used macOS
	return nb
}

// MacOSMinutes returns a run's macOS minutes and whether they are known.
func MacOSMinutes(b *model.BatchRun) (float64, bool) {
	nb := budgetBatch(b)
	if nb.minutes == nil {
		return 0, false
	}
	return *nb.minutes, true
}

// computeBudget sums the macOS minutes of the week holding o.Now and
// projects the week's end from the trailing days (forecastBudget).
func computeBudget(runs []*batch, o ReportOptions) Budget {
	start := WeekOf(o.Now, o.WeekStart)
	end := start.AddDate(0, 0, 7)
	bu := Budget{WeekStart: start, WeekEnd: clampTime(end), Now: o.Now, BudgetMinutes: o.WeekBudget}
	var used float64
	anyKnown := false
	type point struct {
		ts time.Time
		m  float64
	}
	var pts []point
	for _, b := range runs {
		if b.ts.Before(start) || !b.ts.Before(end) || b.ts.After(o.Now) {
			continue
		}
		bu.Batches++
		if b.minutes == nil {
			if b.usesMac {
				bu.UnknownBatches++
			}
			continue
		}
		anyKnown = true
		used += *b.minutes
		pts = append(pts, point{b.ts, *b.minutes})
	}
	if bu.UnknownBatches > 0 && !anyKnown {
		bu.Status = fmt.Sprintf("unknown: %s this week did not record their macOS minutes", plural(bu.UnknownBatches, "batch", "batches"))
		return bu
	}
	bu.UsedMinutes = &used
	share := used / o.WeekBudget
	bu.UsedShare = &share
	atLeast := ""
	if bu.UnknownBatches > 0 {
		atLeast = fmt.Sprintf(" (at least: %s did not record their macOS minutes)", plural(bu.UnknownBatches, "batch", "batches"))
	}
	if used >= o.WeekBudget {
		bu.Exhausted = true
		// When the running total crossed the budget.
		sort.Slice(pts, func(i, j int) bool { return pts[i].ts.Before(pts[j].ts) })
		var run float64
		for _, p := range pts {
			run += p.m
			if run >= o.WeekBudget {
				t := p.ts
				bu.RunOutAt = &t
				break
			}
		}
		bu.Status = fmt.Sprintf("exhausted: %.0f of %.0f minutes used%s", used, o.WeekBudget, atLeast)
		return bu
	}
	forecastBudget(&bu, runs, o, used, atLeast)
	return bu
}

// Budget forecast settings (docs/METHODS.md, "macOS budget forecast").
const (
	// TrailingDays is the most recent days the forecast resamples: four
	// weeks, so one unusual week does not set the rate alone.
	TrailingDays = 28
	// MinTrailingDays is the history a projection needs at least.
	MinTrailingDays = 7
	// WarnProbability is the chance of reaching the budget above which the
	// report says it will likely run out, and record warns.
	WarnProbability = 0.9
)

// forecastBudget projects the week's end from the trailing TrailingDays
// days of recorded minutes (infer.BudgetForecast), or says it is too early.
func forecastBudget(bu *Budget, runs []*batch, o ReportOptions, used float64, atLeast string) {
	var first time.Time
	for _, b := range runs {
		if b.minutes != nil && !b.ts.After(o.Now) && (first.IsZero() || b.ts.Before(first)) {
			first = b.ts
		}
	}
	span := 0.0
	if !first.IsZero() {
		span = o.Now.Sub(first).Hours() / 24
	}
	if span < MinTrailingDays {
		bu.TooEarly = true
		bu.Status = fmt.Sprintf("too early to project: %.1f days of recorded minutes, a projection needs %d%s", span, MinTrailingDays, atLeast)
		return
	}
	// Whole days of history, up to TrailingDays, ending now.
	days := int(math.Min(TrailingDays, math.Floor(span)))
	from := o.Now.Add(-time.Duration(days) * 24 * time.Hour)
	daily := make([]float64, days)
	known, unknown := 0, 0
	for _, b := range runs {
		if b.ts.After(o.Now) || !b.ts.After(from) {
			continue
		}
		if b.minutes == nil {
			// A run that tested nothing on macOS used none of it.
			if b.usesMac {
				unknown++
			} else {
				known++
			}
			continue
		}
		known++
		slot := int(b.ts.Sub(from) / (24 * time.Hour))
		if slot >= days {
			slot = days - 1
		}
		daily[slot] += *b.minutes
	}
	// Minutes not recorded are unknown, never zero: with none recorded in
	// the trailing days there is nothing to project from.
	switch {
	case known == 0 && unknown > 0:
		bu.Status = fmt.Sprintf("no projection: the last %d days' %s did not record their macOS minutes%s", days, plural(unknown, "batch", "batches"), atLeast)
		return
	case known == 0:
		bu.Status = fmt.Sprintf("no projection: no batch ran in the last %d days%s", days, atLeast)
		return
	}
	remaining := WeekOf(o.Now, o.WeekStart).AddDate(0, 0, 7).Sub(o.Now).Hours() / 24
	fc := infer.BudgetForecast(infer.BudgetInput{Used: used, Budget: o.WeekBudget, Remaining: remaining, Daily: daily})
	bu.BurnPerDay, bu.ProjectedMinutes = &fc.MeanPerDay, &fc.Projected
	bu.ProjectedLow, bu.ProjectedHigh, bu.ExceedProbability = &fc.Low, &fc.High, &fc.PExceed
	basis := fmt.Sprintf("90%% prediction interval %.0f-%.0f, from the last %d days' %.0f min/day", fc.Low, fc.High, days, fc.MeanPerDay)
	if fc.PExceed > WarnProbability {
		at := func(days float64) *time.Time {
			if math.IsInf(days, 1) {
				return nil
			}
			t := clampTime(o.Now.Add(time.Duration(days * 24 * float64(time.Hour))).Truncate(time.Minute))
			return &t
		}
		bu.RunOutAt, bu.RunOutEarliest, bu.RunOutLatest = at(fc.RunOut[1]), at(fc.RunOut[0]), at(fc.RunOut[2])
		latest := "the week's end"
		if bu.RunOutLatest != nil {
			latest = bu.RunOutLatest.Format("Mon 15:04 UTC")
		}
		bu.Status = fmt.Sprintf("likely to run out: %.0f%% chance of reaching %.0f min by the week's end (%.0f projected, %s); most likely on %s, between %s and %s%s",
			100*fc.PExceed, o.WeekBudget, fc.Projected, basis, bu.RunOutAt.Format("Mon 2006-01-02 15:04 UTC"), bu.RunOutEarliest.Format("Mon 15:04"), latest, atLeast)
		return
	}
	bu.Status = fmt.Sprintf("on track: %.0f minutes projected by the week's end (%s); %.0f%% chance of reaching the budget%s", fc.Projected, basis, 100*fc.PExceed, atLeast)
}

// lastTime is the latest time RFC 3339 (and so the report's JSON) can write.
var lastTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// clampTime returns t, or lastTime for a time after it (the end of the last
// week of year 9999 falls in year 10000).
func clampTime(t time.Time) time.Time {
	if t.After(lastTime) {
		return lastTime
	}
	return t
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
