package analyze

import (
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/stats"
)

// RulePlan is what the Prometheus rules and the Grafana dashboard are
// generated from (batchsli rules; docs/METHODS.md, "Prometheus rules"):
// the check's SLOs with the platforms each selects in the data, and the
// batch cadence that turns their windows, counted in batches, into time.
type RulePlan struct {
	By string
	// Interval is the time between batches; IntervalFrom says where it
	// comes from (the flag, or the data's median spacing).
	Interval     time.Duration
	IntervalFrom string
	Burn         Burn
	// Series is the number of SLO series (SLO x platform), the Bonferroni
	// divisor the check uses too.
	Series int
	SLOs   []RuleSLO
	// WeekBudget is the weekly macOS budget in minutes; SampleFrom and
	// PauseFrom the gate's shares of it.
	WeekBudget, SampleFrom, PauseFrom float64
}

// RuleSLO is one SLO with its alert windows.
type RuleSLO struct {
	Name, Objective, Ecosystem string
	Target                     float64
	Platforms                  []string
	// Window is the compliance period in batches; Alerts the breach and
	// the warning.
	Window int
	Alerts []RuleAlert
}

// RuleAlert is a multi-window burn-rate alert: the long and short windows
// (as batches and as time), the burn rate both must reach, and the
// evidence the long window needs: at least MinBatches batches and
// MinTests tests, and a t statistic of the failure rate against the
// budget above the critical value for the batches it holds
// (RulePlan.Critical).
type RuleAlert struct {
	Severity                  string // breach or warn
	Rate                      float64
	LongBatches, ShortBatches int
	Long, Short               time.Duration
	MinBatches                int
	MinTests                  int64
}

// Critical is the critical t for a long window of b batches: the
// 1 - alpha/Series quantile of Student's t on b-1 degrees of freedom, as
// the check uses, rounded up to 4 decimals.
func (p *RulePlan) Critical(b int) float64 {
	k := max(1, p.Series)
	return roundCritical(stats.TQuantile(1-p.Burn.Alpha/float64(k), float64(b-1)))
}

// CriticalUpTo is the number of batches up to which a window's critical
// value is looked up; above it the value at that count is used, which is
// conservative (the quantile falls as the degrees of freedom grow).
func CriticalUpTo(longBatches int) int { return max(10, 2*longBatches) }

// medianSpacingOf is how many of the last batches the cadence is the
// median spacing of.
const medianSpacingOf = 100

// PlanRules selects each SLO's platforms in the history (as the check
// does) and sets the alert windows at the batch cadence: interval, or when
// it is zero the median spacing of the last batches.
func PlanRules(fsys fs.FS, name string, o CheckOptions, interval time.Duration) (*RulePlan, error) {
	c, err := RunCheck(fsys, name, o)
	if err != nil {
		return nil, err
	}
	p := &RulePlan{By: o.Report.By.String(), Interval: interval, Burn: o.Burn, Series: c.Series,
		WeekBudget: o.Report.WeekBudget, SampleFrom: o.SampleFrom, PauseFrom: o.PauseFrom}
	if interval > 0 {
		p.IntervalFrom = "--batch-interval"
	} else {
		e, err := Export(fsys, name, o.Report)
		if err != nil {
			return nil, err
		}
		var ts []time.Time
		for _, b := range e.Batches {
			ts = append(ts, b.Time)
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		ts = ts[max(0, len(ts)-medianSpacingOf-1):]
		var gaps []float64
		for i := 1; i < len(ts); i++ {
			gaps = append(gaps, ts[i].Sub(ts[i-1]).Seconds())
		}
		if len(gaps) < 2 {
			return nil, fmt.Errorf("%s: %d batches are too few to tell the batch cadence; give it with --batch-interval", name, len(ts))
		}
		med := stats.Quantile(gaps, 0.5)
		p.Interval = max(time.Minute, time.Duration(med*float64(time.Second)).Round(time.Minute))
		p.IntervalFrom = fmt.Sprintf("the median spacing of the last %d batches", len(ts))
	}
	for _, s := range o.SLOs {
		rs := RuleSLO{Name: s.Name, Objective: s.Objective, Ecosystem: s.Ecosystem, Target: s.Target, Window: s.Window}
		for _, r := range c.SLOs {
			if r.Name == s.Name && !slices.Contains(rs.Platforms, r.Platform) {
				rs.Platforms = append(rs.Platforms, r.Platform)
			}
		}
		bl, bs, wl, ws := BurnWindows(s.Window)
		for _, a := range []struct {
			sev         string
			rate        float64
			long, short int
		}{{StatusBreach, o.Burn.BreachRate, bl, bs}, {StatusWarn, o.Burn.WarnRate, wl, ws}} {
			rs.Alerts = append(rs.Alerts, RuleAlert{Severity: a.sev, Rate: a.rate, LongBatches: a.long, ShortBatches: a.short,
				Long: time.Duration(a.long) * p.Interval, Short: time.Duration(a.short) * p.Interval,
				MinBatches: infer.MinBatches, MinTests: infer.MinTests})
		}
		p.SLOs = append(p.SLOs, rs)
	}
	return p, nil
}

// BudgetWindows are the macOS budget's burn-rate windows over its week:
// a tenth and a fortieth of it for the breach, a quarter and a sixteenth
// for the warning, as the SLOs' are over their periods.
func BudgetWindows() (breachLong, breachShort, warnLong, warnShort time.Duration) {
	week := 7 * 24 * time.Hour
	return week / 10, week / 40, week / 4, week / 16
}

// roundCritical rounds a critical value up to 4 decimals, the form the
// rules print.
func roundCritical(v float64) float64 { return math.Ceil(v*1e4) / 1e4 }
