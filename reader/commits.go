package reader

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"
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
// A record's copies share its batch, so the records are kept by batch, each
// batch in a small table of its own under its own lock: a reader looks a
// record up among its batch's records only, which stay in cache while it
// reads that batch, and holds no lock while it hands the record on. A
// record costs 16 bytes (a hash and where it was first seen) in a table at
// most three quarters full, and a batch about 100 bytes more.
type Copies struct {
	seed    maphash.Seed
	mu      sync.Mutex // batches, files, fileAt
	batches map[string]*copyBatch
	files   []string
	fileAt  map[string]uint64
}

// copyBatch is the records of one batch: an open-addressed table of
// entries (key 0: empty).
type copyBatch struct {
	mu    sync.Mutex
	n     int
	slots []copyEntry
}

// copyEntry is a record's hash and where it was first seen: a file's index
// in Copies.files and a line, packed in 64 bits.
type copyEntry struct{ key, at uint64 }

// NewCopies returns an empty Copies.
func NewCopies() *Copies { return NewCopiesSized(0) }

// NewCopiesSized returns an empty Copies with room for about records
// records (a hint: it grows beyond).
func NewCopiesSized(records int) *Copies {
	return &Copies{seed: maphash.MakeSeed(), fileAt: map[string]uint64{},
		batches: make(map[string]*copyBatch, records/32)}
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

// batch returns the table of batch id, making it with room for about
// records records.
func (c *Copies) batch(id string, records int) *copyBatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.batches[id]
	if b == nil {
		b = &copyBatch{}
		if records > 0 {
			// The smallest table that holds records at most three
			// quarters full.
			b.slots = make([]copyEntry, 1<<bits.Len(uint(max(8, (4*records+2)/3)-1)))
		}
		c.batches[id] = b
	}
	return b
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

// copyCursor is one reader's view of Copies: the file it reads and the
// batch table of its last record.
type copyCursor struct {
	c       *Copies
	fileIdx uint64
	id      string
	b       *copyBatch
	buf     []byte // the fields hashed
}

// cursor returns a cursor reading the file of index fileIdx (fileIndex).
func (c *Copies) cursor(fileIdx uint64) *copyCursor {
	return &copyCursor{c: c, fileIdx: fileIdx}
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
		// A file's batches are alike: a new batch's table is made the
		// size the last one grew to.
		hint := 0
		if cc.b != nil {
			cc.b.mu.Lock()
			hint = cc.b.n
			cc.b.mu.Unlock()
		}
		cc.id, cc.b = f.BatchID, cc.c.batch(f.BatchID, hint)
	}
	// The strings' lengths are written first, so that no two different
	// records write the same bytes.
	// The fields are laid out in one buffer and hashed at once.
	strs := [...]string{f.AttemptID, f.Ecosystem, f.Environment, f.PackageID, f.RawCategory, f.Category, f.Subcategory}
	buf := binary.AppendUvarint(cc.buf[:0], uint64(len(f.BlockedBy)))
	for _, s := range strs {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
	}
	for _, b := range f.BlockedBy {
		buf = binary.AppendUvarint(buf, uint64(len(b)))
	}
	for _, s := range strs {
		buf = append(buf, s...)
	}
	for _, b := range f.BlockedBy {
		buf = append(buf, b...)
	}
	ec := int64(-1)
	if f.ExitCode != nil {
		ec = int64(*f.ExitCode)
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ec))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(f.Attempts))
	// Seconds and nanoseconds: Unix nanoseconds wrap outside 1678-2262.
	buf = binary.LittleEndian.AppendUint64(buf, uint64(f.Timestamp.Unix()))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(f.Timestamp.Nanosecond()))
	cc.buf = buf
	key := max(maphash.Bytes(cc.c.seed, buf), 1) // 0 marks an empty slot
	at := cc.fileIdx<<32 | uint64(uint32(f.Source.Line))

	b := cc.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if 4*(b.n+1) > 3*len(b.slots) {
		b.grow()
	}
	mask := uint64(len(b.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		e := &b.slots[i]
		if e.key == 0 {
			*e = copyEntry{key, at}
			b.n++
			return place{}, false
		}
		if e.key != key {
			continue
		}
		// A repetition (rare): the copy first in file order is kept as
		// the first, under the batch's lock, so that two readers agree.
		here := place{f.Source.File, f.Source.Line}
		if first := cc.c.unpack(e.at); here.before(first) {
			e.at = at
			return first, true
		}
		return here, true
	}
}

// grow doubles the batch's table (at least 8 slots).
func (b *copyBatch) grow() {
	old := b.slots
	b.slots = make([]copyEntry, max(8, 2*len(old)))
	mask := uint64(len(b.slots) - 1)
	for _, e := range old {
		if e.key == 0 {
			continue
		}
		i := e.key & mask
		for b.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		b.slots[i] = e
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
