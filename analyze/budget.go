package analyze

import (
	"fmt"
	"math"
	"sort"
	"time"

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
// projects them to the week's end at the week's average daily rate.
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
	elapsed := o.Now.Sub(start).Hours() / 24
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
	if elapsed <= 0 {
		bu.Status = "on track: the week has just begun"
		return bu
	}
	burn := used / elapsed
	proj := burn * 7
	bu.BurnPerDay, bu.ProjectedMinutes = &burn, &proj
	if proj > o.WeekBudget && burn > 0 {
		t := clampTime(start.Add(time.Duration(o.WeekBudget / burn * 24 * float64(time.Hour))).Truncate(time.Minute))
		bu.RunOutAt = &t
		bu.Status = fmt.Sprintf("will run out on %s at this rate (%.0f min/day, %.0f projected)%s", t.Format("Mon 2006-01-02 15:04 UTC"), burn, proj, atLeast)
		return bu
	}
	bu.Status = fmt.Sprintf("on track: %.0f minutes projected by the week's end%s", proj, atLeast)
	return bu
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
