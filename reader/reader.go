// Package reader streams a batchsli data directory into the model: batch-run
// records from metrics/batch-runs*.jsonl and failure records from
// failures/*.jsonl, in every format found in the field (FORMATS.md section 6).
//
// It reads one object at a time, so memory does not grow with the history.
// It never stops at a bad record: each problem is reported as a Problem
// ("file:line: what is wrong") and reading goes on. A record with a problem is
// left out. Reader does not aggregate; see package analyze.
package reader

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/batchsli/batchsli/internal/jsonlite"
	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/model"
)

// Problem is something wrong in a data file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

func (p Problem) Error() string { return p.String() }

// Options tune a Reader.
type Options struct {
	// SkipMessages leaves failure messages out (faster when they are not shown).
	SkipMessages bool
	// MaxProblems caps the problems kept; the rest are only counted.
	MaxProblems int
	// Reuse decodes every record into the same memory: a record passed to
	// a callback is valid only until the callback returns (copy what you
	// keep; strings and slices in it stay valid). Faster, with less garbage.
	Reuse bool
	// KeepRaw sets each record's Source.Raw to its object's bytes.
	KeepRaw bool
	// Commits says which batches are committed, when the caller has read
	// them already (Reader.Commits of another reader over the same data).
	// Without it, the first failure file read makes the reader scan the
	// metrics for them.
	Commits *Commits
	// Copies, when set, is shared with the other readers of the same pass
	// (see Copies); without it the reader tracks copies on its own.
	Copies *Copies
	// OnUncommitted, when set, receives every failure record left out
	// because its batch is not committed.
	OnUncommitted func(*model.Failure)
	// OnUncommittedOutcomes, when set, receives every outcome record left
	// out because its batch is not committed.
	OnUncommittedOutcomes func(*model.Outcomes)
	// OnlyBatch, when set, lets failure files pass over, undecoded, the
	// lines that certainly belong to another batch (see otherBatch): a
	// reader after one batch's records (the job summary) need not decode
	// the history. What is passed over is not checked: the problems and
	// file statistics then cover only the lines decoded.
	OnlyBatch string
	// PassOver, when set, lets failure files pass over, undecoded, the
	// lines whose batch ID and package ID are both certain (lineBatchID,
	// linePackageID) and for which it returns true: a reader after some
	// recipes' and some batches' records (the static site) need not
	// decode the rest. As with OnlyBatch, what is passed over is not
	// checked.
	PassOver func(batchID, packageID []byte) bool
	// BatchIDs, when set, receives the batch ID of every failure and
	// outcome line in record's shape (see lineBatchID) in place of its
	// record, which is not decoded; lines in other shapes are decoded and
	// passed on as usual. For a caller that needs only the IDs records
	// name (record, choosing a new one). FailuresParallel calls it from
	// several goroutines.
	BatchIDs func(id string)
	// Resume, when set, says where to start reading each file (its path
	// within the FS): a point just after a newline, as Span.End gave, with
	// the lines and the CRC-32C (Castagnoli) of the bytes before it. The
	// caller has checked that those bytes are unchanged; the reader reads
	// from there, numbering lines on. A zero Span reads the whole file.
	Resume func(path string) Span
	// Spans, when set, receives for each file read how far it was read
	// whole: the point just after the last newline read, with the lines
	// and the CRC-32C of the bytes before it; and whether the file is
	// clean there: read to its end, which is that newline, without a
	// problem, every record on one line. Only from a clean file's span
	// does a Resume frame the rest as a whole reading would, and only
	// then did the reading take nothing from bytes beyond the span.
	// FailuresParallel calls it from several goroutines.
	Spans func(path string, end Span, clean bool)
}

// Span is a prefix of a file that ends just after a newline: its length in
// bytes, its lines and its CRC-32C (Castagnoli).
type Span struct {
	End   int64
	Lines int
	CRC   uint32
}

// castagnoli is the CRC-32C table: spans' checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// PrefixCRC returns the CRC-32C of the first n bytes of the file at path,
// and false when the file has fewer (or cannot be read).
func PrefixCRC(fsys fs.FS, path string, n int64) (uint32, bool) {
	f, err := fsys.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	if m, err := io.CopyN(h, f, n); err != nil || m != n {
		return 0, false
	}
	return h.Sum32(), true
}

// The prefix mark (PrefixMark) hashes these parts of a file's first n
// bytes: all of them up to markWhole, else the first and last markEnds and
// markSamples blocks of markBlock spread between.
const (
	markWhole   = 256 << 10
	markEnds    = 64 << 10
	markSamples = 15
	markBlock   = 4 << 10
)

// Mark is a PrefixMark: a SHA-256 truncated to 16 bytes.
type Mark [16]byte

// PrefixMark returns a fingerprint of the first n bytes of the file at
// path, reading at most about 190 KiB of them whatever n: their length
// and, for n up to 256 KiB, all of them; else the first and the last
// 64 KiB and 15 blocks of 4 KiB spread evenly between (block i, 1..15,
// starting at 64Ki + (n-132Ki)*i/16). It is false when
// the file has fewer bytes (or cannot be read). A change of length, or of
// any byte hashed, changes the mark; a change of the same length wholly
// between the blocks hashed does not.
func PrefixMark(fsys fs.FS, path string, n int64) (Mark, bool) {
	f, err := fsys.Open(path)
	if err != nil || n < 0 {
		return Mark{}, false
	}
	defer f.Close()
	h := sha256.New()
	var head [8]byte
	binary.LittleEndian.PutUint64(head[:], uint64(n))
	h.Write([]byte("batchsli prefix mark 1\n"))
	h.Write(head[:])
	// part hashes bytes [off, off+size), reading forward only: with a
	// ReaderAt at the offset, else by reading and discarding up to it.
	var pos int64
	ra, _ := f.(io.ReaderAt)
	part := func(off, size int64) bool {
		if ra != nil {
			m, err := io.Copy(h, io.NewSectionReader(ra, off, size))
			return err == nil && m == size
		}
		if off < pos {
			return false
		}
		if m, err := io.CopyN(io.Discard, f, off-pos); err != nil || m != off-pos {
			return false
		}
		m, err := io.CopyN(h, f, size)
		pos = off + m
		return err == nil && m == size
	}
	ok := true
	if n <= markWhole {
		ok = part(0, n)
	} else {
		ok = part(0, markEnds)
		for i := int64(1); ok && i <= markSamples; i++ {
			ok = part(markEnds+(n-2*markEnds-markBlock)*i/(markSamples+1), markBlock)
		}
		ok = ok && part(n-markEnds, markEnds)
	}
	if !ok {
		return Mark{}, false
	}
	var m Mark
	copy(m[:], h.Sum(nil))
	return m, true
}

// progress reads a file on from a span, keeping the span read whole so
// far (up to the last newline).
type progress struct {
	r    io.Reader
	pos  int64
	crc  uint32 // of every byte read, from the start of the file
	span Span
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	chunk := b[:n]
	if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
		c := crc32.Update(p.crc, castagnoli, chunk[:i+1])
		p.span = Span{End: p.pos + int64(i) + 1, Lines: p.span.Lines + bytes.Count(chunk, []byte{'\n'}), CRC: c}
		p.crc = crc32.Update(c, castagnoli, chunk[i+1:])
	} else {
		p.crc = crc32.Update(p.crc, castagnoli, chunk)
	}
	p.pos += int64(n)
	return n, err
}

// DefaultOptions keeps messages and up to 10,000 problems.
var DefaultOptions = Options{MaxProblems: 10000}

// FileStat describes one data file read.
type FileStat struct {
	Path    string
	Kind    string // "metrics", "failures" or "outcomes"
	Format  string // e.g. "v1 pretty-printed", "v1 grouped", "v2"
	Records int
}

// Reader reads one data directory.
type Reader struct {
	fsys  fs.FS
	name  string // how the directory is named in problems
	opts  Options
	files []FileStat

	in              intern
	slabs           batchSlabs
	run             model.BatchRun
	plats           map[string]model.Counts
	v2IDs           map[string]place // v2 batch ID -> where it was first read
	outcomeIDs      map[string]place // batch ID -> where its outcome record was read
	outDec          *outcomeDecoder
	commits         *Commits
	metricsRead     bool // every metrics file has been read by Metrics
	problems        []Problem
	droppedProblems int
	uncommitted     []Problem
	moreUncommitted int
}

// New returns a Reader over fsys, whose root is shown as name in problems.
func New(fsys fs.FS, name string, opts Options) *Reader {
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = DefaultOptions.MaxProblems
	}
	return &Reader{fsys: fsys, name: name, opts: opts, in: newIntern()}
}

// Problems returns the problems met so far, and how many more were dropped
// beyond Options.MaxProblems.
func (r *Reader) Problems() ([]Problem, int) { return r.problems, r.droppedProblems }

// Uncommitted returns the failure records left out because their batch is
// not committed (docs/STORAGE.md), as file:line findings, and how many more
// there were beyond Options.MaxProblems.
func (r *Reader) Uncommitted() ([]Problem, int) { return r.uncommitted, r.moreUncommitted }

// Files returns the files read so far.
func (r *Reader) Files() []FileStat { return r.files }

func (r *Reader) problem(file string, line int, format string, args ...any) {
	if len(r.problems) >= r.opts.MaxProblems {
		r.droppedProblems++
		return
	}
	r.problems = append(r.problems, Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// addProblem keeps p, or counts it beyond Options.MaxProblems.
func (r *Reader) addProblem(p Problem) {
	if len(r.problems) >= r.opts.MaxProblems {
		r.droppedProblems++
		return
	}
	r.problems = append(r.problems, p)
}

// addUncommitted keeps p, a record left out as uncommitted, or counts it
// beyond Options.MaxProblems.
func (r *Reader) addUncommitted(p Problem) {
	if len(r.uncommitted) >= r.opts.MaxProblems {
		r.moreUncommitted++
		return
	}
	r.uncommitted = append(r.uncommitted, p)
}

// MetricsFiles lists metrics/batch-runs*.jsonl in name order.
func (r *Reader) MetricsFiles() ([]string, error) {
	return r.list("metrics", func(n string) bool {
		return strings.HasPrefix(n, "batch-runs") && strings.HasSuffix(n, ".jsonl")
	})
}

// DataFiles lists every data file in reading order: the metrics, failure
// and outcome files.
func (r *Reader) DataFiles() ([]string, error) {
	var files []string
	for _, list := range []func() ([]string, error){r.MetricsFiles, r.FailureFiles, r.OutcomeFiles} {
		l, err := list()
		if err != nil {
			return nil, err
		}
		files = append(files, l...)
	}
	return files, nil
}

// FailureFiles lists failures/*.jsonl in name order.
func (r *Reader) FailureFiles() ([]string, error) {
	return r.list("failures", func(n string) bool { return strings.HasSuffix(n, ".jsonl") })
}

func (r *Reader) list(dir string, keep func(string) bool) ([]string, error) {
	ents, err := fs.ReadDir(r.fsys, dir)
	if err != nil {
		if errorsIsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", r.display(dir), err)
	}
	var out []string
	links := false
	for _, e := range ents {
		name := e.Name()
		p := path.Join(dir, name)
		if !safetext.Safe(name) {
			r.problem(r.display(dir)+"/"+safetext.Escape(name), 0, "file name is not valid UTF-8 or holds control characters; not read (rename it)")
			continue
		}
		if !keep(name) {
			continue
		}
		switch t := e.Type(); {
		case t.IsRegular():
		case t&fs.ModeSymlink != 0:
			links = true
			st, err := fs.Stat(r.fsys, p)
			if err != nil {
				r.problem(r.display(p), 0, "symbolic link not read: %s", unwrapPathError(err))
				continue
			}
			if !st.Mode().IsRegular() {
				r.problem(r.display(p), 0, "symbolic link to something other than a regular file; not read")
				continue
			}
		case t.IsDir():
			continue
		default:
			r.problem(r.display(p), 0, "not a regular file (%s); not read", t.Type())
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	if !links {
		return out, nil
	}
	return r.dropLinkedTwins(out), nil
}

// dropLinkedTwins leaves out a symbolic link to a file that is also listed
// (the same file read twice would count its records twice), as a problem.
func (r *Reader) dropLinkedTwins(files []string) []string {
	type entry struct {
		path string
		info fs.FileInfo
		link bool
	}
	var es []entry
	anyLink := false
	for _, p := range files {
		lst, err := lstat(r.fsys, p)
		if err != nil {
			return files
		}
		link := lst.Mode()&fs.ModeSymlink != 0
		anyLink = anyLink || link
		st, err := fs.Stat(r.fsys, p)
		if err != nil {
			return files
		}
		es = append(es, entry{p, st, link})
	}
	if !anyLink {
		return files
	}
	out := files[:0]
	for i, e := range es {
		twin := ""
		if e.link {
			for j, o := range es {
				if j != i && (!o.link || j < i) && os.SameFile(e.info, o.info) {
					twin = o.path
					break
				}
			}
		}
		if twin != "" {
			r.problem(r.display(e.path), 0, "symbolic link to %s, which is read already; not read twice", r.display(twin))
			continue
		}
		out = append(out, e.path)
	}
	return out
}

// lstat is fs.Lstat where the file system has it (os.DirFS, os.Root's FS).
func lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if l, ok := fsys.(fs.ReadLinkFS); ok {
		return l.Lstat(name)
	}
	return fs.Stat(fsys, name)
}

// unwrapPathError drops the path an fs.PathError repeats.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *Reader) display(p string) string {
	if r.name == "" || r.name == "." {
		return p
	}
	return path.Join(r.name, p)
}

// Display is how the reader names the file at p (a path within its FS)
// in problems and records' sources.
func (r *Reader) Display(p string) string { return r.display(p) }

// Metrics streams every batch-run record to fn, file by file.
func (r *Reader) Metrics(fn func(*model.BatchRun)) error {
	files, err := r.MetricsFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := r.MetricsFile(f, fn); err != nil {
			return err
		}
	}
	r.metricsRead = true
	return nil
}

// Failures streams every failure record to fn, file by file.
func (r *Reader) Failures(fn func(*model.Failure)) error {
	files, err := r.FailureFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := r.FailureFile(f, fn); err != nil {
			return err
		}
	}
	return nil
}

// MetricsFile reads one metrics file (a path within the reader's FS).
func (r *Reader) MetricsFile(name string, fn func(*model.BatchRun)) error {
	display := r.display(name)
	target := func() (*model.BatchRun, map[string]model.Counts) {
		if !r.opts.Reuse {
			return nil, nil
		}
		if r.plats == nil {
			r.plats = make(map[string]model.Counts, 16)
		}
		return &r.run, r.plats
	}
	handle := func(b *model.BatchRun, fr jsonlite.Frame, st *fileState) {
		b.Source.Start, b.Source.Lines = fr.Line, fr.Lines
		if r.opts.KeepRaw {
			b.Source.Raw = fr.Data
		}
		if b.SchemaVersion == model.SchemaVersion {
			if first, dup := r.v2IDs[b.BatchID]; dup {
				r.problem(display, fr.Line, "batch %s is recorded twice (first at %s:%d); this record is left out", b.BatchID, first.file, first.line)
				return
			}
			if r.v2IDs == nil {
				r.v2IDs = map[string]place{}
			}
			r.v2IDs[b.BatchID] = place{b.Source.File, b.Source.Line}
			if r.commits == nil {
				r.commits = &Commits{attempt: map[string]string{}}
			}
			r.commits.attempt[b.BatchID] = b.AttemptID
		}
		st.version(schemaName(b.SchemaVersion))
		st.records++
		fn(b)
	}
	var take func(*fileState) func([]byte, int) bool
	if fastMetrics {
		// A line in the shape record writes is decoded as it is framed.
		take = func(st *fileState) func([]byte, int) bool {
			return func(line []byte, n int) bool {
				into, plats := target()
				if into == nil {
					into, plats = &model.BatchRun{}, make(map[string]model.Counts, 16)
				}
				if !fastBatchRun(line, r.in, display, n, into, plats, &r.slabs) {
					return false
				}
				handle(into, jsonlite.Frame{Data: line, Line: n, Lines: 1}, st)
				return true
			}
		}
	}
	var lead func(io.Reader, *fileState) (Span, io.Reader)
	if fastMetrics && !r.opts.KeepRaw {
		lead = func(f io.Reader, st *fileState) (Span, io.Reader) {
			return metricsLead(f, display, r.opts.Reuse, func(b *model.BatchRun, line int) {
				handle(b, jsonlite.Frame{Line: line, Lines: 1}, st)
			})
		}
	}
	return r.fileLeading(name, "metrics", lead, take, func(dec *jsonlite.Decoder, fr jsonlite.Frame, st *fileState) {
		into, plats := target()
		b, err := decodeBatchRun(dec, r.in, display, fr.Line, into, plats)
		if err != nil {
			r.decodeProblem(name, dec, fr, err)
			return
		}
		handle(b, fr, st)
	})
}

// FailureFile reads one failures file (a path within the reader's FS). Only
// committed failure records reach fn; the others are counted as uncommitted.
func (r *Reader) FailureFile(name string, fn func(*model.Failure)) error {
	commits, err := r.Commits()
	if err != nil {
		return err
	}
	if r.opts.Copies == nil {
		r.opts.Copies = NewCopies()
	}
	copies := r.opts.Copies
	cursor := copies.cursor(copies.fileIndex(r.display(name)))
	inner := fn
	// A batch's records come together: the commit rule is applied once
	// per batch and attempt met in a row.
	var lastBatch, lastAttempt, lastWhy string
	check := func(f *model.Failure) string {
		if f.SchemaVersion < model.SchemaVersion || f.BatchID == "" {
			return commits.Check(f)
		}
		if lastBatch == "" || f.BatchID != lastBatch || f.AttemptID != lastAttempt {
			lastBatch, lastAttempt, lastWhy = f.BatchID, f.AttemptID, commits.Check(f)
		}
		return lastWhy
	}
	fn = func(f *model.Failure) {
		if why := check(f); why != "" {
			if r.opts.OnUncommitted != nil {
				r.opts.OnUncommitted(f)
			}
			r.addUncommitted(Problem{File: f.Source.File, Line: f.Source.Line, Message: why})
			return
		}
		if at, dup := cursor.repeated(f); dup {
			r.problem(at.file, at.line, "failure record of batch %s repeated (the same record is also elsewhere, a copied line or file); counted once", f.BatchID)
			return
		}
		inner(f)
	}
	fd := failureDecoder{file: r.display(name), skipMessages: r.opts.SkipMessages, in: r.in, reuse: r.opts.Reuse, keepRaw: r.opts.KeepRaw}
	var take func(*fileState) func([]byte, int) bool
	if fastFailures {
		// A line in the shape record writes is decoded as it is framed.
		only := []byte(r.opts.OnlyBatch)
		take = func(st *fileState) func([]byte, int) bool {
			return func(line []byte, n int) bool {
				if len(only) > 0 && otherBatch(line, only) {
					return true
				}
				if r.opts.PassOver != nil {
					if b, p, ok := linePackageID(line); ok && r.opts.PassOver(b, p) {
						return true
					}
				}
				if r.opts.BatchIDs != nil {
					if id, ok := lineBatchID(line); ok {
						r.opts.BatchIDs(string(id))
						return true
					}
				}
				fr := jsonlite.Frame{Data: line, Line: n, Lines: 1}
				fd.frame = fr
				if !fd.fastFailure(fr, fn) {
					return false
				}
				st.records++
				st.version("v2")
				return true
			}
		}
	}
	return r.fileTaking(name, "failures", take, func(dec *jsonlite.Decoder, fr jsonlite.Frame, st *fileState) {
		fd.frame = fr
		format, n, err := fd.decode(dec, fr.Line, fn, func(line int, msg string) {
			r.problem(r.display(name), line, "%s", msg)
		})
		st.records += n
		if err != nil {
			r.decodeProblem(name, dec, fr, err)
			return
		}
		st.version(format)
	})
}

// lineBatchID returns the batch ID a line certainly names, as its record
// would when decoded: the line begins as record writes it, with schema
// version 2 and a batch ID of printable ASCII without escapes, not empty (a
// record without a batch is matched by its time); no other key in it can be
// a batch ID (no other "batch_id" and no \u escape, which could spell one);
// and framing would return it alone (jsonlite.Alone), so that passing over
// it leaves the lines after it framed as before. ok is false for any other
// line, which must be decoded.
func lineBatchID(line []byte) (id []byte, ok bool) {
	const head = `{"schema_version":2,"batch_id":"`
	if !bytes.HasPrefix(line, []byte(head)) {
		return nil, false
	}
	rest := line[len(head):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return nil, false
	}
	value := rest[:end]
	for _, c := range value {
		// Printable ASCII, no escape: the bytes are the decoded ID.
		if c < 0x20 || c > 0x7e || c == '\\' {
			return nil, false
		}
	}
	rest = rest[end:]
	if bytes.Contains(rest, []byte(`"batch_id"`)) || bytes.Contains(rest, []byte(`\u`)) || !jsonlite.Alone(line) {
		return nil, false
	}
	return value, true
}

// linePackageID returns the batch ID and the package ID a failure line
// certainly names: its batch ID is certain (lineBatchID, which also makes
// sure that the line frames alone and holds no \u escape), and it has one
// "package_id" key, whose value is printable ASCII without escapes and
// names its ecosystem (eco:name: a bare name is completed when decoded).
// ok is false for any other line, which must be decoded.
func linePackageID(line []byte) (batchID, pkg []byte, ok bool) {
	batchID, ok = lineBatchID(line)
	if !ok {
		return nil, nil, false
	}
	const key = `"package_id":"`
	at := bytes.Index(line, []byte(key))
	if at < 0 || bytes.Count(line, []byte(`"package_id"`)) != 1 {
		return nil, nil, false
	}
	rest := line[at+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return nil, nil, false
	}
	for _, c := range rest[:end] {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return nil, nil, false
		}
	}
	// A bare name is given its ecosystem when decoded: only an ID that
	// names its ecosystem ("eco:name") is the record's as it stands.
	if colon := bytes.IndexByte(rest[:end], ':'); colon <= 0 {
		return nil, nil, false
	}
	return batchID, rest[:end], true
}

// otherBatch reports whether a failure line certainly names a batch other
// than id (lineBatchID).
func otherBatch(line, id []byte) bool {
	v, ok := lineBatchID(line)
	return ok && !bytes.Equal(v, id)
}

// schemaName names a schema version as file statistics do ("v2").
func schemaName(v int) string {
	switch v {
	case 0:
		return "v0"
	case 1:
		return "v1"
	case 2:
		return "v2"
	}
	return fmt.Sprintf("v%d", v)
}

type fileState struct {
	records int
	formats map[string]bool
	multi   bool // some object spans several lines
}

func (s *fileState) version(v string) {
	if s.formats == nil {
		s.formats = map[string]bool{}
	}
	s.formats[v] = true
}

func (r *Reader) decodeProblem(name string, dec *jsonlite.Decoder, fr jsonlite.Frame, err error) {
	line := fr.Line
	if se, ok := err.(*jsonlite.SyntaxError); ok {
		if !se.EOF {
			line = se.Line
		}
	} else if le, ok := err.(lineError); ok {
		line = le.line
	}
	r.problem(r.display(name), line, "%s", err.Error())
}

type lineError struct {
	line int
	msg  string
}

func (e lineError) Error() string { return e.msg }

func (r *Reader) file(name, kind string, each func(*jsonlite.Decoder, jsonlite.Frame, *fileState)) error {
	return r.fileTaking(name, kind, nil, each)
}

// fileTaking is file with a Framer.Take made for the file's state.
func (r *Reader) fileTaking(name, kind string, take func(*fileState) func([]byte, int) bool, each func(*jsonlite.Decoder, jsonlite.Frame, *fileState)) error {
	return r.fileLeading(name, kind, nil, take, each)
}

// fileLeading is fileTaking with a lead: when the file is large and read
// whole from its start, lead reads as much of it as it can (metricsLead)
// and returns how far it took the file and the stream to frame from there.
func (r *Reader) fileLeading(name, kind string, lead func(io.Reader, *fileState) (Span, io.Reader), take func(*fileState) func([]byte, int) bool, each func(*jsonlite.Decoder, jsonlite.Frame, *fileState)) error {
	f, err := r.fsys.Open(name)
	if err != nil {
		r.problem(r.display(name), 0, "not read: %s", unwrapPathError(err))
		return nil
	}
	defer f.Close()
	var from Span
	if r.opts.Resume != nil {
		from = r.opts.Resume(name)
	}
	st := &fileState{}
	var in io.Reader = f
	if lead != nil && r.opts.Resume == nil && r.opts.Spans == nil {
		if info, err := f.Stat(); err == nil && info.Size() >= leadMin {
			// The framer reads on from where the lead stopped: the bytes
			// it read and did not take, then the rest of the stream.
			from, in = lead(f, st)
		}
	}
	if r.opts.Resume != nil && from.End > 0 {
		if sk, ok := f.(io.Seeker); ok {
			_, err = sk.Seek(from.End, io.SeekStart)
		} else {
			_, err = io.CopyN(io.Discard, f, from.End)
		}
		if err != nil {
			r.problem(r.display(name), 0, "not read: %s", unwrapPathError(err))
			return nil
		}
	}
	var prog *progress
	problemsBefore := len(r.problems) + r.droppedProblems
	if r.opts.Spans != nil {
		prog = &progress{r: f, pos: from.End, crc: from.CRC, span: from}
		in = prog
	}
	fr := jsonlite.NewFramer(in)
	fr.SetLine(from.Lines)
	dec := jsonlite.NewDecoder(nil, 1)
	if take != nil {
		t := take(st)
		fr.Take = func(line []byte, n int) bool {
			// The framing problems of the lines before come first, as
			// they would before a frame Next returned.
			for _, p := range fr.Problems() {
				r.problem(r.display(name), p.Line, "%s", p.Msg)
			}
			return t(line, n)
		}
	}
	for {
		frame, ok := fr.Next()
		for _, p := range fr.Problems() {
			r.problem(r.display(name), p.Line, "%s", p.Msg)
		}
		if !ok {
			break
		}
		if frame.Lines > 1 {
			st.multi = true
		}
		dec.Reset(frame.Data, frame.Line)
		each(dec, frame, st)
	}
	if err := fr.Err(); err != nil && err != io.EOF {
		r.problem(r.display(name), fr.Line(), "reading stopped: %s", unwrapPathError(err))
	}
	formats := make([]string, 0, len(st.formats))
	for v := range st.formats {
		formats = append(formats, v)
	}
	sort.Strings(formats)
	layout := "one object per line"
	if st.multi {
		layout = "pretty-printed"
	}
	format := strings.Join(formats, "+")
	if format == "" {
		format = "empty"
	}
	r.files = append(r.files, FileStat{Path: r.display(name), Kind: kind, Format: format + ", " + layout, Records: st.records})
	if prog != nil && fr.Err() == nil {
		clean := !st.multi && prog.pos == prog.span.End && len(r.problems)+r.droppedProblems == problemsBefore
		r.opts.Spans(name, prog.span, clean)
	}
	return nil
}
