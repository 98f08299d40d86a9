package reader

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
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
//
// A record's copies share its batch, so the records are kept by batch: a
// reader holds the batch it is reading (copyCursor), and looks a record up
// among that batch's records only, which stay in cache. A batch's records
// cost 16 bytes each once the reader moves on (a hash and where the record
// was first seen), kept sorted. Two readers never hold one batch at once:
// the second waits until the first moves on (a reader holds one batch at a
// time and lets it go before taking another, so no two wait on each other).
type Copies struct {
	seed    maphash.Seed
	mu      sync.Mutex
	free    *sync.Cond // signalled when a batch is let go
	batches map[string]*copyBatch
	files   []string
	fileAt  map[string]uint64
}

// copyBatch is what Copies keeps of one batch.
type copyBatch struct {
	held bool
	done []copyEntry // sorted by key
}

// copyEntry is a record's hash and where it was first seen: a file's index
// in Copies.files and a line, packed in 64 bits.
type copyEntry struct{ key, at uint64 }

// NewCopies returns an empty Copies.
func NewCopies() *Copies { return NewCopiesSized(0) }

// NewCopiesSized returns an empty Copies with room for about records
// records (a hint: it grows beyond).
func NewCopiesSized(records int) *Copies {
	c := &Copies{seed: maphash.MakeSeed(), fileAt: map[string]uint64{},
		batches: make(map[string]*copyBatch, records/32)}
	c.free = sync.NewCond(&c.mu)
	return c
}

// fileIndex returns the index of file in c.files, adding it.
func (c *Copies) fileIndex(file string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.fileAt[file]
	if !ok {
		i = uint64(len(c.files))
		c.files = append(c.files, file)
		c.fileAt[file] = i
	}
	return i
}

func (c *Copies) unpack(v uint64) place {
	c.mu.Lock()
	defer c.mu.Unlock()
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

// copyCursor is one reader's view of Copies: the batch it holds, with the
// records it met of that batch since taking it (an open-addressed table
// over block). release lets the batch go; a reader calls it when done.
type copyCursor struct {
	c       *Copies
	fileIdx uint64
	id      string
	b       *copyBatch
	block   []copyEntry
	slots   []int32 // index in block + 1; 0 empty
}

// cursor returns a cursor reading the file of index fileIdx (fileIndex).
func (c *Copies) cursor(fileIdx uint64) *copyCursor {
	return &copyCursor{c: c, fileIdx: fileIdx}
}

// hold lets the cursor's batch go and takes the batch id, waiting while
// another reader holds it.
func (cc *copyCursor) hold(id string) {
	cc.release()
	c := cc.c
	c.mu.Lock()
	b := c.batches[id]
	if b == nil {
		b = &copyBatch{}
		c.batches[id] = b
	}
	for b.held {
		c.free.Wait()
	}
	b.held = true
	c.mu.Unlock()
	cc.id, cc.b = id, b
}

// release merges the records met into the batch's and lets it go.
func (cc *copyCursor) release() {
	b := cc.b
	if b == nil {
		return
	}
	if len(cc.block) > 0 {
		slices.SortFunc(cc.block, func(x, y copyEntry) int { return cmp.Compare(x.key, y.key) })
		if len(b.done) == 0 {
			b.done = slices.Clip(slices.Clone(cc.block))
		} else {
			merged := make([]copyEntry, 0, len(b.done)+len(cc.block))
			i, j := 0, 0
			for i < len(b.done) && j < len(cc.block) {
				if b.done[i].key <= cc.block[j].key {
					merged = append(merged, b.done[i])
					i++
				} else {
					merged = append(merged, cc.block[j])
					j++
				}
			}
			merged = append(merged, b.done[i:]...)
			b.done = append(merged, cc.block[j:]...)
		}
		cc.block = cc.block[:0]
		clear(cc.slots)
	}
	c := cc.c
	c.mu.Lock()
	b.held = false
	c.mu.Unlock()
	c.free.Broadcast()
	cc.b, cc.id = nil, ""
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
func (cc *copyCursor) repeated(f *model.Failure) (place, bool) {
	if f.SchemaVersion < model.SchemaVersion || f.BatchID == "" {
		return place{}, false
	}
	if cc.b == nil || f.BatchID != cc.id {
		cc.hold(f.BatchID)
	}
	var h maphash.Hash
	h.SetSeed(cc.c.seed)
	for _, s := range [...]string{f.AttemptID, f.Ecosystem, f.Environment, f.PackageID, f.RawCategory, f.Category, f.Subcategory} {
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
	at := cc.fileIdx<<32 | uint64(uint32(f.Source.Line))
	here := place{f.Source.File, f.Source.Line}
	// A repetition (rare) is reported at whichever copy comes first in
	// file order kept as the first: the batch is held, so no other reader
	// sees it change.
	seenAt := func(first *uint64) (place, bool) {
		if p := cc.c.unpack(*first); here.before(p) {
			*first = at
			return p, true
		}
		return here, true
	}
	if i, ok := slices.BinarySearchFunc(cc.b.done, key, func(e copyEntry, k uint64) int { return cmp.Compare(e.key, k) }); ok {
		return seenAt(&cc.b.done[i].at)
	}
	if 2*(len(cc.block)+1) > len(cc.slots) {
		cc.grow()
	}
	mask := uint64(len(cc.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		s := cc.slots[i]
		if s == 0 {
			cc.block = append(cc.block, copyEntry{key, at})
			cc.slots[i] = int32(len(cc.block))
			return place{}, false
		}
		if e := &cc.block[s-1]; e.key == key {
			return seenAt(&e.at)
		}
	}
}

// grow doubles the cursor's table (at least 64 slots).
func (cc *copyCursor) grow() {
	n := max(64, 2*len(cc.slots))
	cc.slots = make([]int32, n)
	mask := uint64(n - 1)
	for j, e := range cc.block {
		i := e.key & mask
		for cc.slots[i] != 0 {
			i = (i + 1) & mask
		}
		cc.slots[i] = int32(j + 1)
	}
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
