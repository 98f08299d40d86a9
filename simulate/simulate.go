// Package simulate writes a deterministic, realistic batch history: seven
// ecosystems validated on nine family-level Linux environments and two macOS
// ones, with progressive skips, weaker arm64 and musl platforms, ecosystems
// that differ, durations, macOS minutes, failure categories and blockers.
//
// Records are made the way `batchsli record` makes them (package record), so
// the history exercises the same code as real batches. It is for demos,
// tests and benchmarks, not for drawing conclusions.
package simulate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/record"
	"github.com/batchsli/batchsli/stats"
)

// Options shape a simulated history.
type Options struct {
	Batches int
	Seed    uint64
	// Recipes, when above 0, is the size of the registry the batches draw
	// their recipes from (split between the ecosystems by their weights),
	// each draw uniform over its ecosystem's pool: registry-scale
	// cardinality, most recipes tested once or a few times. Zero draws
	// from 4,000 recipes per ecosystem, the popular ones far more often.
	Recipes int
	// Start is the first batch's time; batches follow every 3 to 5 hours.
	Start time.Time

	// What calibration needs; the zero values keep the default history.

	// Stable removes the history's real changes (arm64 improving, the
	// linux-rhel-glibc-arm64 regression): a history with nothing to find.
	Stable bool
	// ICC is the intra-batch correlation of results on one platform: each
	// batch x platform draws its pass probability from a beta distribution
	// around the platform's (a beta-binomial batch effect, ICC = 1/(a+b+1)).
	ICC float64
	// Outages is the chance that a batch's runner on a platform is broken:
	// every recipe tested there fails with network_error.
	Outages float64
	// MixDrift moves the ecosystem mix over the history: from mostly
	// homebrew and crates.io to mostly npm and pypi.
	MixDrift bool
	// Changes are known shifts: from fraction At of the history (0..1), a
	// platform's pass probability falls by Drop (absolute; negative raises it).
	Changes []Change
	// Offsets lower a platform's pass probability by a fixed amount
	// throughout (absolute).
	Offsets map[string]float64
	// Uniform gives every platform its ecosystem's pass probability: no
	// platform is weaker than another unless Offsets or Changes say so.
	Uniform bool
	// Fixed sets a platform's pass probability in every ecosystem (before
	// Offsets and Changes).
	Fixed map[string]float64
	// Shared is the share of recipes whose difficulty is shared by every
	// platform: one uniform draw per recipe decides them everywhere (pass
	// where it falls below the platform's probability), so a recipe that
	// fails on a gate is likelier to fail downstream, and gating changes
	// what reaches the platforms it gates.
	Shared float64

	// Retests makes recipes behave as they do when tested again: a recipe
	// keeps its outcome on a platform from test to test until its version
	// changes (every VersionEvery batches on average; the results carry
	// recipe_version), recipes that failed are retried in later batches,
	// popular recipes are re-validated as they are drawn again, and 1% of
	// tests fail on the infrastructure. Without it every test is a fresh
	// draw (and no outcome records are written), as calibration assumes.
	Retests bool
	// Flaky is the share of (recipe, platform) pairs that flake (with
	// Retests): a test that would pass fails with chance FlakeRate, and half
	// of those failures pass when retried within the batch (attempts 2).
	Flaky     float64
	FlakeRate float64
	// FlakyFrom makes more pairs of one platform flaky from a point of the
	// history on (with Retests).
	FlakyFrom []FlakyChange
	// VersionEvery is the mean number of batches between two versions of a
	// recipe (with Retests; default 400).
	VersionEvery int
}

// FlakyChange makes Share more of Platform's pairs flaky from fraction At
// of the history on.
type FlakyChange struct {
	Platform  string
	At, Share float64
}

// Change is a known step in one platform's pass probability.
type Change struct {
	Platform string
	At, Drop float64
}

// DefaultOptions simulate 200 batches from Monday 2026-03-02.
var DefaultOptions = Options{Batches: 200, Seed: 1, Start: time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC),
	Retests: true, Flaky: 0.01, FlakeRate: 0.3}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Batches < 1 || o.Batches > 10_000_000 {
		return fmt.Errorf("--batches must be between 1 and 10000000")
	}
	if o.Start.IsZero() {
		return fmt.Errorf("no start time")
	}
	if o.Recipes != 0 && (o.Recipes < 1000 || o.Recipes > 100_000_000) {
		// At 1,000 the smallest ecosystem's pool (10%) still holds a
		// whole batch (at most 24 recipes).
		return fmt.Errorf("--recipes must be 0 or between 1000 and 100000000")
	}
	return nil
}

// drawRecipe draws the index of a recipe of e to validate (Options.Recipes).
func drawRecipe(rng *rand.Rand, e eco, o *Options) int {
	if o.Recipes > 0 {
		return rng.IntN(max(1, o.Recipes*e.weight/100))
	}
	return int(rng.ExpFloat64()*400) % 4000
}

type eco struct {
	name   string
	weight int
	pass   float64 // base pass probability on glibc x86_64
	musl   float64 // pass probability factor on musl
	prefix string
}

var ecosystems = []eco{
	{"homebrew", 25, 0.80, 0.70, ""},
	{"crates.io", 15, 0.95, 0.85, ""},
	{"npm", 15, 0.90, 0.12, ""},
	{"pypi", 15, 0.87, 0.15, "py"},
	{"rubygems", 10, 0.90, 0.70, "rb-"},
	{"go", 10, 0.96, 0.93, "go-"},
	{"github", 10, 0.84, 0.75, ""},
}

// EcosystemPass is an ecosystem's base pass probability, which every
// platform has under Options.Uniform.
func EcosystemPass(name string) (float64, bool) {
	for _, e := range ecosystems {
		if e.name == name {
			return e.pass, true
		}
	}
	return 0, false
}

// InfraShare is the share of simulated failures that are the
// infrastructure's (network_error 3%, timeout 2%), outages aside.
const InfraShare = 0.05

// Platforms are the environments a simulated recipe is validated on, the
// first being where validation starts.
var Platforms = []string{
	"linux-debian-glibc-x86_64", "linux-rhel-glibc-x86_64", "linux-arch-glibc-x86_64", "linux-suse-glibc-x86_64", "linux-alpine-musl-x86_64",
	"linux-debian-glibc-arm64", "linux-rhel-glibc-arm64", "linux-suse-glibc-arm64", "linux-alpine-musl-arm64",
	"darwin-arm64", "darwin-x86_64",
}

var syllables = []string{"ar", "bat", "cor", "dex", "el", "fin", "gro", "hex", "ion", "jet", "kin", "lux", "mon", "nov", "oct", "pix", "qua", "rip", "sed", "tor", "ul", "vim", "wav", "xen", "yak", "zip"}

var muslDeps = []string{"glibc-compat", "libstdcxx", "openssl", "zlib"}
var armDeps = []string{"openssl", "libffi", "protobuf"}
var x86Deps = []string{"openssl", "libgit2", "pcre2", "sqlite", "icu"}

func recipeName(e eco, i int) string {
	a := syllables[i%len(syllables)]
	b := syllables[(i/len(syllables))%len(syllables)]
	c := i / (len(syllables) * len(syllables))
	name := e.prefix + a + b
	if c > 0 {
		name += fmt.Sprint(c)
	}
	return name
}

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// failure decides how a recipe fails on a platform: the same way every time
// for a given recipe and platform class, as real failures do.
func failure(e eco, recipe, platform string, rng *rand.Rand) (exit int, cat string, blocked []string, msg string) {
	if r := rng.Float64(); r < 0.03 {
		return infraFailure(recipe, false)
	} else if r < 0.05 {
		return infraFailure(recipe, true)
	}
	return recipeFailure(e, recipe, platform)
}

func infraFailure(recipe string, timeout bool) (exit int, cat string, blocked []string, msg string) {
	if timeout {
		return 124, "", nil, "step timed out after 900s while building " + recipe
	}
	return 5, "", nil, "network: GET https://api.example/v1/" + recipe + ": 503 Service Unavailable (rate limited), retrying failed after 3 attempts"
}

// recipeFailure is the recipe's own failure on a platform.
func recipeFailure(e eco, recipe, platform string) (exit int, cat string, blocked []string, msg string) {
	env := model.ParseEnv(platform)
	class := env.Arch + "-" + env.Libc + "-" + env.OS
	h := hash(e.name, recipe, class)
	pick := func(xs []string) string { return xs[int((h>>8)%uint64(len(xs)))] }
	switch {
	case env.Libc == "musl":
		switch h % 10 {
		case 0, 1, 2, 3, 4:
			return 6, model.CatBinaryIncompatible, nil, "Error relocating ./bin/" + recipe + ": __memcpy_chk: symbol not found (binary built against glibc)"
		case 5, 6, 7:
			d := pick(muslDeps)
			return 8, "", []string{d}, "missing dependency: " + d + " is not available on musl; recipe " + recipe + " cannot be installed"
		default:
			return 6, "", nil, "install: post-install hook exited 1: sh: line 1: " + recipe + ": not found"
		}
	case env.Arch == "arm64" && env.OS == "linux":
		switch h % 20 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8:
			return 6, model.CatBinaryIncompatible, nil, "exec format error: ./bin/" + recipe + " is an x86-64 ELF executable"
		case 9, 10, 11, 12, 13, 14:
			return 6, model.CatNoPlatformAssets, nil, "upstream release of " + recipe + " has no linux-arm64 asset (found: linux-amd64.tar.gz, darwin-universal.zip)"
		case 15, 16, 17:
			d := pick(armDeps)
			return 8, "", []string{d}, "missing dependency: " + d + " (no arm64 build in the registry)"
		default:
			return 7, "", nil, "verify: `" + recipe + " --version` printed nothing; expected a version string"
		}
	case env.OS == "darwin":
		if e.name == "homebrew" && h%3 == 0 {
			return 6, model.CatNoBottles, nil, "no bottle for " + recipe + " on " + platform + "; building from source is disabled"
		}
		if h%2 == 0 {
			return 7, "", nil, "verify: codesign check failed for " + recipe + ": <unsigned binary> | quarantine attribute set"
		}
		return 6, "", nil, "install: dyld: Library not loaded: @rpath/lib" + recipe + ".dylib"
	default:
		switch h % 20 {
		case 0, 1, 2, 3, 4, 5, 6, 7:
			return 6, "", nil, "install: make: *** [Makefile:42: " + recipe + "] Error 2"
		case 8, 9, 10, 11, 12:
			return 7, "", nil, "verify: `" + recipe + " --help` exited 127"
		case 13, 14, 15, 16:
			d := pick(x86Deps)
			return 8, "", []string{d}, "missing dependency: " + d + " (recipe not found in registry)"
		default:
			return 1, "", nil, "generation: could not find a release asset pattern for " + recipe
		}
	}
}

// passProb is a recipe's chance to pass on a platform at progress t (0..1
// through the history): arm64 improves over time, musl depends on the
// ecosystem, and linux-rhel-glibc-arm64 regresses in the last sixth.
func passProb(e eco, platform string, t float64, o *Options) float64 {
	p := e.pass
	if v, ok := o.Fixed[platform]; ok {
		p = v
	} else if !o.Uniform {
		p = baseProb(e, platform, t, o.Stable)
	}
	p -= o.Offsets[platform]
	for _, c := range o.Changes {
		if c.Platform == platform && t >= c.At {
			p -= c.Drop
		}
	}
	return math.Min(0.999, math.Max(0.001, p))
}

func baseProb(e eco, platform string, t float64, stable bool) float64 {
	if stable {
		t = 0.5
	}
	env := model.ParseEnv(platform)
	p := e.pass
	if env.OS == "darwin" {
		p = math.Min(0.99, e.pass+0.08)
		if env.Arch == "x86_64" {
			p -= 0.03
		}
		return p
	}
	p = math.Min(0.99, e.pass+0.06) // most failures show on the first platform
	if env.Arch == "arm64" {
		p *= 0.86 + 0.10*t
	}
	if env.Libc == "musl" {
		p *= e.musl
	}
	switch env.Family {
	case "rhel", "suse":
		p *= 0.98
	case "arch":
		p *= 0.99
	}
	if !stable && platform == "linux-rhel-glibc-arm64" && t > 5.0/6 {
		p *= 0.72
	}
	return p
}

// batchEffects draws one batch's pass probability and outage per platform,
// from their own stream (fx) so that the default history does not change.
func batchEffects(fx *rand.Rand, e eco, t float64, o *Options) (probs []float64, down []bool) {
	probs = make([]float64, len(Platforms))
	down = make([]bool, len(Platforms))
	for i, p := range Platforms {
		probs[i] = passProb(e, p, t, o)
		if o.ICC > 0 {
			probs[i] = stats.BetaDraw(fx, probs[i], o.ICC)
		}
		down[i] = o.Outages > 0 && fx.Float64() < o.Outages
	}
	return probs, down
}

// Batch makes one batch's validation results.
func batchResults(rng, fx *rand.Rand, e eco, n int, t float64, o *Options) []record.Result {
	probs, down := batchEffects(fx, e, t, o)
	var out []record.Result
	seen := map[string]bool{}
	for len(seen) < n {
		name := recipeName(e, drawRecipe(rng, e, o))
		if seen[name] {
			continue
		}
		seen[name] = true
		base := 15 + rng.Float64()*60
		shared, u0 := false, 0.0
		if o.Shared > 0 {
			shared, u0 = fx.Float64() < o.Shared, fx.Float64()
		}
		primaryOK := true
		darwinOK := true
		for i, p := range Platforms {
			env := model.ParseEnv(p)
			res := record.Result{Recipe: name, Platform: p, Status: record.StatusSkipped}
			if (i > 0 && !primaryOK) || (env.IsDarwin() && !darwinOK) {
				out = append(out, res)
				continue
			}
			d := base
			switch {
			case env.IsDarwin():
				d = base * 0.35
				if env.Arch == "x86_64" {
					d *= 1.25
				}
			case env.Arch == "arm64":
				d = base * 1.4
			}
			if env.Libc == "musl" {
				d *= 1.1
			}
			d = math.Round(d*10) / 10
			res.DurationSeconds = &d
			res.Attempts = 1
			u := rng.Float64()
			if shared {
				u = u0
			}
			if !down[i] && u < probs[i] {
				res.Status = record.StatusPass
				code := 0
				res.ExitCode = &code
			} else {
				res.Status = record.StatusFail
				code, cat, blocked, msg := failure(e, name, p, rng)
				if down[i] {
					code, cat, blocked, msg = 5, model.CatNetworkError, nil, "network: runner lost its connection (outage)"
				}
				res.ExitCode, res.Category, res.BlockedBy, res.Message = &code, cat, blocked, msg
				if code == 5 || code == 124 {
					res.Attempts = 3
				}
				if i == 0 {
					primaryOK = false
				}
				if p == "linux-debian-glibc-x86_64" || p == "linux-rhel-glibc-x86_64" {
					darwinOK = false
				}
			}
			out = append(out, res)
		}
	}
	return out
}

// Write simulates a history into dir (metrics/batch-runs.jsonl,
// failures/<ecosystem>.jsonl and, with Retests, outcomes/outcomes.jsonl),
// replacing nothing: dir must not hold records.
func Write(dir string, o Options) (last time.Time, err error) {
	if err := o.Validate(); err != nil {
		return last, err
	}
	subs := []string{"metrics", "failures"}
	if o.Retests {
		subs = append(subs, "outcomes")
	}
	for _, sub := range subs {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return last, err
		}
	}
	metricsPath := filepath.Join(dir, "metrics", "batch-runs.jsonl")
	if _, err := os.Stat(metricsPath); err == nil {
		return last, fmt.Errorf("%s exists: simulate writes into an empty data directory", metricsPath)
	}
	files := map[string]*os.File{}
	writers := map[string]*bufio.Writer{}
	open := func(path string) (*bufio.Writer, error) {
		if w, ok := writers[path]; ok {
			return w, nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, err
		}
		files[path] = f
		w := bufio.NewWriterSize(f, 1<<20)
		writers[path] = w
		return w, nil
	}
	defer func() {
		for p, w := range writers {
			if ferr := w.Flush(); ferr != nil && err == nil {
				err = ferr
			}
			if cerr := files[p].Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	fx := rand.New(rand.NewPCG(o.Seed, 0xbadbeef))
	ts := o.Start
	perDay := map[string]int{}
	st := &retests{queue: map[string][]string{}, retried: map[string]int{}}
	for i := 0; i < o.Batches; i++ {
		t := float64(i) / float64(max(o.Batches-1, 1))
		e := pickEcosystem(rng, t, o.MixDrift)
		n := 5 + rng.IntN(20)
		var results []record.Result
		if o.Retests {
			results = retestResults(rng, fx, st, e, n, i, t, &o)
		} else {
			results = batchResults(rng, fx, e, n, t, &o)
		}
		ts = ts.Add(time.Duration(3*60+rng.IntN(121)) * time.Minute)
		key := ts.Format("2006-01-02") + "-" + e.name
		perDay[key]++
		ro := record.DefaultOptions
		ro.Ecosystem = e.name
		ro.Timestamp = ts
		ro.BatchID = fmt.Sprintf("%s-%03d", key, perDay[key])
		run, failures, outcomes, err := record.Build(results, ro)
		if err != nil {
			return last, err
		}
		dur := float64(0)
		for _, c := range run.Platforms {
			if c.DurationSeconds != nil {
				dur = math.Max(dur, *c.DurationSeconds)
			}
		}
		dur = math.Round((dur+120)*10) / 10
		run.DurationSeconds = &dur
		for _, f := range failures {
			f.BatchID = run.BatchID
			w, err := open(filepath.Join(dir, "failures", f.Ecosystem+".jsonl"))
			if err != nil {
				return last, err
			}
			if err := writeJSON(w, f); err != nil {
				return last, err
			}
		}
		if o.Retests {
			outcomes.BatchID = run.BatchID
			w, err := open(filepath.Join(dir, "outcomes", "outcomes.jsonl"))
			if err != nil {
				return last, err
			}
			if err := writeJSON(w, outcomes); err != nil {
				return last, err
			}
		}
		w, err := open(metricsPath)
		if err != nil {
			return last, err
		}
		if err := writeJSON(w, run); err != nil {
			return last, err
		}
		last = ts
	}
	return last, nil
}

// pickEcosystem draws a batch's ecosystem by weight; with drift the
// weights move from homebrew and crates.io towards npm and pypi.
func pickEcosystem(rng *rand.Rand, t float64, drift bool) eco {
	weights := make([]int, len(ecosystems))
	total := 0
	for i, e := range ecosystems {
		w := e.weight
		if drift {
			switch e.name {
			case "homebrew", "crates.io":
				w = int(math.Round(float64(w) * 2 * (1 - t)))
			case "npm", "pypi":
				w = int(math.Round(float64(w) * 2 * t))
			}
		}
		weights[i] = w
		total += w
	}
	pick := rng.IntN(total)
	for i, w := range weights {
		if pick < w {
			return ecosystems[i]
		}
		pick -= w
	}
	return ecosystems[len(ecosystems)-1]
}

func writeJSON(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// retests is the state a history with Options.Retests carries between
// batches: each ecosystem's queue of recipes to retry, and how often each
// was retried.
type retests struct {
	queue   map[string][]string
	retried map[string]int
}

// unit is a deterministic uniform draw in [0,1) from its parts.
func unit(seed uint64, parts ...string) float64 {
	return float64(hash(append([]string{fmt.Sprint(seed)}, parts...)...)>>11) / (1 << 53)
}

// version is a recipe's version number at batch i: it changes every
// VersionEvery batches on average, at a phase of its own.
func version(o *Options, e eco, recipe string, i int) int {
	every := o.VersionEvery
	if every <= 0 {
		every = 400
	}
	period := float64(every) * (0.5 + unit(o.Seed, "period", e.name, recipe))
	phase := unit(o.Seed, "phase", e.name, recipe) * period
	return int((float64(i)+phase)/period) + 1
}

func flaky(o *Options, e eco, recipe, platform string, t float64) bool {
	share := o.Flaky
	for _, c := range o.FlakyFrom {
		if c.Platform == platform && t >= c.At {
			share += c.Share
		}
	}
	return share > 0 && unit(o.Seed, "flaky", e.name, recipe, platform) < share
}

// retestResults makes one batch's results when recipes keep their outcomes
// (Options.Retests): up to two recipes that failed earlier are retried
// first, then recipes are drawn by popularity.
func retestResults(rng, fx *rand.Rand, st *retests, e eco, n, batch int, t float64, o *Options) []record.Result {
	probs, down := batchEffects(fx, e, t, o)
	flakeRate := o.FlakeRate
	if flakeRate <= 0 {
		flakeRate = 0.3
	}
	var names []string
	seen := map[string]bool{}
	q := st.queue[e.name]
	for len(q) > 0 && len(names) < 2 && len(names) < n {
		name := q[0]
		q = q[1:]
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	st.queue[e.name] = q
	for len(names) < n {
		name := recipeName(e, drawRecipe(rng, e, o))
		if seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	var out []record.Result
	for _, name := range names {
		v := version(o, e, name, batch)
		vs := fmt.Sprint(v) + ".0"
		base := 15 + rng.Float64()*60
		shared := o.Shared > 0 && unit(o.Seed, "shared", e.name, name, vs) < o.Shared
		u0 := unit(o.Seed, "difficulty", e.name, name, vs)
		primaryOK, darwinOK := true, true
		for i, p := range Platforms {
			env := model.ParseEnv(p)
			res := record.Result{Recipe: name, Platform: p, Status: record.StatusSkipped, Version: vs}
			if (i > 0 && !primaryOK) || (env.IsDarwin() && !darwinOK) {
				out = append(out, res)
				continue
			}
			d := base
			switch {
			case env.IsDarwin():
				d = base * 0.35
			case env.Arch == "arm64":
				d = base * 1.4
			}
			d = math.Round(d*10) / 10
			res.DurationSeconds = &d
			res.Attempts = 1
			u := unit(o.Seed, "outcome", e.name, name, p, vs)
			if shared {
				u = u0
			}
			pass := u < probs[i]
			var code int
			var cat, msg string
			var blocked []string
			infra := down[i] || rng.Float64() < 0.01
			switch {
			case infra:
				code, cat, blocked, msg = infraFailure(name, !down[i] && rng.Float64() < 0.4)
				if down[i] {
					code, cat, msg = 5, model.CatNetworkError, "network: runner lost its connection (outage)"
				}
				pass = false
				res.Attempts = 3
			case pass && flaky(o, e, name, p, t) && rng.Float64() < flakeRate:
				if rng.Float64() < 0.5 {
					res.Attempts = 2 // failed once, passed when retried
				} else {
					pass = false
					code, cat, msg = 7, model.CatVerifyFailed, "verify: `"+name+" --version` timed out reading its config (intermittent)"
				}
			case !pass:
				code, cat, blocked, msg = recipeFailure(e, name, p)
			}
			if pass {
				res.Status = record.StatusPass
				zero := 0
				res.ExitCode = &zero
			} else {
				res.Status = record.StatusFail
				res.ExitCode, res.Category, res.BlockedBy, res.Message = &code, cat, blocked, msg
				if i == 0 {
					primaryOK = false
				}
				if p == "linux-debian-glibc-x86_64" || p == "linux-rhel-glibc-x86_64" {
					darwinOK = false
				}
			}
			out = append(out, res)
		}
		if !primaryOK && st.retried[e.name+":"+name] < 2 && len(st.queue[e.name]) < 50 {
			st.retried[e.name+":"+name]++
			st.queue[e.name] = append(st.queue[e.name], name)
		}
	}
	return out
}

// IsFlaky reports whether the history o writes makes recipe (its name,
// without the ecosystem) flaky on platform at fraction t of the history
// (with Retests): the truth that tests of flaky-recipe detection compare
// against.
func IsFlaky(o Options, ecosystem, recipe, platform string, t float64) bool {
	for _, e := range ecosystems {
		if e.name == ecosystem {
			return flaky(&o, e, recipe, platform, t)
		}
	}
	return false
}
