package record

import (
	"fmt"
	"math"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// Options describe the batch being recorded.
type Options struct {
	Ecosystem string    // applies to results that name no ecosystem
	BatchID   string    // "" to make a unique one when storing
	Timestamp time.Time // when the batch finished
	// Total, Generated and Merged override the counts derived from the
	// results when not negative.
	Total, Generated, Merged int64
	// JobSeconds gives a job's time per platform key; see Build.
	JobSeconds map[string]float64
	// MaxMessage bounds a failure message, in bytes.
	MaxMessage int
}

// DefaultOptions derives every count from the results.
var DefaultOptions = Options{Total: -1, Generated: -1, Merged: -1, MaxMessage: 2048}

// Validate checks the options.
func (o Options) Validate() error {
	if !model.ValidEcosystem(o.Ecosystem) {
		return fmt.Errorf("ecosystem %q is not a plain name (lower-case letters, digits, '.', '_', '-')", o.Ecosystem)
	}
	if o.BatchID != "" && !ValidBatchID(o.BatchID) {
		return fmt.Errorf("batch ID %q must be 1-128 characters of [A-Za-z0-9._-], not starting with '.'", o.BatchID)
	}
	if o.Timestamp.IsZero() {
		return fmt.Errorf("no timestamp")
	}
	if y := o.Timestamp.UTC().Year(); y < 2000 || y > 9999 {
		return fmt.Errorf("timestamp %s is out of range (years 2000 to 9999)", o.Timestamp.UTC().Format(time.RFC3339))
	}
	for _, n := range []int64{o.Total, o.Generated, o.Merged} {
		if n > reader.MaxCount {
			return fmt.Errorf("count %d is too large (at most %d)", n, int64(reader.MaxCount))
		}
	}
	for k, v := range o.JobSeconds {
		if !model.ValidPlatformID(k) {
			return fmt.Errorf("--job-seconds: platform %q has characters outside [a-z0-9_.-]", k)
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v > reader.MaxSeconds {
			return fmt.Errorf("--job-seconds %s: %v is not a number of seconds from 0 to %v", k, v, reader.MaxSeconds)
		}
	}
	if o.MaxMessage < 16 {
		return fmt.Errorf("message bound %d is too small", o.MaxMessage)
	}
	return nil
}

// ValidBatchID reports whether id is safe as a record key and in file names.
func ValidBatchID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

type recipeKey struct{ eco, name string }

type outcome struct {
	status   string
	fail     *Result // the last failing result
	retried  bool    // passed after a failed attempt
	duration float64
	timed    bool
}

// Build computes a batch's v2 records from its results:
//
//   - tested, passed, failed per platform at the finest level the results
//     carry; a recipe of the batch with no pass or fail on a platform counts
//     as skipped there. Several results for one (recipe, platform) count
//     once: pass if any passed, else fail if any failed.
//   - duration_seconds per platform: the --job-seconds value for that exact
//     platform, else the sum of its results' durations. A --job-seconds key
//     coarser than the platforms (linux-x86_64 over family-level results) is
//     kept whole in job_duration_seconds, never split.
//   - macos_minutes_used: ceil(seconds/60) per darwin platform (or per darwin
//     job key); unknown (left out) when a darwin platform's time is unknown.
//   - one failure record per failing (recipe, platform).
//   - one outcome record: every recipe's outcome on every platform (pass,
//     pass after retries, skipped, or failure with its category), and its
//     version when the results give one.
//
// The batch ID is left as given; the store makes one when it is empty.
func Build(results []Result, o Options) (*model.BatchRun, []*model.Failure, *model.Outcomes, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if len(results) == 0 {
		return nil, nil, nil, fmt.Errorf("no results")
	}
	ts := o.Timestamp.UTC().Truncate(time.Second)
	recipes := map[recipeKey]bool{}
	platforms := map[string]bool{}
	pairs := map[recipeKey]map[string]*outcome{}
	versions := map[recipeKey]*Result{}
	for i := range results {
		r := &results[i]
		eco := r.Ecosystem
		if eco == "" {
			eco = o.Ecosystem
		}
		k := recipeKey{eco, r.Recipe}
		recipes[k] = true
		if r.Version != "" {
			if v := versions[k]; v != nil && v.Version != r.Version {
				return nil, nil, nil, fmt.Errorf("%s: recipe %s:%s has version %q here and %q at %s; one batch tests one version of a recipe", r.Source, eco, r.Recipe, r.Version, v.Version, v.Source)
			}
			versions[k] = r
		}
		platforms[r.Platform] = true
		m := pairs[k]
		if m == nil {
			m = map[string]*outcome{}
			pairs[k] = m
		}
		oc := m[r.Platform]
		if oc == nil {
			oc = &outcome{status: StatusSkipped}
			m[r.Platform] = oc
		}
		switch r.Status {
		case StatusPass:
			// A pass after a failing attempt (attempts > 1, or a failing
			// result for the same recipe and platform) is a retried pass.
			oc.retried = oc.retried || r.Attempts > 1 || oc.fail != nil
			oc.status = StatusPass
		case StatusFail:
			if oc.status != StatusPass {
				oc.status = StatusFail
			} else {
				oc.retried = true
			}
			oc.fail = r
		}
		if r.DurationSeconds != nil {
			oc.duration += *r.DurationSeconds
			oc.timed = true
		}
	}

	// Job seconds: exact platform keys set that platform's time; coarser keys
	// must cover at least one platform and are kept whole.
	exact := map[string]float64{}
	coarse := map[string]float64{}
	for k, v := range o.JobSeconds {
		if platforms[k] {
			exact[k] = v
			continue
		}
		ke := model.ParseEnv(k)
		covers := false
		for p := range platforms {
			pe := model.ParseEnv(p)
			if id, _ := pe.At(ke.Level); ke.Known() && pe.Known() && id == ke.ID && pe.Level < ke.Level {
				covers = true
				break
			}
		}
		if !covers {
			return nil, nil, nil, fmt.Errorf("--job-seconds %s: no result is on that platform or one under it", k)
		}
		coarse[k] = v
	}

	keys := make([]recipeKey, 0, len(recipes))
	for k := range recipes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].eco != keys[j].eco {
			return keys[i].eco < keys[j].eco
		}
		return keys[i].name < keys[j].name
	})
	plats := make([]string, 0, len(platforms))
	for p := range platforms {
		plats = append(plats, p)
	}
	sort.Strings(plats)

	ecoCount := map[string]int64{}
	for _, k := range keys {
		ecoCount[k.eco]++
	}

	run := &model.BatchRun{
		SchemaVersion: model.SchemaVersion,
		BatchID:       o.BatchID,
		Platforms:     map[string]model.Counts{},
		Timestamp:     ts,
	}
	byEco := map[string]map[string]model.Counts{}
	durations := map[string]float64{}
	timed := map[string]bool{}
	var failures []*model.Failure
	outs := &model.Outcomes{SchemaVersion: model.SchemaVersion, BatchID: o.BatchID, Timestamp: ts, Platforms: plats}
	catIndex := map[string]int{}
	codes := make([]byte, len(plats))
	var merged int64
	infra := map[string]int64{}
	infraEco := map[string]map[string]int64{}
	for _, k := range keys {
		passedAll, testedAny := true, false
		for j, p := range plats {
			oc := pairs[k][p]
			c := run.Platforms[p]
			ce := byEco[k.eco][p]
			status := StatusSkipped
			if oc != nil {
				status = oc.status
				if oc.timed {
					durations[p] += oc.duration
					timed[p] = true
				}
			}
			codes[j] = model.OutcomeSkipped
			switch status {
			case StatusPass:
				c.Tested++
				c.Passed++
				ce.Tested++
				ce.Passed++
				testedAny = true
				codes[j] = model.OutcomePass
				if oc.retried {
					codes[j] = model.OutcomePassRetried
				}
			case StatusFail:
				c.Tested++
				c.Failed++
				ce.Tested++
				ce.Failed++
				testedAny = true
				passedAll = false
				f := newFailure(k, p, oc.fail, ts, o.MaxMessage)
				failures = append(failures, f)
				ci, ok := catIndex[f.Category]
				if !ok {
					ci = len(outs.Categories)
					if ci >= len(model.FailureCodes) {
						return nil, nil, nil, fmt.Errorf("the batch has more than %d failure categories; an outcome record cannot hold them", len(model.FailureCodes))
					}
					catIndex[f.Category] = ci
					outs.Categories = append(outs.Categories, f.Category)
				}
				codes[j] = model.FailureCodes[ci]
				if model.CategoryKind(f.Category) == model.KindInfrastructure {
					infra[p]++
					if infraEco[k.eco] == nil {
						infraEco[k.eco] = map[string]int64{}
					}
					infraEco[k.eco][p]++
				}
			default:
				c.Skipped++
				ce.Skipped++
			}
			c.SkippedKnown, ce.SkippedKnown = true, true
			run.Platforms[p] = c
			if byEco[k.eco] == nil {
				byEco[k.eco] = map[string]model.Counts{}
			}
			byEco[k.eco][p] = ce
		}
		if passedAll && testedAny {
			merged++
		}
		ro := model.RecipeOutcome{PackageID: k.eco + ":" + k.name, Codes: string(codes)}
		if v := versions[k]; v != nil {
			ro.Version = v.Version
		}
		outs.Recipes = append(outs.Recipes, ro)
	}
	gates := inferGates(keys, plats, pairs)
	for _, p := range plats {
		c := run.Platforms[p]
		n := infra[p]
		c.Infrastructure = &n
		c.GatedBy = gates[p]
		run.Platforms[p] = c
		for eco, m := range byEco {
			if ce, ok := m[p]; ok {
				n := infraEco[eco][p]
				ce.Infrastructure = &n
				m[p] = ce
			}
		}
	}
	for _, p := range plats {
		var d float64
		var ok bool
		if v, has := exact[p]; has {
			d, ok = v, true
		} else if timed[p] {
			d, ok = durations[p], true
		}
		if ok {
			d = math.Round(d*1000) / 1000 // sums of decimals drift; keep milliseconds
			c := run.Platforms[p]
			c.DurationSeconds = &d
			run.Platforms[p] = c
		}
	}
	if len(coarse) > 0 {
		run.JobSeconds = coarse
	}
	run.MacOSMinutesUsed = macosMinutes(run, coarse)

	total := int64(len(keys))
	run.Total, run.Generated, run.Merged = total, total, merged
	if o.Total >= 0 {
		run.Total = o.Total
	}
	if o.Generated >= 0 {
		run.Generated = o.Generated
	}
	if o.Merged >= 0 {
		run.Merged = o.Merged
	}
	if len(ecoCount) == 1 {
		for e := range ecoCount {
			run.Ecosystem = e
		}
	} else {
		run.Ecosystem = model.Mixed
		run.Ecosystems = ecoCount
		run.ByEcosystem = byEco
	}
	return run, failures, outs, nil
}

// macosMinutes is ceil(seconds/60) per darwin job: a coarse "darwin" key
// stands for all darwin jobs; otherwise each darwin platform's time, and
// unknown (nil) when any darwin platform's time is unknown.
func macosMinutes(run *model.BatchRun, coarse map[string]float64) *int64 {
	var n int64
	if v, ok := coarse["darwin"]; ok {
		n = int64(math.Ceil(v / 60))
		return &n
	}
	for p, c := range run.Platforms {
		if !model.ParseEnv(p).IsDarwin() {
			continue
		}
		if c.DurationSeconds == nil {
			return nil
		}
		n += int64(math.Ceil(*c.DurationSeconds / 60))
	}
	return &n
}

func newFailure(k recipeKey, platform string, r *Result, ts time.Time, maxMsg int) *model.Failure {
	f := &model.Failure{
		SchemaVersion: model.SchemaVersion,
		Ecosystem:     k.eco,
		Environment:   platform,
		PackageID:     k.eco + ":" + k.name,
		BlockedBy:     r.BlockedBy,
		ExitCode:      r.ExitCode,
		Attempts:      r.Attempts,
		Message:       Truncate(r.Message, maxMsg),
		Timestamp:     ts,
	}
	f.RawCategory = r.Category
	f.Category = model.ResolveCategory(r.Category, r.ExitCode)
	return f
}

// Truncate bounds s to at most max bytes, cutting on a rune boundary and
// marking the cut.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = " […truncated]"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// inferGates reads progressive validation off one batch's results. A
// platform G gates P when every recipe tested on P passed on G; the gates
// must together have failed every recipe skipped on P (else the skips have
// another cause, such as policy, and no gate is named). Only platforms with
// skips get gates. One batch can name a platform that merely happened to
// pass everything P tested; the report keeps the gates that every batch
// names.
func inferGates(keys []recipeKey, plats []string, pairs map[recipeKey]map[string]*outcome) map[string][]string {
	status := func(k recipeKey, p string) string {
		if oc := pairs[k][p]; oc != nil {
			return oc.status
		}
		return StatusSkipped
	}
	out := map[string][]string{}
	for _, p := range plats {
		var tested, skipped []recipeKey
		for _, k := range keys {
			switch status(k, p) {
			case StatusSkipped:
				skipped = append(skipped, k)
			default:
				tested = append(tested, k)
			}
		}
		if len(skipped) == 0 {
			continue
		}
		var gs []string
		for _, g := range plats {
			if g == p {
				continue
			}
			ok := true
			for _, k := range tested {
				if status(k, g) != StatusPass {
					ok = false
					break
				}
			}
			if ok {
				gs = append(gs, g)
			}
		}
		covered := len(gs) > 0
		for _, k := range skipped {
			failed := false
			for _, g := range gs {
				if status(k, g) == StatusFail {
					failed = true
					break
				}
			}
			if !failed {
				covered = false
				break
			}
		}
		if covered {
			out[p] = gs
		}
	}
	return out
}
