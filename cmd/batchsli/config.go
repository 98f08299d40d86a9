package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
)

// configName is the configuration file read from the working directory
// when --config is not given (docs: README, "Configuration").
const configName = "batchsli.toml"

// config is batchsli.toml (schemas/config.schema.json).
type config struct {
	By     string       `toml:"by"`
	MacOS  macosConfig  `toml:"macos"`
	Report reportConfig `toml:"report"`
	Burn   *burnConfig  `toml:"burn"`
	SLO    []sloConfig  `toml:"slo"`
}

type macosConfig struct {
	WeeklyBudgetMinutes *float64 `toml:"weekly_budget_minutes"`
	WeekStart           string   `toml:"week_start"`
	SampleFrom          *float64 `toml:"sample_from"`
	PauseFrom           *float64 `toml:"pause_from"`
}

type reportConfig struct {
	SkipThreshold *float64 `toml:"skip_threshold"`
}

type burnConfig struct {
	BreachRate *float64 `toml:"breach_rate"`
	WarnRate   *float64 `toml:"warn_rate"`
	Alpha      *float64 `toml:"alpha"`
}

type sloConfig struct {
	Name      string   `toml:"name"`
	Objective string   `toml:"objective"`
	Target    *float64 `toml:"target"`
	Platforms []string `toml:"platforms"`
	Ecosystem string   `toml:"ecosystem"`
	Window    int      `toml:"window"`
}

// loadConfig reads the configuration: path when given (it must exist),
// else ./batchsli.toml when there is one. found is false without one.
// Errors name the file and, where they can, the line.
func loadConfig(path string) (c config, name string, found bool, err error) {
	name = path
	if name == "" {
		name = configName
		if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
			return config{}, "", false, nil
		}
	}
	text, err := os.ReadFile(name)
	if err != nil {
		return config{}, name, false, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(text), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return config{}, name, false, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		// A value of the wrong type: toml: line N (last key "K"): ...
		if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
			return config{}, name, false, fmt.Errorf("%s:%s: %s has the wrong type (%s): schemas/config.schema.json gives each key's type; [[slo]] tables are written with double brackets", name, m[1], m[2], m[3])
		}
		return config{}, name, false, fmt.Errorf("%s: %v", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return config{}, name, false, fmt.Errorf("%s:%d: unknown key %q (schemas/config.schema.json lists the keys)", name, keyLine(string(text), k[len(k)-1], 0), k.String())
	}
	if err := c.check(); err != nil {
		return config{}, name, false, fmt.Errorf("%s:%d: %w", name, err.(configError).line(string(text)), err)
	}
	return c, name, true, nil
}

var typeErrRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// keyLine is the line, from line index from on, that sets key (bare or
// quoted), or from's line.
func keyLine(text, key string, from int) int {
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(key) + `"?\s*=`)
	lines := strings.Split(text, "\n")
	for i := from; i < len(lines); i++ {
		if re.MatchString(lines[i]) {
			return i + 1
		}
	}
	return from + 1
}

// configError is a bad value: key is the key that holds it, slo the
// [[slo]] table's index (-1: none).
type configError struct {
	key string
	slo int
	msg string
}

func (e configError) Error() string { return e.msg }

// line finds the key's line, within the slo-th [[slo]] table for an SLO.
func (e configError) line(text string) int {
	from := 0
	if e.slo >= 0 {
		n := -1
		for i, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) == "[[slo]]" {
				if n++; n == e.slo {
					from = i
					break
				}
			}
		}
	}
	return keyLine(text, e.key, from)
}

// check validates what the types do not.
func (c config) check() error {
	bad := func(key string, slo int, format string, args ...any) error {
		return configError{key: key, slo: slo, msg: fmt.Sprintf(format, args...)}
	}
	if c.By != "" {
		if _, ok := model.ParseLevel(c.By); !ok {
			return bad("by", -1, "by must be family, env, job or os, not %q", c.By)
		}
	}
	if m := c.MacOS.WeeklyBudgetMinutes; m != nil && !(*m > 0) {
		return bad("weekly_budget_minutes", -1, "macos.weekly_budget_minutes must be positive")
	}
	if c.MacOS.WeekStart != "" {
		if _, err := parseWeekday(c.MacOS.WeekStart); err != nil {
			return bad("week_start", -1, "macos.week_start %q is not a weekday", c.MacOS.WeekStart)
		}
	}
	for _, f := range []struct {
		key string
		v   *float64
	}{{"sample_from", c.MacOS.SampleFrom}, {"pause_from", c.MacOS.PauseFrom}, {"skip_threshold", c.Report.SkipThreshold}} {
		if f.v != nil && !(*f.v > 0 && *f.v <= 1) {
			return bad(f.key, -1, "%s must be above 0 and at most 1, not %g", f.key, *f.v)
		}
	}
	if f, p := c.MacOS.SampleFrom, c.MacOS.PauseFrom; f != nil && p != nil && *f > *p {
		return bad("pause_from", -1, "macos.pause_from (%g) must be at least sample_from (%g)", *p, *f)
	}
	if b := c.Burn; b != nil {
		for _, f := range []struct {
			key string
			v   *float64
		}{{"breach_rate", b.BreachRate}, {"warn_rate", b.WarnRate}} {
			if f.v != nil && !(*f.v >= 1) {
				return bad(f.key, -1, "burn.%s must be at least 1 (the rate that spends the budget exactly over the period), not %g", f.key, *f.v)
			}
		}
		if b.BreachRate != nil && b.WarnRate != nil && *b.BreachRate < *b.WarnRate {
			return bad("breach_rate", -1, "burn.breach_rate (%g) must be at least warn_rate (%g)", *b.BreachRate, *b.WarnRate)
		}
		if b.Alpha != nil && !(*b.Alpha > 0 && *b.Alpha < 0.5) {
			return bad("alpha", -1, "burn.alpha must be above 0 and below 0.5, not %g", *b.Alpha)
		}
	}
	names := map[string]bool{}
	for i, s := range c.SLO {
		if s.Name != "" && names[s.Name] {
			return bad("name", i, "slo %d: another SLO is named %q: names tell their results apart", i+1, s.Name)
		}
		names[s.Name] = true
		switch {
		case s.Objective == "":
			return bad("[[slo]]", i, "slo %d: objective is required (%q or %q)", i+1, analyze.ObjectivePassRate, analyze.ObjectiveRunnerHealth)
		case s.Target == nil:
			return bad("[[slo]]", i, "slo %d: target is required (a share, 0.9 for 90%%)", i+1)
		case slices.Contains(s.Platforms, ""):
			return bad("platforms", i, "slo %d: platforms holds an empty name", i+1)
		case s.Objective != analyze.ObjectivePassRate && s.Objective != analyze.ObjectiveRunnerHealth:
			return bad("objective", i, "slo %d: objective must be %q or %q, not %q", i+1, analyze.ObjectivePassRate, analyze.ObjectiveRunnerHealth, s.Objective)
		case !(*s.Target > 0 && *s.Target < 1):
			return bad("target", i, "slo %d: target must be a share above 0 and below 1 (0.9 for 90%%), not %g", i+1, *s.Target)
		case s.Window != 0 && s.Window < 8:
			return bad("window", i, "slo %d: window must be at least 8 batches, not %d", i+1, s.Window)
		case s.Ecosystem != "" && s.Objective == analyze.ObjectiveRunnerHealth:
			return bad("ecosystem", i, "slo %d: runner health is per batch, not per ecosystem", i+1)
		}
	}
	return nil
}

// apply sets what the configuration gives on the check's options; flags
// given on the command line win (given reports them).
func (c config) apply(o *analyze.CheckOptions, given func(string) bool) {
	if c.By != "" && !given("by") {
		o.Report.By, _ = model.ParseLevel(c.By)
	}
	if m := c.MacOS.WeeklyBudgetMinutes; m != nil && !given("week-budget") {
		o.Report.WeekBudget = *m
	}
	if c.MacOS.WeekStart != "" && !given("week-start") {
		o.Report.WeekStart, _ = parseWeekday(c.MacOS.WeekStart)
	}
	if c.MacOS.SampleFrom != nil {
		o.SampleFrom = *c.MacOS.SampleFrom
	}
	if c.MacOS.PauseFrom != nil {
		o.PauseFrom = *c.MacOS.PauseFrom
	}
	if c.Report.SkipThreshold != nil && !given("skip-threshold") {
		o.Report.SkipThreshold = *c.Report.SkipThreshold
	}
	if b := c.Burn; b != nil {
		if b.BreachRate != nil {
			o.Burn.BreachRate = *b.BreachRate
		}
		if b.WarnRate != nil {
			o.Burn.WarnRate = *b.WarnRate
		}
		if b.Alpha != nil {
			o.Burn.Alpha = *b.Alpha
		}
	}
	for i, s := range c.SLO {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("slo %d", i+1)
		}
		w := s.Window
		if w == 0 {
			w = analyze.DefaultSLOWindow
		}
		o.SLOs = append(o.SLOs, analyze.SLO{Name: name, Objective: s.Objective, Target: *s.Target, Platforms: s.Platforms, Ecosystem: s.Ecosystem, Window: w})
	}
}

// weekFlags are the macOS budget week's flags, which the configuration
// file sets when they are not given.
type weekFlags struct {
	budget, skip *float64
	start        *string
	config       *string
}

// addWeekFlags defines --week-budget, --week-start and --config (and
// --skip-threshold with skip).
func addWeekFlags(fs *flagSet, skip bool) weekFlags {
	w := weekFlags{
		budget: fs.Float64("week-budget", 1000, "weekly macOS budget in minutes"),
		start:  fs.String("week-start", "monday", "the day budget weeks start on, at 00:00 UTC"),
		config: fs.String("config", "", "configuration file (default: ./batchsli.toml when there is one)"),
	}
	if skip {
		w.skip = fs.Float64("skip-threshold", 0.8, "failure rate above which skipping is advised")
	}
	return w
}

// apply sets the budget week (and the skip threshold) on o: a flag given
// wins, then the configuration, then the default.
func (w weekFlags) apply(cmd string, fs *flagSet, o *analyze.ReportOptions) error {
	o.WeekBudget = *w.budget
	ws, err := parseWeekday(*w.start)
	if err != nil {
		return usageError("%s: %v", cmd, err)
	}
	o.WeekStart = ws
	if w.skip != nil {
		o.SkipThreshold = *w.skip
	}
	cfg, _, found, err := loadConfig(*w.config)
	if err != nil {
		return usageError("%s: %v", cmd, err)
	}
	if found {
		var co analyze.CheckOptions
		co.Report = *o
		by := o.By
		cfg.apply(&co, func(name string) bool { return name == "by" || flagGiven(fs, name) })
		*o = co.Report
		o.By = by
	}
	if !(o.WeekBudget > 0) {
		return usageError("%s: --week-budget must be a positive number of minutes", cmd)
	}
	return nil
}

// checkOptions are the check's options for a command with weekFlags and
// a level: a flag given wins, then the configuration, then the default
// (the level too: the configuration's by when --by is not given).
func (w weekFlags) checkOptions(cmd string, fs *flagSet, by string, clock time.Time) (analyze.CheckOptions, error) {
	o := analyze.DefaultCheckOptions(analyze.DefaultReportOptions(clock))
	lvl, ok := model.ParseLevel(by)
	if !ok {
		return o, usageError("%s: --by must be family, env, job or os, not %q", cmd, by)
	}
	o.Report.By, o.Report.WeekBudget = lvl, *w.budget
	ws, err := parseWeekday(*w.start)
	if err != nil {
		return o, usageError("%s: %v", cmd, err)
	}
	o.Report.WeekStart = ws
	cfg, _, found, err := loadConfig(*w.config)
	if err != nil {
		return o, usageError("%s: %v", cmd, err)
	}
	if found {
		cfg.apply(&o, func(name string) bool { return flagGiven(fs, name) })
	}
	if err := o.Validate(); err != nil {
		return o, usageError("%s: %v", cmd, err)
	}
	return o, nil
}
