// Package model holds batchsli's canonical data: environment IDs and their
// roll-up levels, failure categories, and the v2 batch-run and failure
// records that every reader produces and every analysis consumes.
//
// It does no I/O: reading lives in package reader, writing in package record.
package model

import (
	"strings"
	"time"
)

// SchemaVersion is the record version batchsli writes.
const SchemaVersion = 2

// Counts are one platform's outcome in one batch.
type Counts struct {
	Tested  int64 `json:"tested"`
	Passed  int64 `json:"passed"`
	Failed  int64 `json:"failed"`
	Skipped int64 `json:"skipped"`
	// DurationSeconds is the platform's validation time, when known.
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
	// Infrastructure counts the failed tests whose failure is the
	// infrastructure's (network_error, timeout); nil in records that do
	// not say (v0, v1, older v2), where readers derive it from the failure
	// records.
	Infrastructure *int64 `json:"infrastructure,omitempty"`
	// GatedBy lists the platforms this batch's results show gating this
	// one: every recipe tested here passed on each of them, and every
	// recipe skipped here failed on one of them (progressive validation).
	GatedBy []string `json:"gated_by,omitempty"`
	// SkippedKnown is false for records (v0, v1) that do not count skips.
	SkippedKnown bool `json:"-"`
}

// Source locates a record in its file.
type Source struct {
	File string
	Line int
	// Start and Lines are where the JSON object holding the record starts
	// and how many lines it spans (a grouped v1 line holds several records).
	Start, Lines int
	// Raw is the object's bytes when the reader was asked to keep them
	// (reader.Options.KeepRaw); valid only until the callback returns.
	Raw []byte
}

// BatchRun is one batch's record. Readers fill it from any schema version;
// the writer emits it as version 2.
type BatchRun struct {
	SchemaVersion int    `json:"schema_version"`
	BatchID       string `json:"batch_id"`
	// Ecosystem is the batch's ecosystem, Mixed when it spans several, or
	// Unknown when the record names none.
	Ecosystem string `json:"ecosystem"`
	// Ecosystems maps each ecosystem of a mixed batch to its recipe count.
	Ecosystems  map[string]int64  `json:"ecosystems,omitempty"`
	Total       int64             `json:"total"`
	Generated   int64             `json:"generated"`
	Merged      int64             `json:"merged"`
	Excluded    int64             `json:"excluded"`
	Constrained int64             `json:"constrained"`
	Platforms   map[string]Counts `json:"platforms"`
	// ByEcosystem splits Platforms per ecosystem for mixed batches.
	ByEcosystem map[string]map[string]Counts `json:"by_ecosystem,omitempty"`
	// JobSeconds holds job times given for keys coarser than the platforms
	// (for example linux-x86_64 over family-level results). They are kept as
	// the job's time, never split across its platforms.
	JobSeconds       map[string]float64 `json:"job_duration_seconds,omitempty"`
	MacOSMinutesUsed *int64             `json:"macos_minutes_used,omitempty"`
	Timestamp        time.Time          `json:"timestamp"`
	DurationSeconds  *float64           `json:"duration_seconds,omitempty"`
	// AttemptID identifies the write that committed the batch: every failure
	// record of the batch carries the same token (docs/STORAGE.md).
	AttemptID string `json:"attempt_id,omitempty"`
	// Digest is a SHA-256 of the batch's results (counts and failures, not
	// times or tokens), so a retry of a committed batch is recognised.
	Digest string `json:"digest,omitempty"`

	Source Source `json:"-"`
}

// Tested returns the number of (recipe, platform) results tested in the run.
func (b *BatchRun) Tested() int64 {
	var n int64
	for _, c := range b.Platforms {
		n += c.Tested
	}
	return n
}

// Failure is one failure of one recipe on one environment.
type Failure struct {
	SchemaVersion int    `json:"schema_version"`
	BatchID       string `json:"batch_id,omitempty"`
	Ecosystem     string `json:"ecosystem"`
	Environment   string `json:"environment"`
	PackageID     string `json:"package_id"`
	// Category is canonical (aliases resolved, or derived from the exit code).
	Category    string    `json:"category"`
	Subcategory string    `json:"subcategory,omitempty"`
	BlockedBy   []string  `json:"blocked_by,omitempty"`
	ExitCode    *int      `json:"exit_code,omitempty"`
	Attempts    int       `json:"attempts,omitempty"`
	Message     string    `json:"message,omitempty"`
	Timestamp   time.Time `json:"timestamp"`
	// AttemptID is the token of the write that made this record; the record
	// counts only when its batch's record carries the same token.
	AttemptID string `json:"attempt_id,omitempty"`

	// RawCategory is the category as the record wrote it ("" when derived).
	RawCategory string `json:"-"`
	Source      Source `json:"-"`
}

// Recipe returns the recipe name: the package ID without its ecosystem.
func (f *Failure) Recipe() string {
	if i := strings.IndexByte(f.PackageID, ':'); i >= 0 {
		return f.PackageID[i+1:]
	}
	return f.PackageID
}

// SplitPackageID splits "eco:name"; eco is "" when there is no colon.
func SplitPackageID(id string) (eco, name string) {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		return id[:i], id[i+1:]
	}
	return "", id
}
