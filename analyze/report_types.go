package analyze

import (
	"strings"
	"time"

	"github.com/batchsli/batchsli/reader"
)

// ReportVersion is the version of the report's JSON form.
const ReportVersion = 2

// Report is everything `batchsli report` says, computed once; every output
// format renders this value.
type Report struct {
	ReportVersion int       `json:"report_version"`
	GeneratedAt   time.Time `json:"generated_at"`
	Data          string    `json:"data"`
	By            string    `json:"by"`
	Window        Window    `json:"window"`
	// Batches counts the runs in the window that tested at least one recipe.
	Batches int `json:"batches"`
	// EmptyRuns counts the runs in the window that tested nothing: they are
	// not batches.
	EmptyRuns  int            `json:"empty_runs"`
	Platforms  []PlatformStat `json:"platforms"`
	Categories []CategoryStat `json:"categories"`
	Blockers   []BlockerStat  `json:"blockers"`
	Matrix     []MatrixCell   `json:"matrix"`
	Durations  []DurationStat `json:"durations"`
	Budget     Budget         `json:"budget"`
	Insights   []Insight      `json:"insights"`
	// Verdicts holds the negative findings and their evidence ("no platform
	// is significantly weaker, ...") that are not insights.
	Verdicts Verdicts `json:"verdicts"`
	// Notes are the footnotes: denominators, coarser records, caveats.
	Notes        []string         `json:"notes"`
	Problems     []reader.Problem `json:"problems"`
	MoreProblems int              `json:"more_problems"`
}

// Window says which batches the report covers and what the trend compares.
type Window struct {
	Description string     `json:"description"`
	First       *time.Time `json:"first,omitempty"`
	Last        *time.Time `json:"last,omitempty"`
	// TrendDescription says what the trend compares with.
	TrendDescription string `json:"trend_description"`
	PreviousBatches  int    `json:"previous_batches"`
}

// PlatformStat is one platform's pass rate over the window.
type PlatformStat struct {
	Platform string `json:"platform"`
	Level    string `json:"level"`
	// Coarser is true when the records' keys are coarser than the level asked.
	Coarser  bool    `json:"coarser"`
	Batches  int     `json:"batches"`
	Tested   int64   `json:"tested"`
	Passed   int64   `json:"passed"`
	Failed   int64   `json:"failed"`
	Skipped  int64   `json:"skipped"`
	PassRate float64 `json:"pass_rate"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	N        int64   `json:"n"`
	// SkippedPartial is true when some records (v0, v1) do not count skips.
	SkippedPartial bool `json:"skipped_partial"`
	SmallSample    bool `json:"small_sample"`
	// Failure records on the platform in the window, split by kind.
	RecipeFailures         int64  `json:"recipe_failures"`
	InfrastructureFailures int64  `json:"infrastructure_failures"`
	Trend                  *Trend `json:"trend"`
	// Spark is the pass rate per bucket of consecutive batches, oldest
	// first; null where a bucket tested nothing on the platform.
	Spark []*float64 `json:"spark"`
}

// Trend compares a platform's pass rate with the previous window.
type Trend struct {
	PreviousTested   int64   `json:"previous_tested"`
	PreviousPassed   int64   `json:"previous_passed"`
	PreviousPassRate float64 `json:"previous_pass_rate"`
	CurrentTested    int64   `json:"current_tested"`
	CurrentPassed    int64   `json:"current_passed"`
	CurrentPassRate  float64 `json:"current_pass_rate"`
	Change           float64 `json:"change"`
	P                float64 `json:"p_value"`
	Testable         bool    `json:"testable"`
	Significant      bool    `json:"significant"`
	// Direction is "better", "worse", or "no significant change" (or "too
	// few to tell" when the samples are too small for the test).
	Direction string `json:"direction"`
}

// CategoryStat counts one platform's failures of one category.
type CategoryStat struct {
	Platform string  `json:"platform"`
	Category string  `json:"category"`
	Kind     string  `json:"kind"`
	Known    bool    `json:"known"`
	Count    int64   `json:"count"`
	Share    float64 `json:"share"` // of the platform's failure records
}

// BlockerStat counts the failures a blocked_by dependency caused on a platform.
type BlockerStat struct {
	Platform   string `json:"platform"`
	Dependency string `json:"dependency"`
	Failures   int64  `json:"failures"`
	Recipes    int64  `json:"recipes"`
}

// MatrixCell is one ecosystem's pass rate on one platform.
type MatrixCell struct {
	Ecosystem   string  `json:"ecosystem"`
	Platform    string  `json:"platform"`
	Tested      int64   `json:"tested"`
	Passed      int64   `json:"passed"`
	Failed      int64   `json:"failed"`
	PassRate    float64 `json:"pass_rate"`
	CILow       float64 `json:"ci_low"`
	CIHigh      float64 `json:"ci_high"`
	N           int64   `json:"n"`
	SmallSample bool    `json:"small_sample"`
}

// DurationStat describes a platform's validation time per batch.
type DurationStat struct {
	Platform string `json:"platform"`
	// Batches with a known duration on the platform.
	Batches         int      `json:"batches"`
	MedianSeconds   *float64 `json:"median_seconds"`
	P90Seconds      *float64 `json:"p90_seconds"`
	PerRecipeMedian *float64 `json:"per_recipe_median_seconds"`
	PerRecipeP90    *float64 `json:"per_recipe_p90_seconds"`
}

// Budget is the macOS budget of the week holding the report's clock.
type Budget struct {
	WeekStart     time.Time `json:"week_start"`
	WeekEnd       time.Time `json:"week_end"`
	Now           time.Time `json:"now"`
	BudgetMinutes float64   `json:"budget_minutes"`
	// UsedMinutes is null when no batch of the week says its minutes.
	UsedMinutes *float64 `json:"used_minutes"`
	// Runs this week, and how many of them did not record their macOS
	// minutes (unknown, and not in UsedMinutes).
	Batches        int      `json:"batches"`
	UnknownBatches int      `json:"unknown_batches"`
	UsedShare      *float64 `json:"used_share"`
	// BurnPerDay is the mean of the trailing days' minutes (TrailingDays);
	// ProjectedMinutes the median forecast of the week's total, with its 90%
	// prediction interval; ExceedProbability the chance of reaching the
	// budget. All null while it is too early to project.
	BurnPerDay        *float64 `json:"burn_per_day"`
	ProjectedMinutes  *float64 `json:"projected_minutes"`
	ProjectedLow      *float64 `json:"projected_low"`
	ProjectedHigh     *float64 `json:"projected_high"`
	ExceedProbability *float64 `json:"exceed_probability"`
	// TooEarly is true while the recorded minutes span less than
	// TrailingDays days: no projection is made.
	TooEarly bool `json:"too_early"`
	// RunOutAt is when the budget ran out (exhausted), or the forecast's
	// median run-out time when the chance of reaching it exceeds
	// WarnProbability, between RunOutEarliest and RunOutLatest (5% and 95%;
	// null after the week's end).
	RunOutAt       *time.Time `json:"run_out_at"`
	RunOutEarliest *time.Time `json:"run_out_earliest"`
	RunOutLatest   *time.Time `json:"run_out_latest"`
	Exhausted      bool       `json:"exhausted"`
	// Status is a sentence for people: on track, will run out, unknown.
	Status string `json:"status"`
}

// Insight is a positive finding, stated with its evidence.
type Insight struct {
	Kind      string   `json:"kind"` // weakest_platform, capability_gap, skip_platform, regression
	Platform  string   `json:"platform"`
	Ecosystem string   `json:"ecosystem,omitempty"`
	Category  string   `json:"category,omitempty"`
	BlockedBy []string `json:"blocked_by"` // the blocker a gap names; empty otherwise
	Recipes   int64    `json:"recipes,omitempty"`
	// FailingRecipes is the number of recipes failing on the platform in
	// the window (capability gaps).
	FailingRecipes int64    `json:"failing_recipes,omitempty"`
	Rate           *float64 `json:"rate,omitempty"` // pass rate, or failure rate for skip advice
	CILow          *float64 `json:"ci_low,omitempty"`
	CIHigh         *float64 `json:"ci_high,omitempty"`
	N              int64    `json:"n,omitempty"`
	Change         *float64 `json:"change,omitempty"`
	P              *float64 `json:"p_value,omitempty"`
	MinutesPerWeek *float64 `json:"minutes_per_week,omitempty"`
	Evidence       string   `json:"evidence"`
}

// Insight kinds.
const (
	KindWeakest    = "weakest_platform"
	KindGap        = "capability_gap"
	KindSkip       = "skip_platform"
	KindRegression = "regression"
)

// Verdicts are the report's answers when there is no positive finding.
type Verdicts struct {
	WeakestPlatform string `json:"weakest_platform"`
	Regressions     string `json:"regressions"`
	SkipAdvice      string `json:"skip_advice"`
	CapabilityGaps  string `json:"capability_gaps"`
}

// Comparable returns a copy of r without what depends on where the records
// are stored rather than on the committed records themselves: the data
// directory's name, the problems and uncommitted records met, and the notes
// about them. Two layouts of the same committed data give equal values.
func Comparable(r *Report) *Report {
	c := *r
	c.Data, c.Problems, c.MoreProblems = "", nil, 0
	c.Notes = nil
	for _, n := range r.Notes {
		if !strings.HasPrefix(n, noteProblems) && !strings.Contains(n, noteUncommitted) {
			c.Notes = append(c.Notes, n)
		}
	}
	return &c
}
