package analyze

import (
	"strings"
	"time"

	"github.com/batchsli/batchsli/reader"
)

// ReportVersion is the version of the report's JSON form.
const ReportVersion = 4

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
	EmptyRuns int `json:"empty_runs"`
	// Inference states the settings and pooled quantities every interval
	// and test in the report used (docs/METHODS.md).
	Inference  Inference      `json:"inference"`
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
	// Outcomes says how much of the window has per-recipe outcome records;
	// Transitions, Flaky and Paired come from them.
	Outcomes    OutcomeCoverage    `json:"outcomes"`
	Transitions []Transition       `json:"transitions"`
	Flaky       []FlakyRecipe      `json:"flaky"`
	Paired      []PairedComparison `json:"paired"`
	// Notes are the footnotes: denominators, coarser records, caveats.
	Notes        []string         `json:"notes"`
	Problems     []reader.Problem `json:"problems"`
	MoreProblems int              `json:"more_problems"`

	// batchHasOutcomes is true when the window's last batch has an outcome
	// record (for the job summary).
	batchHasOutcomes bool
	// failuresRead is false when the failure records were left unread
	// (skipFailures); outcomeProblems counts the problems the outcome
	// records gave (for the job summary's count).
	failuresRead    bool
	outcomeProblems int
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

// Inference is what the report's statistics rest on.
type Inference struct {
	// ICC is the intra-batch correlation of recipe results, pooled over the
	// window's platforms and ecosystems: every rate's design effect is at
	// least the one it implies.
	ICC float64 `json:"icc"`
	// MinBatches and MinTests are the least evidence for an interval or a
	// test; MinRankBatches the least shared batches for a ranking.
	MinBatches     int   `json:"min_batches"`
	MinTests       int64 `json:"min_tests"`
	MinRankBatches int   `json:"min_rank_batches"`
	// Q is the false discovery rate of trend and skip claims
	// (Benjamini-Hochberg q-values).
	Q float64 `json:"q"`
	// IncidentMin is the least infrastructure failures, and IncidentShare
	// the least share of the platform's tests, that make a batch an
	// incident on a platform.
	IncidentMin   int64   `json:"incident_min"`
	IncidentShare float64 `json:"incident_share"`
}

// PlatformStat is one platform's pass rate over the window.
//
// Tested, Passed, Failed and Skipped count every result; the pass rate is
// about recipes: N = tested less infrastructure failures and less the
// batches that were incidents on the platform.
type PlatformStat struct {
	Platform string `json:"platform"`
	Level    string `json:"level"`
	// Coarser is true when the records' keys are coarser than the level asked.
	Coarser bool  `json:"coarser"`
	Batches int   `json:"batches"`
	Tested  int64 `json:"tested"`
	Passed  int64 `json:"passed"`
	Failed  int64 `json:"failed"`
	Skipped int64 `json:"skipped"`
	// PassRate is null when no recipe result counts; CILow and CIHigh are
	// null with fewer than Inference.MinBatches batches.
	PassRate *float64 `json:"pass_rate"`
	CILow    *float64 `json:"ci_low"`
	CIHigh   *float64 `json:"ci_high"`
	N        int64    `json:"n"`
	// RateBatches are the batches in the pass rate; DesignEffect is its
	// variance over the binomial's and EffectiveN = N / DesignEffect;
	// IntervalMethod is "wilson-t" or "korn-graubard".
	RateBatches    int     `json:"rate_batches"`
	RecipePassed   int64   `json:"recipe_passed"`
	DesignEffect   float64 `json:"design_effect"`
	EffectiveN     float64 `json:"effective_n"`
	IntervalMethod string  `json:"interval_method"`
	// GatedBy lists the platforms whose passes this one is tested on
	// (progressive validation); its rate is then "given passing" them.
	// Yield is passes per recipe entering the batch (passed / (tested +
	// skipped)), null when skips are not counted.
	GatedBy []string `json:"gated_by"`
	Yield   *float64 `json:"yield"`
	// Health is the platform's runner health: infrastructure failures.
	Health RunnerHealth `json:"runner_health"`
	// SkippedPartial is true when some records (v0, v1) do not count skips.
	SkippedPartial bool `json:"skipped_partial"`
	SmallSample    bool `json:"small_sample"`
	// Failure records on the platform in the window, split by kind.
	RecipeFailures         int64  `json:"recipe_failures"`
	InfrastructureFailures int64  `json:"infrastructure_failures"`
	Trend                  *Trend `json:"trend"`
	// Detector is the regression detector's state after the window's last
	// batch (see Summary and docs/METHODS.md).
	Detector *DetectorState `json:"detector"`
	// Spark is the pass rate per bucket of consecutive batches, oldest
	// first; null where a bucket tested nothing on the platform.
	Spark []*float64 `json:"spark"`
	// Flakes is the platform's flake rate and its transitions in the
	// window, from the outcome records (null without them).
	Flakes *FlakeStat `json:"flakes"`
}

// FlakeStat is one platform's flakiness and transitions in the window.
type FlakeStat struct {
	// Tests are the window's recipe results with an outcome record
	// (infrastructure failures left out); FlakyTests those that were a
	// retried pass or a result of a flaky recipe; Rate = FlakyTests/Tests.
	Tests        int64    `json:"tests"`
	FlakyTests   int64    `json:"flaky_tests"`
	Rate         *float64 `json:"rate"`
	FlakyRecipes int      `json:"flaky_recipes"`
	Batches      int      `json:"batches"`
	NewlyFailing int      `json:"newly_failing"`
	NewlyFixed   int      `json:"newly_fixed"`
	StillFailing int      `json:"still_failing"`
}

// OutcomeCoverage says which batches of the window have outcome records.
type OutcomeCoverage struct {
	Batches      int `json:"batches"`
	WithOutcomes int `json:"with_outcomes"`
	// Disagreeing counts outcome records left out because they do not add
	// up to their batch's counts.
	Disagreeing int `json:"disagreeing"`
	// Transitions counts the window's transitions; the report lists those
	// of its last batch and the latest MaxTransitions others.
	Transitions int `json:"transitions"`
	// Note says what the report cannot say for lack of them ("" when every
	// batch has them).
	Note string `json:"note,omitempty"`
}

// Transition is a change (or not) of a recipe's outcome on a platform
// between two consecutive tests there.
type Transition struct {
	Recipe   string `json:"recipe"`
	Platform string `json:"platform"`
	// Kind is newly_failing, newly_fixed or still_failing.
	Kind            string    `json:"kind"`
	BatchID         string    `json:"batch_id"`
	Timestamp       time.Time `json:"timestamp"`
	PreviousBatchID string    `json:"previous_batch_id"`
	// Category is the failure's now (newly_failing, still_failing);
	// PreviousCategory the earlier failure's (newly_fixed, still_failing).
	Category         string `json:"category,omitempty"`
	PreviousCategory string `json:"previous_category,omitempty"`
	// Since is the batch of the first failure of a still failing run of
	// failures, and its time.
	Since     string     `json:"since,omitempty"`
	SinceTime *time.Time `json:"since_time,omitempty"`
	// Version and PreviousVersion are the recipe's, when the results give
	// them; RecipeChanged is true when they differ (the recipe changed,
	// not, or not only, the platform).
	Version         string `json:"version,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty"`
	RecipeChanged   bool   `json:"recipe_changed"`
	// Flaky is true when the recipe is flaky on the platform.
	Flaky bool `json:"flaky"`
}

// Transition kinds.
const (
	NewlyFailing = "newly_failing"
	NewlyFixed   = "newly_fixed"
	StillFailing = "still_failing"
)

// FlakyRecipe is a recipe whose outcome on a platform flipped without a
// change of its version (docs/METHODS.md).
type FlakyRecipe struct {
	Recipe   string `json:"recipe"`
	Platform string `json:"platform"`
	Version  string `json:"version,omitempty"`
	// Passes and Failures count its results on the platform in the
	// analysed batches (the window and the trend's previous window), with
	// RetriedPasses the passes after a failed attempt, Flips the changes of
	// outcome between consecutive tests.
	Passes        int64      `json:"passes"`
	Failures      int64      `json:"failures"`
	RetriedPasses int64      `json:"retried_passes"`
	Flips         int64      `json:"flips"`
	LastFlip      string     `json:"last_flip_batch_id,omitempty"`
	LastFlipTime  *time.Time `json:"last_flip_time,omitempty"`
	LastBatchID   string     `json:"last_batch_id"`
	// Evidence is "retried_pass" (it passed only after a failed attempt in
	// some batch: evidence within one run) or "flips" (on one version it
	// went from pass to fail and back across batches, which batch-to-batch
	// variation alone can also cause). Excluded is true when its results
	// are kept out of trends and the regression detector: with a retried
	// pass only.
	Evidence string `json:"evidence"`
	Excluded bool   `json:"excluded_from_trends"`
}

// PairedComparison compares two platforms on the recipes both tested in
// the window (one result pair per recipe: the latest batch that tested it
// on both), with McNemar's exact test.
type PairedComparison struct {
	A       string `json:"a"`
	B       string `json:"b"`
	Recipes int64  `json:"recipes"`
	// BothPassed, OnlyAPassed, OnlyBPassed and BothFailed are the 2x2 table.
	BothPassed  int64 `json:"both_passed"`
	OnlyAPassed int64 `json:"only_a_passed"`
	OnlyBPassed int64 `json:"only_b_passed"`
	BothFailed  int64 `json:"both_failed"`
	// P is McNemar's exact p-value (two-sided), which treats the recipes
	// as independent pairs. PClustered tests the same discordances with
	// batches as clusters (sign-flip over the Batches batches with a
	// discordance; docs/METHODS.md) and Q is its BH q-value over every
	// comparable pair: claims rest on Q. All null when not comparable.
	P          *float64 `json:"p_value"`
	PClustered *float64 `json:"p_clustered"`
	Batches    int      `json:"batches"`
	Q          *float64 `json:"q_value"`
	// Comparable is false when one platform gates the other: the recipes
	// both tested are then the ones that passed the gate, and the gate
	// cannot be compared on them. Why says so.
	Comparable bool   `json:"comparable"`
	Why        string `json:"why,omitempty"`
}

// RunnerHealth is a platform's infrastructure SLI: the share of its tests
// that failed for the infrastructure's reasons, and its incidents.
type RunnerHealth struct {
	Tested         int64 `json:"tested"`
	Infrastructure int64 `json:"infrastructure"`
	// FailureRate is Infrastructure / Tested with its clustered interval.
	FailureRate *float64 `json:"failure_rate"`
	CILow       *float64 `json:"ci_low"`
	CIHigh      *float64 `json:"ci_high"`
	// Incidents are the batches in which the platform's failures were
	// mostly the infrastructure's; they are left out of the pass rate.
	Incidents []string `json:"incidents"`
	Trend     *Trend   `json:"trend"`
}

// DetectorState is where a platform's regression detector stands.
type DetectorState struct {
	Statistic float64 `json:"statistic"`
	Threshold float64 `json:"threshold"`
	// Since is the first batch of the current run of low batches, when the
	// statistic is above zero.
	Since string  `json:"since,omitempty"`
	ICC   float64 `json:"icc"`
	// Alarms are the regressions it raised in the window.
	Alarms []DetectorAlarm `json:"alarms"`
}

// DetectorAlarm is one regression the detector raised.
type DetectorAlarm struct {
	At       string    `json:"at"`
	AtTime   time.Time `json:"at_time"`
	Start    string    `json:"start"`
	StartAt  time.Time `json:"start_time"`
	Stat     float64   `json:"statistic"`
	Expected float64   `json:"expected"`
	Observed float64   `json:"observed"`
	Batches  int       `json:"batches"`
	Tests    int64     `json:"tests"`
	// PopulationChanged is set for a gated platform when a gate's own rate
	// changed over the same batches, or its yield (passes per recipe
	// entering the batch) did not fall: what reaches the platform changed,
	// which is not a regression. Reason says which.
	PopulationChanged bool   `json:"population_changed"`
	Reason            string `json:"reason,omitempty"`
}

// Trend compares a rate with the previous window, ecosystem by ecosystem.
type Trend struct {
	PreviousTested   int64   `json:"previous_tested"`
	PreviousPassed   int64   `json:"previous_passed"`
	PreviousPassRate float64 `json:"previous_pass_rate"`
	PreviousBatches  int     `json:"previous_batches"`
	CurrentTested    int64   `json:"current_tested"`
	CurrentPassed    int64   `json:"current_passed"`
	CurrentPassRate  float64 `json:"current_pass_rate"`
	CurrentBatches   int     `json:"current_batches"`
	// Change is the within-ecosystem difference (directly standardised,
	// Mantel-Haenszel weights); CrudeChange the difference of the crude
	// rates; SE, DF and ICC the test's standard error, degrees of freedom
	// and intra-batch correlation.
	Change      float64 `json:"change"`
	CrudeChange float64 `json:"crude_change"`
	SE          float64 `json:"se"`
	DF          float64 `json:"df"`
	ICC         float64 `json:"icc"`
	P           float64 `json:"p_value"`
	// Q is the Benjamini-Hochberg q-value among the report's trends.
	Q           float64 `json:"q_value"`
	Testable    bool    `json:"testable"`
	Significant bool    `json:"significant"`
	// Strata are the ecosystems compared; OnlyOneWindow those tested in one
	// window only; MixShift how much the ecosystem mix moved (0 to 1).
	Strata        []string `json:"strata"`
	OnlyOneWindow []string `json:"only_one_window"`
	MixShift      float64  `json:"mix_shift"`
	// PopulationChanged is set when a gate of the platform changed
	// significantly: the recipes reaching it are not the same population.
	PopulationChanged bool `json:"population_changed"`
	// Direction is "better", "worse", "no significant change", "population
	// changed", or "too few to tell" with the reason.
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

// MatrixCell is one ecosystem's pass rate on one platform (recipe results,
// as for platforms).
type MatrixCell struct {
	Ecosystem    string   `json:"ecosystem"`
	Platform     string   `json:"platform"`
	Tested       int64    `json:"tested"`
	Passed       int64    `json:"passed"`
	Failed       int64    `json:"failed"`
	PassRate     *float64 `json:"pass_rate"`
	CILow        *float64 `json:"ci_low"`
	CIHigh       *float64 `json:"ci_high"`
	N            int64    `json:"n"`
	Batches      int      `json:"batches"`
	DesignEffect float64  `json:"design_effect"`
	SmallSample  bool     `json:"small_sample"`
	// SkipP and SkipQ are the skip test's p- and q-value (null when the
	// cell has too little evidence to test).
	SkipP *float64 `json:"skip_p"`
	SkipQ *float64 `json:"skip_q"`
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
	// Group is the worst group (weakest_platform); Batches the batches
	// behind the claim; Q its q-value; Statistic a detector's statistic.
	Group        []string `json:"group,omitempty"`
	Batches      int      `json:"batches,omitempty"`
	DesignEffect *float64 `json:"design_effect,omitempty"`
	Q            *float64 `json:"q_value,omitempty"`
	Statistic    *float64 `json:"statistic,omitempty"`
	// Start is when a detected regression began (regression from the
	// detector, in summaries).
	Start *time.Time `json:"start,omitempty"`
	// Unlocked counts the recipes a closed capability gap blocked that now
	// pass; Retested those of them tested again since (capability_gap_closed).
	Unlocked *int64 `json:"unlocked,omitempty"`
	Retested *int64 `json:"retested,omitempty"`
	Evidence string `json:"evidence"`
}

// Insight kinds.
const (
	KindWeakest    = "weakest_platform"
	KindGap        = "capability_gap"
	KindSkip       = "skip_platform"
	KindRegression = "regression"
	KindIncident   = "incident"
	KindGapClosed  = "capability_gap_closed"
)

// Verdicts are the report's answers when there is no positive finding.
type Verdicts struct {
	WeakestPlatform string `json:"weakest_platform"`
	Regressions     string `json:"regressions"`
	SkipAdvice      string `json:"skip_advice"`
	CapabilityGaps  string `json:"capability_gaps"`
	// Apart lists platforms with too little data to rank or test.
	Apart []string `json:"apart"`
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
