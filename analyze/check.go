package analyze

import (
	"fmt"
	"io/fs"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/batchsli/batchsli/infer"
)

// SLO objectives.
const (
	// ObjectivePassRate is a recipe pass rate: the share of recipe tests
	// that passed, infrastructure failures and incident batches left out
	// (as the report's pass rates).
	ObjectivePassRate = "pass_rate"
	// ObjectiveRunnerHealth is the share of tests that did not fail for
	// the infrastructure (network_error, timeout).
	ObjectiveRunnerHealth = "runner_health"
)

// SLO is a service level objective the check evaluates.
type SLO struct {
	Name      string  `json:"name"`
	Objective string  `json:"objective"`
	Target    float64 `json:"target"`
	// Platforms select the platforms, each evaluated on its own: an ID
	// at any level keeps every platform under it (as report --platform);
	// none: every platform.
	Platforms []string `json:"platforms,omitempty"`
	// Ecosystem restricts a pass-rate objective to one ecosystem.
	Ecosystem string `json:"ecosystem,omitempty"`
	// Window is the compliance period, in the batches that tested the
	// platform (and ecosystem).
	Window int `json:"window"`
}

// Burn sets the multi-window burn-rate alerts (docs/METHODS.md, "SLO
// gates"): an alert needs the burn rate at or above its threshold over a
// long and a short window, and the long window's failure rate
// significantly above the budgeted one.
type Burn struct {
	BreachRate float64 `json:"breach_rate"`
	WarnRate   float64 `json:"warn_rate"`
	// Alpha is the family-wise false-alarm rate of one check over all its
	// series (Bonferroni).
	Alpha float64 `json:"alpha"`
}

// DefaultBurn is the burn-rate alerting without a configuration.
var DefaultBurn = Burn{BreachRate: 4, WarnRate: 2, Alpha: 0.01}

// DefaultSLOWindow is the compliance period, in batches.
const DefaultSLOWindow = 100

// BurnWindows are the long and short windows of the breach and warn
// alerts for a compliance period of w batches: breach over a tenth of the
// period (and a quarter of that), warn over a quarter (and a quarter of
// that), at least 3 and 1 batches.
func BurnWindows(w int) (breachLong, breachShort, warnLong, warnShort int) {
	at := func(div, least int) int { return max(least, int(math.Round(float64(w)/float64(div)))) }
	return at(10, 3), at(40, 1), at(4, 3), at(16, 1)
}

// CheckOptions are what the check evaluates.
type CheckOptions struct {
	// Report sets the level (By), the clock (Now) and the budget week
	// (WeekBudget, WeekStart).
	Report ReportOptions
	// SampleFrom and PauseFrom are the shares of the weekly macOS budget
	// used this week from which macOS jobs are sampled, and paused.
	SampleFrom, PauseFrom float64
	SLOs                  []SLO
	Burn                  Burn
}

// DefaultCheckOptions are the check without a configuration: tsuku's plan
// (a 1,000-minute week, sample from 80% used, pause from 95%), no SLO.
func DefaultCheckOptions(now ReportOptions) CheckOptions {
	return CheckOptions{Report: now, SampleFrom: 0.8, PauseFrom: 0.95, Burn: DefaultBurn}
}

// Validate checks the options.
func (o CheckOptions) Validate() error {
	if err := o.Report.Validate(); err != nil {
		return err
	}
	if !(o.SampleFrom > 0 && o.SampleFrom <= o.PauseFrom && o.PauseFrom <= 1) {
		return fmt.Errorf("macOS thresholds: want 0 < sample_from <= pause_from <= 1, got %g and %g", o.SampleFrom, o.PauseFrom)
	}
	if !(o.Burn.WarnRate >= 1 && o.Burn.BreachRate >= o.Burn.WarnRate) {
		return fmt.Errorf("burn rates: want 1 <= warn_rate <= breach_rate, got %g and %g", o.Burn.WarnRate, o.Burn.BreachRate)
	}
	if !(o.Burn.Alpha > 0 && o.Burn.Alpha < 0.5) {
		return fmt.Errorf("burn alpha: want 0 < alpha < 0.5, got %g", o.Burn.Alpha)
	}
	for i, s := range o.SLOs {
		where := fmt.Sprintf("slo %d (%s)", i+1, s.Name)
		switch {
		case s.Objective != ObjectivePassRate && s.Objective != ObjectiveRunnerHealth:
			return fmt.Errorf("%s: objective must be %s or %s, not %q", where, ObjectivePassRate, ObjectiveRunnerHealth, s.Objective)
		case !(s.Target > 0 && s.Target < 1):
			return fmt.Errorf("%s: target must be between 0 and 1 (exclusive), not %g", where, s.Target)
		case s.Window < 8:
			return fmt.Errorf("%s: window must be at least 8 batches, not %d", where, s.Window)
		case s.Ecosystem != "" && s.Objective == ObjectiveRunnerHealth:
			return fmt.Errorf("%s: runner health is per batch, not per ecosystem", where)
		}
	}
	return nil
}

// Check is the gate a workflow branches on.
type Check struct {
	// MacOS is run, sample or pause; MacOSReason says why.
	MacOS       string  `json:"macos"`
	MacOSReason string  `json:"macos_reason"`
	Budget      Budget  `json:"budget"`
	SampleFrom  float64 `json:"sample_from"`
	PauseFrom   float64 `json:"pause_from"`
	// SLO is ok, warn or breach: the worst of SLOs.
	SLO  string      `json:"slo"`
	SLOs []SLOResult `json:"slos"`
	// Series counts the series the SLOs were evaluated on (the
	// Bonferroni divisor); Burn the alerting used.
	Series int  `json:"series"`
	Burn   Burn `json:"burn"`
}

// SLOResult is one SLO on one platform.
type SLOResult struct {
	Name      string  `json:"name"`
	Objective string  `json:"objective"`
	Platform  string  `json:"platform"`
	Ecosystem string  `json:"ecosystem,omitempty"`
	Target    float64 `json:"target"`
	// Status is ok, warn or breach; too_few when the period has fewer
	// than MinBatches batches or MinTests tests.
	Status string `json:"status"`
	// Period is the compliance period's failures and burn rate; the
	// windows are the alerts'.
	Period   BurnWindow   `json:"period"`
	Windows  []BurnWindow `json:"windows"`
	Evidence string       `json:"evidence"`
}

// BurnWindow is a window's failures and burn rate: its failure rate over
// the budgeted one (1 - target).
type BurnWindow struct {
	Name     string  `json:"name"` // period, breach_long, breach_short, warn_long, warn_short
	Batches  int     `json:"batches"`
	Tests    int64   `json:"tests"`
	Failures int64   `json:"failures"`
	Rate     float64 `json:"failure_rate"`
	Burn     float64 `json:"burn_rate"`
	// P is the one-sided p-value of "the failure rate exceeds the
	// budgeted one", with batches as clusters, for the long windows; PAdj
	// is P times the series evaluated (Bonferroni, at most 1).
	P    *float64 `json:"p_value,omitempty"`
	PAdj *float64 `json:"p_adjusted,omitempty"`
}

// Check statuses.
const (
	StatusOK     = "ok"
	StatusWarn   = "warn"
	StatusBreach = "breach"
	StatusTooFew = "too_few"
)

// RunCheck evaluates the macOS budget and the SLOs on the history.
func RunCheck(fsys fs.FS, name string, o CheckOptions) (*Check, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ro := o.Report
	var ser map[string]*series
	hooks := &reportHooks{done: func(views []*view, _ bool, _ int) {
		v := views[0]
		ser = platSeries(v.cur, v.fa, v.level.pos, flakyKept, seriesRate|seriesEco|seriesHealth)
	}}
	reps, _, err := buildReportsWith(fsys, name, []ReportOptions{ro}, hooks)
	if err != nil {
		return nil, err
	}
	c := &Check{Budget: reps[0].Budget, SampleFrom: o.SampleFrom, PauseFrom: o.PauseFrom, Burn: o.Burn, SLOs: []SLOResult{}}
	c.MacOS, c.MacOSReason = macOSGate(c.Budget, o)
	if c.SLOs, c.Series, err = evaluateSLOs(ser, o); err != nil {
		return nil, err
	}
	c.SLO = StatusOK
	for _, r := range c.SLOs {
		if r.Status == StatusBreach || r.Status == StatusWarn && c.SLO == StatusOK {
			c.SLO = r.Status
		}
	}
	return c, nil
}

// macOSGate is run, sample or pause from the share of the week's budget
// used so far. Minutes not recorded are unknown, not zero: with none known
// this week the gate stays at run and says so.
func macOSGate(bu Budget, o CheckOptions) (string, string) {
	if bu.UsedMinutes == nil {
		return "run", "this week's macOS minutes are unknown (" + bu.Status + "); nothing to gate on"
	}
	share := *bu.UsedShare
	used := fmt.Sprintf("%.0f of %.0f minutes used this week (%.1f%%)", *bu.UsedMinutes, bu.BudgetMinutes, 100*share)
	switch {
	case share >= o.PauseFrom:
		return "pause", fmt.Sprintf("%s, at or above the pause point %.0f%%", used, 100*o.PauseFrom)
	case share >= o.SampleFrom:
		return "sample", fmt.Sprintf("%s, at or above the sampling point %.0f%%", used, 100*o.SampleFrom)
	}
	return "run", fmt.Sprintf("%s, below the sampling point %.0f%%; %s", used, 100*o.SampleFrom, bu.Status)
}

// sloSeries is one SLO's observations on one platform, in batch order.
type sloSeries struct {
	slo      SLO
	platform string
	obs      []infer.Obs // Passed counts the failures here
}

// evaluateSLOs evaluates each SLO on each platform it selects.
func evaluateSLOs(ser map[string]*series, o CheckOptions) ([]SLOResult, int, error) {
	ids := make([]string, 0, len(ser))
	for id := range ser {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		// No batch yet: nothing to select from, and nothing to alert on.
		out := make([]SLOResult, 0, len(o.SLOs))
		for _, s := range o.SLOs {
			out = append(out, SLOResult{Name: s.Name, Objective: s.Objective, Ecosystem: s.Ecosystem, Target: s.Target,
				Status: StatusTooFew, Windows: []BurnWindow{}, Evidence: "too few to tell: no batch recorded yet"})
		}
		return out, 0, nil
	}
	var all []sloSeries
	for _, s := range o.SLOs {
		ro := newRoller(o.Report.By, s.Platforms)
		eco := infer.EcoOf(s.Ecosystem)
		selected := 0
		for _, id := range ids {
			if !ro.roll(id).keep {
				continue
			}
			var obs []infer.Obs
			switch {
			case s.Objective == ObjectiveRunnerHealth:
				for _, h := range ser[id].health {
					obs = append(obs, infer.Obs{Batch: h.Batch, Tested: h.Tested, Passed: h.Passed})
				}
			case s.Ecosystem != "":
				for _, e := range ser[id].ecoObs() {
					if e.Eco == eco && e.Tested > 0 {
						obs = append(obs, infer.Obs{Batch: e.Batch, Eco: e.Eco, Tested: e.Tested, Passed: e.Tested - e.Passed})
					}
				}
			default:
				for _, r := range ser[id].rate {
					obs = append(obs, infer.Obs{Batch: r.Batch, Tested: r.Tested, Passed: r.Tested - r.Passed})
				}
			}
			obs = slices.DeleteFunc(obs, func(o infer.Obs) bool { return o.Tested <= 0 })
			all = append(all, sloSeries{slo: s, platform: id, obs: obs})
			selected++
		}
		if selected == 0 {
			return nil, 0, &FilterError{Flag: "platform", Names: s.Platforms, Known: ids, For: "slo " + strconv.Quote(s.Name)}
		}
		if seen := ecosSeen(ser); s.Ecosystem != "" && !seen[s.Ecosystem] {
			return nil, 0, &FilterError{Flag: "ecosystem", Names: []string{s.Ecosystem}, Known: slices.Sorted(maps.Keys(seen)), For: "slo " + strconv.Quote(s.Name)}
		}
	}
	out := make([]SLOResult, 0, len(all))
	for _, s := range all {
		out = append(out, evaluateSeries(s, o.Burn, len(all)))
	}
	return out, len(all), nil
}

// evaluateSeries is one series' status.
func evaluateSeries(s sloSeries, burn Burn, k int) SLOResult {
	r := SLOResult{Name: s.slo.Name, Objective: s.slo.Objective, Platform: s.platform, Ecosystem: s.slo.Ecosystem, Target: s.slo.Target, Windows: []BurnWindow{}}
	budget := 1 - s.slo.Target
	window := func(name string, last int, test bool) BurnWindow {
		obs := s.obs[max(0, len(s.obs)-last):]
		w := BurnWindow{Name: name, Batches: len(obs)}
		for _, o := range obs {
			w.Tests += o.Tested
			w.Failures += o.Passed
		}
		if w.Tests > 0 {
			w.Rate = float64(w.Failures) / float64(w.Tests)
			// To 12 significant digits: 2 failures in 25 tests against a
			// 98% target burn at 4, not 3.9999999999999964 (1 - 0.98 is
			// not 0.02 in binary), and the exported gauge compares the same.
			w.Burn, _ = strconv.ParseFloat(strconv.FormatFloat(w.Rate/budget, 'g', 12, 64), 64)
		}
		if test {
			st := infer.ExceedsClustered(passesOf(obs), budget)
			if st.Testable {
				p := st.P
				adj := math.Min(1, p*float64(k))
				w.P, w.PAdj = &p, &adj
			}
		}
		return w
	}
	bl, bs, wl, ws := BurnWindows(s.slo.Window)
	r.Period = window("period", s.slo.Window, false)
	breachL, breachS := window("breach_long", bl, true), window("breach_short", bs, false)
	warnL, warnS := window("warn_long", wl, true), window("warn_short", ws, false)
	r.Windows = append(r.Windows, breachL, breachS, warnL, warnS)
	fires := func(long, short BurnWindow, rate float64) bool {
		return long.PAdj != nil && *long.PAdj <= burn.Alpha && long.Burn >= rate && short.Burn >= rate
	}
	what := "recipe failures"
	if s.slo.Objective == ObjectiveRunnerHealth {
		what = "infrastructure failures"
	}
	desc := func(w BurnWindow) string {
		return fmt.Sprintf("%d of %d tests over the last %d batches, burn rate %.1f", w.Failures, w.Tests, w.Batches, w.Burn)
	}
	switch {
	case r.Period.Batches < infer.MinBatches || r.Period.Tests < infer.MinTests:
		r.Status = StatusTooFew
		r.Evidence = fmt.Sprintf("too few to tell: %d batches and %d tests in the period; at least %d and %d are needed", r.Period.Batches, r.Period.Tests, infer.MinBatches, infer.MinTests)
	case fires(breachL, breachS, burn.BreachRate):
		r.Status = StatusBreach
		r.Evidence = fmt.Sprintf("%s burn the error budget (%.1f%% of tests) at %.1fx or more: %s (adjusted p = %s); and %s", what, 100*budget, burn.BreachRate, desc(breachL), pText(*breachL.PAdj), desc(breachS))
	case fires(warnL, warnS, burn.WarnRate):
		r.Status = StatusWarn
		r.Evidence = fmt.Sprintf("%s burn the error budget (%.1f%% of tests) at %.1fx or more: %s (adjusted p = %s); and %s", what, 100*budget, burn.WarnRate, desc(warnL), pText(*warnL.PAdj), desc(warnS))
	default:
		r.Status = StatusOK
		r.Evidence = fmt.Sprintf("%s: %s; over the period %s", what, desc(warnL), desc(r.Period))
	}
	return r
}

// passesOf turns failure counts back into the pass counts TestSkip reads.
func passesOf(obs []infer.Obs) []infer.Obs {
	out := make([]infer.Obs, len(obs))
	for i, o := range obs {
		out[i] = infer.Obs{Batch: o.Batch, Eco: o.Eco, Tested: o.Tested, Passed: o.Tested - o.Passed}
	}
	return out
}

// pText shows a p-value, or "< 1e-16" below what a double tells apart
// from 0.
func pText(p float64) string {
	if p < 1e-16 {
		return "< 1e-16"
	}
	return fmt.Sprintf("%.2g", p)
}

// ecosSeen is every ecosystem the series name.
func ecosSeen(ser map[string]*series) map[string]bool {
	seen := map[string]bool{}
	for _, s := range ser {
		for _, o := range s.ecoObs() {
			seen[o.Eco.String()] = true
		}
	}
	return seen
}
