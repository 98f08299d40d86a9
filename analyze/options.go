package analyze

import (
	"fmt"
	"math"
	"time"

	"github.com/batchsli/batchsli/model"
)

// ReportOptions select and tune a report.
type ReportOptions struct {
	// Last keeps the N most recent batches (0: no limit).
	Last int
	// Since and Until bound the batches' timestamps (zero: open).
	Since, Until time.Time
	// Ecosystems and Platforms filter the records (empty: all). A platform
	// filter matches every ID under it: linux-arm64 matches all arm64 Linux
	// families.
	Ecosystems []string
	Platforms  []string
	// By is the roll-up level of platform keys.
	By model.Level
	// Now is the report's clock (budget week, projections).
	Now time.Time
	// WeekBudget is the weekly macOS budget in minutes.
	WeekBudget float64
	// WeekStart is the weekday weeks start on, at 00:00 UTC.
	WeekStart time.Weekday
	// SkipThreshold is the recipe failure rate above which skipping an
	// ecosystem on a platform is advised, when the excess is significant
	// (q <= 0.05 across the cells).
	SkipThreshold float64
	// Confidence is the confidence level of intervals and tests.
	Confidence float64
	// SparkBuckets is the most points a sparkline has.
	SparkBuckets int
	// TopBlockers is how many blockers to list per platform.
	TopBlockers int
	// TopGaps is how many capability gaps to name per platform.
	TopGaps int

	// skipOutcomes leaves the outcome records unread, as if there were
	// none: for a caller that needs only what does not come from them
	// (the job summary's capability gaps and incidents).
	skipOutcomes bool
	// skipFailures leaves the failure records unread when no batch needs
	// them for its infrastructure counts: for a caller that needs only the
	// detector and the recipe histories (the job summary's finest level).
	skipFailures bool
	// insightsOnly computes, of the report, only its capability gaps and
	// incidents (among the insights) and its problems: for a caller that
	// compares those (the job summary, before and after a batch). It
	// implies skipOutcomes.
	insightsOnly bool
	// detectorOnly computes, of the report, only its transitions, whether
	// the window's last batch has outcome records, each platform's
	// detector and its problems: for the job summary's finest level.
	detectorOnly bool
	// ratesOnly computes, of the report, only its platforms' rates, their
	// intervals, trends and runner health, and its problems (the site's
	// weekly points). It implies skipOutcomes.
	ratesOnly bool
	// noDetectors leaves the platforms' regression detectors unrun (their
	// Detector nil): for a window that ends where another report's does,
	// whose detectors say the same (the site's windows).
	noDetectors bool
}

// DefaultReportOptions are the report's defaults: the whole history by
// environment, a 1000-minute week starting Monday, skip advice above 80%.
func DefaultReportOptions(now time.Time) ReportOptions {
	return ReportOptions{
		By:            model.LevelEnv,
		Now:           now.UTC(),
		WeekBudget:    1000,
		WeekStart:     time.Monday,
		SkipThreshold: 0.8,
		Confidence:    0.95,
		SparkBuckets:  30,
		TopBlockers:   5,
		TopGaps:       3,
	}
}

// Validate checks the options.
func (o ReportOptions) Validate() error {
	switch {
	case o.Last < 0:
		return fmt.Errorf("--last must be a positive number of batches")
	case !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since):
		return fmt.Errorf("--until (%s) must be after --since (%s)", o.Until.Format(time.RFC3339), o.Since.Format(time.RFC3339))
	case !o.Since.IsZero() && o.Until.IsZero() && !o.Now.IsZero() && !o.Now.After(o.Since):
		return fmt.Errorf("--since (%s) is not before the report's clock (%s): give --until, or --now", o.Since.Format(time.RFC3339), o.Now.Format(time.RFC3339))
	case o.By < model.LevelFamily || o.By > model.LevelOS:
		return fmt.Errorf("--by must be family, env, job or os")
	case o.Now.IsZero():
		return fmt.Errorf("no clock")
	case o.WeekBudget <= 0 || math.IsInf(o.WeekBudget, 0) || math.IsNaN(o.WeekBudget):
		return fmt.Errorf("--week-budget must be a positive number of minutes")
	case !(o.SkipThreshold > 0 && o.SkipThreshold < 1):
		return fmt.Errorf("--skip-threshold must be a rate between 0 and 1 (0.8 for 80%%)")
	case o.Confidence != 0.95:
		return fmt.Errorf("only 95%% intervals are supported")
	case o.SparkBuckets < 1 || o.TopBlockers < 0 || o.TopGaps < 0:
		return fmt.Errorf("bad display limits")
	}
	for _, e := range o.Ecosystems {
		if !model.ValidEcosystem(e) && e != model.Mixed && e != model.Unknown {
			return fmt.Errorf("--ecosystem %q is not an ecosystem name", e)
		}
	}
	for _, p := range o.Platforms {
		if !model.ValidPlatformID(p) {
			return fmt.Errorf("--platform %q has characters outside [a-z0-9_.-]", p)
		}
	}
	return nil
}

// WeekOf returns the start of the week holding t (weeks start on
// weekStart at 00:00 UTC).
func WeekOf(t time.Time, weekStart time.Weekday) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	back := (int(day.Weekday()) - int(weekStart) + 7) % 7
	return day.AddDate(0, 0, -back)
}
