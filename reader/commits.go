package reader

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"

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

// Copies tracks the committed v2 failure records read in one pass over the
// data, to count a repeated one (a copied file or line) once. Readers that
// share a pass (one per worker) share one Copies; it is safe for that.
type Copies struct {
	seed maphash.Seed
	// shards hold, per record hash, where it was first seen: a file's
	// index in files and a line, packed in 64 bits (a record read in a
	// pass costs 16 bytes here). A record's shard is chosen by its hash,
	// so that workers rarely wait for each other.
	shards [copyShards]copyShard
	fmu    sync.Mutex
	files  []string
	fileAt map[string]uint64
}

// copyShards is the number of independently locked parts of Copies.
const copyShards = 64

type copyShard struct {
	mu sync.Mutex
	m  map[uint64]uint64
	_  [40]byte // a cache line each
}

// NewCopies returns an empty Copies.
func NewCopies() *Copies { return NewCopiesSized(0) }

// NewCopiesSized returns an empty Copies with room for about records
// records (it grows beyond).
func NewCopiesSized(records int) *Copies {
	c := &Copies{seed: maphash.MakeSeed(), fileAt: map[string]uint64{}}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]uint64, records/copyShards)
	}
	return c
}

// fileIndex returns the index of file in c.files, adding it.
func (c *Copies) fileIndex(file string) uint64 {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	i, ok := c.fileAt[file]
	if !ok {
		i = uint64(len(c.files))
		c.files = append(c.files, file)
		c.fileAt[file] = i
	}
	return i
}

func (c *Copies) unpack(v uint64) place {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	return place{c.files[v>>32], int(uint32(v))}
}

type place struct {
	file string
	line int
}

func (p place) before(q place) bool {
	if p.file != q.file {
		return p.file < q.file
	}
	return p.line < q.line
}

// NewCommits returns a Commits holding the given batch ID -> attempt pairs.
func NewCommits(attempts map[string]string) *Commits {
	return &Commits{attempt: attempts}
}

// repeated reports whether a committed v2 failure record was read before:
// the same batch, attempt, ecosystem, environment, package, category (as
// written and as resolved), subcategory, exit code, blockers, attempts and
// time (a record copy; the message is left out, as readers that skip
// messages cannot see it). It returns where to report
// the repetition: whichever of the copies seen comes later in file order,
// so the findings do not depend on the order readers run in.
//
// fileIdx is fileIndex(f.Source.File), found once per file by the caller.
func (c *Copies) repeated(f *model.Failure, fileIdx uint64) (place, bool) {
	if f.SchemaVersion < model.SchemaVersion || f.BatchID == "" {
		return place{}, false
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, s := range [...]string{f.BatchID, f.AttemptID, f.Ecosystem, f.Environment, f.PackageID, f.RawCategory, f.Category, f.Subcategory} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	for _, b := range f.BlockedBy {
		h.WriteString(b)
		h.WriteByte(1)
	}
	ec := int64(-1)
	if f.ExitCode != nil {
		ec = int64(*f.ExitCode)
	}
	var nums [24]byte
	binary.LittleEndian.PutUint64(nums[0:], uint64(ec))
	binary.LittleEndian.PutUint64(nums[8:], uint64(f.Attempts))
	binary.LittleEndian.PutUint64(nums[16:], uint64(f.Timestamp.UnixNano()))
	h.Write(nums[:])
	key := h.Sum64()
	packed := fileIdx<<32 | uint64(uint32(f.Source.Line))
	sh := &c.shards[key%copyShards]
	sh.mu.Lock()
	v, seen := sh.m[key]
	if !seen {
		sh.m[key] = packed
		sh.mu.Unlock()
		return place{}, false
	}
	// A repetition (rare): which copy comes first in file order is
	// decided under the shard's lock, so that two workers agree.
	defer sh.mu.Unlock()
	here := place{f.Source.File, f.Source.Line}
	if first := c.unpack(v); here.before(first) {
		sh.m[key] = packed
		return first, true
	}
	return here, true
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
