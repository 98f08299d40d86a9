package reader

import (
	"fmt"

	"github.com/batchsli/batchsli/model"
)

// Commits records which batches are committed: a batch is committed exactly
// when its v2 batch-run record is whole on disk (docs/STORAGE.md). It maps
// each committed batch ID to the attempt token its record carries ("" for
// records written before tokens). It is read-only once built and safe to
// share between readers.
type Commits struct {
	attempt map[string]string
}

// NewCommits returns a Commits holding the given batch ID -> attempt pairs.
func NewCommits(attempts map[string]string) *Commits {
	return &Commits{attempt: attempts}
}

// Len returns the number of committed v2 batches.
func (c *Commits) Len() int {
	if c == nil {
		return 0
	}
	return len(c.attempt)
}

// Attempt returns the attempt token of a committed batch, and whether the
// batch is committed.
func (c *Commits) Attempt(batchID string) (string, bool) {
	if c == nil {
		return "", false
	}
	a, ok := c.attempt[batchID]
	return a, ok
}

// Check applies the commit rule to a failure record: it returns "" when the
// record counts, or why it does not. Records that name no batch, and v0/v1
// records, predate the protocol and always count; a v2 record that names a
// batch counts only when that batch is committed by the same attempt.
func (c *Commits) Check(f *model.Failure) string {
	if f.SchemaVersion < model.SchemaVersion || f.BatchID == "" {
		return ""
	}
	a, ok := c.Attempt(f.BatchID)
	switch {
	case !ok:
		return fmt.Sprintf("uncommitted: no readable batch-run record of batch %s (a write that did not finish, or a metrics file that cannot be read); not counted", f.BatchID)
	case a != f.AttemptID:
		return fmt.Sprintf("uncommitted: written by attempt %s of batch %s, which attempt %s committed; not counted", orNone(f.AttemptID), f.BatchID, orNone(a))
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Commits returns the committed batches. Once Metrics has read every
// metrics file they are known; otherwise (or when Options.Commits is set)
// the reader scans the metrics for them first, without reporting their
// problems twice.
func (r *Reader) Commits() (*Commits, error) {
	if r.opts.Commits != nil {
		return r.opts.Commits, nil
	}
	if r.metricsRead {
		if r.commits == nil {
			r.commits = &Commits{attempt: map[string]string{}}
		}
		return r.commits, nil
	}
	scan := New(r.fsys, r.name, Options{SkipMessages: true, Reuse: true, MaxProblems: 1})
	if err := scan.Metrics(func(*model.BatchRun) {}); err != nil {
		return nil, err
	}
	c, _ := scan.Commits()
	r.opts.Commits = c
	return c, nil
}
