package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Outcome codes: one byte per platform in an outcome record's string.
const (
	// OutcomePass: passed on its first attempt.
	OutcomePass = 'P'
	// OutcomePassRetried: passed, but only after a failed attempt
	// (attempts > 1, or a failing result and a passing one in one batch).
	OutcomePassRetried = 'p'
	// OutcomeSkipped: not tested there (progressive validation, policy,
	// or no result for the recipe on that platform).
	OutcomeSkipped = 'S'
)

// FailureCodes are the bytes that stand for a failure: the i-th names the
// outcome record's i-th category. A batch can hold at most
// len(FailureCodes) distinct failure categories.
const FailureCodes = "0123456789ABCDEFGHIJKLMNOQRTUVWXYZabcdefghijklmnoqrtuvwxyz"

// FailureCode returns the category index a failure byte stands for, or -1.
func FailureCode(c byte) int { return strings.IndexByte(FailureCodes, c) }

// RecipeOutcome is one recipe's outcomes in one batch: Codes holds one byte
// per platform of the record, in its order.
type RecipeOutcome struct {
	PackageID string
	Codes     string
	// Version is the recipe's version or content hash, when the results
	// carry one (recipe_version); "" when unknown.
	Version string
}

// Outcomes is a batch's outcome record: every recipe's outcome on every
// platform, compactly (docs/STORAGE.md). It is written before the batch's
// batch-run record and, like a failure record, counts only when that
// record commits its attempt.
type Outcomes struct {
	SchemaVersion int       `json:"schema_version"`
	BatchID       string    `json:"batch_id"`
	AttemptID     string    `json:"attempt_id,omitempty"`
	Timestamp     time.Time `json:"timestamp"`
	// Platforms are the environment IDs, in the order of each code string.
	Platforms []string `json:"platforms"`
	// Categories are the failure categories the failure codes index.
	Categories []string `json:"categories,omitempty"`
	// Recipes are in package ID order (as read; record writes them so).
	Recipes []RecipeOutcome `json:"-"`

	Source Source `json:"-"`
}

// MarshalJSON writes the recipes as {"package_id":"codes"} and their
// versions, when any are known, as {"package_id":"version"}.
func (o *Outcomes) MarshalJSON() ([]byte, error) {
	type plain Outcomes
	codes := make(map[string]string, len(o.Recipes))
	var versions map[string]string
	for _, r := range o.Recipes {
		codes[r.PackageID] = r.Codes
		if r.Version != "" {
			if versions == nil {
				versions = map[string]string{}
			}
			versions[r.PackageID] = r.Version
		}
	}
	return json.Marshal(struct {
		*plain
		Recipes  map[string]string `json:"recipes"`
		Versions map[string]string `json:"versions,omitempty"`
	}{(*plain)(o), codes, versions})
}

// Outcome is one recipe's outcome on one platform, decoded.
type Outcome struct {
	Kind     OutcomeKind
	Category string // for failures
	Retried  bool   // passed after a failed attempt
}

// OutcomeKind says what happened to a recipe on a platform.
type OutcomeKind uint8

// Outcome kinds.
const (
	// Absent: not in the batch (or an invalid byte, which readers reject).
	Absent OutcomeKind = iota
	Skipped
	Passed
	Failed
)

// At decodes recipe i's outcome on platform j.
func (o *Outcomes) At(i, j int) Outcome {
	return o.Decode(o.Recipes[i].Codes[j])
}

// Decode decodes one outcome byte of this record.
func (o *Outcomes) Decode(c byte) Outcome {
	switch c {
	case OutcomePass:
		return Outcome{Kind: Passed}
	case OutcomePassRetried:
		return Outcome{Kind: Passed, Retried: true}
	case OutcomeSkipped:
		return Outcome{Kind: Skipped}
	}
	if k := FailureCode(c); k >= 0 && k < len(o.Categories) {
		return Outcome{Kind: Failed, Category: o.Categories[k]}
	}
	return Outcome{Kind: Absent}
}

// MaxOutcomePlatforms is the most platforms an outcome record lists: its
// readers index a record's platforms by one byte.
const MaxOutcomePlatforms = 256

// MaxVersion is the longest recipe version an outcome record keeps, in bytes.
const MaxVersion = 128

// Disagrees says how an outcome record disagrees with its batch's
// batch-run record ("" when it agrees): the platforms must be the same and
// every platform's tested, passed, failed and skipped counts must be what
// the outcomes add up to.
func (o *Outcomes) Disagrees(run *BatchRun) string {
	if len(o.Platforms) != len(run.Platforms) {
		return "its platforms differ from the batch-run record's"
	}
	got := o.Counts()
	for _, p := range o.Platforms {
		c, ok := run.Platforms[p]
		if !ok {
			return "platform " + p + " is not in the batch-run record"
		}
		g := got[p]
		if g.Tested != c.Tested || g.Passed != c.Passed || g.Failed != c.Failed || c.SkippedKnown && g.Skipped != c.Skipped {
			return fmt.Sprintf("on %s its outcomes add up to %d tested, %d passed, %d failed, %d skipped; the batch-run record says %d, %d, %d, %d",
				p, g.Tested, g.Passed, g.Failed, g.Skipped, c.Tested, c.Passed, c.Failed, c.Skipped)
		}
	}
	return ""
}

// CountsSum is a 64-bit summary of per-platform counts (tested, passed,
// failed, skipped), for telling cheaply whether an outcome record adds up
// to its batch's counts without keeping them.
func CountsSum(m map[string]Counts) uint64 {
	var sum uint64
	for p, c := range m {
		sum += platformSum(p, c) // order-free
	}
	return sum
}

func platformSum(p string, c Counts) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(c.Tested))
	binary.LittleEndian.PutUint64(b[8:], uint64(c.Passed))
	binary.LittleEndian.PutUint64(b[16:], uint64(c.Failed))
	binary.LittleEndian.PutUint64(b[24:], uint64(c.Skipped))
	h.Write(b[:])
	return h.Sum64()
}

// column adds up the outcomes on platform j (the reader has checked every
// code byte).
func (o *Outcomes) column(j int) Counts {
	c := Counts{SkippedKnown: true}
	for i := range o.Recipes {
		switch k := o.Recipes[i].Codes[j]; k {
		case OutcomePass, OutcomePassRetried:
			c.Tested++
			c.Passed++
		case OutcomeSkipped:
			c.Skipped++
		default:
			c.Tested++
			c.Failed++
		}
	}
	return c
}

// Counts adds up the outcomes per platform.
func (o *Outcomes) Counts() map[string]Counts {
	m := make(map[string]Counts, len(o.Platforms))
	for j, p := range o.Platforms {
		m[p] = o.column(j)
	}
	return m
}

// CountsSum is CountsSum(o.Counts()), without building the map.
func (o *Outcomes) CountsSum() uint64 {
	var sum uint64
	for j, p := range o.Platforms {
		sum += platformSum(p, o.column(j))
	}
	return sum
}
