package record

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/store"
)

// Written says what Append wrote.
type Written struct {
	BatchID string
	Files   []WrittenFile
	// Already is true when the batch was committed before, with the same
	// results (a retry): nothing was written.
	Already bool
	// Where names the record that committed an already recorded batch.
	Where string
}

// WrittenFile is one file appended to and the records it received.
type WrittenFile struct {
	Path    string
	Records int
}

// AppendOptions tune Append.
type AppendOptions struct {
	// PerRun writes one metrics and one failures file per batch.
	PerRun bool
	// Identity names the CI run doing the write (see CIIdentity); automatic
	// batch IDs are made from it, so a retry of the same step finds the
	// batch it committed. "" makes them random.
	Identity string
	// TimestampGiven says the batch's time was given (--timestamp), not
	// taken from the clock: then only a committed batch with the same
	// results at exactly that time is taken for an earlier attempt.
	TimestampGiven bool
	// Rand supplies attempt tokens and random batch IDs (default
	// crypto/rand); tests set it for stable output.
	Rand io.Reader
	// NoCache leaves the checkpoint of batch IDs in the data directory's
	// cache unread and unwritten (BATCHSLI_CACHE=off).
	NoCache bool
}

// ErrRecordedDifferently is returned when the batch ID is committed with
// other results.
var ErrRecordedDifferently = errors.New("already recorded with different results")

// Append commits a batch's records into dir under the exclusive lock,
// following the commit protocol of docs/STORAGE.md:
//
//  1. every failure record gets the batch ID and a fresh attempt token, and
//     is appended and synced to failures/ first;
//  2. the outcome record (every recipe's outcome per platform), with the
//     same token, is appended and synced to outcomes/;
//  3. the batch-run record, with the same token and a digest of the results,
//     is appended and synced to metrics/ last. The batch is committed exactly
//     when this record is whole on disk; readers count a failure record only
//     when its batch is committed by its attempt.
//
// A batch ID already committed with the same digest is a retry: nothing is
// written and Written.Already is set. With different results it is refused.
// An automatic ID never reuses one that appears anywhere in the data. On any
// error before the commit nothing is left written (files are rolled back);
// writes never leave the data directory through a symbolic link.
func Append(ctx context.Context, dir string, run *model.BatchRun, failures []*model.Failure, outcomes *model.Outcomes, o AppendOptions) (Written, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Written{}, fmt.Errorf("record: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Written{}, fmt.Errorf("record: %w", err)
	}
	defer root.Close()
	for _, sub := range []string{"metrics", "failures", "outcomes"} {
		if err := root.Mkdir(sub, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return Written{}, fmt.Errorf("record: %s: %w", filepath.Join(dir, sub), escapeErr(err))
		}
		if st, err := root.Stat(sub); err != nil || !st.IsDir() {
			if err == nil {
				err = errors.New("not a folder")
			}
			return Written{}, fmt.Errorf("record: %s: %w (nothing was recorded)", filepath.Join(dir, sub), escapeErr(err))
		}
	}
	unlock, err := store.Lock(ctx, dir)
	if err != nil {
		return Written{}, fmt.Errorf("record: %w (nothing was recorded)", err)
	}
	defer unlock()
	if err := store.Recover(root); err != nil {
		return Written{}, fmt.Errorf("record: finishing an interrupted compaction: %w (nothing was recorded)", err)
	}

	var cache *store.Cache
	if !o.NoCache {
		cache = store.OpenCache(dir)
		defer cache.Close()
	}
	// The checkpoint of what was read is kept when record returns, or,
	// once the batch is written, the one of what is there then.
	ids, err := scanIDsFrom(root, dir, cache, nil, nil)
	if err != nil {
		return Written{}, err
	}
	refreshed := false
	defer func() {
		if !refreshed {
			ids.keep(cache, dir)
		}
	}()
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	digest := Digest(run, failures, outcomes)
	id := run.BatchID
	if id == "" {
		if cid, c, ok := ids.retryOf(run, digest, ciSuffix(o.Identity, digest), o.TimestampGiven); ok {
			return Written{BatchID: cid, Already: true, Where: c.where()}, nil
		}
	}
	switch {
	case id == "":
		id, err = newBatchID(ids, run, ciSuffix(o.Identity, digest), o.Rand)
		if err != nil {
			return Written{}, err
		}
	default:
		if c, ok := ids.committedAs(id); ok {
			if c.digest != "" && c.digest == digest {
				return Written{BatchID: id, Already: true, Where: c.where()}, nil
			}
			return Written{}, fmt.Errorf("record: batch %s is %w in %s (use --batch-id to record a new batch)", id, ErrRecordedDifferently, c.where())
		}
	}
	run.BatchID = id
	run.Digest = digest
	run.AttemptID = newToken(o.Rand)
	metricsName := "batch-runs.jsonl"
	if o.PerRun {
		metricsName = "batch-runs-" + id + ".jsonl"
	}

	// Lay out every file's bytes before touching any file.
	type target struct {
		rel  string
		data bytes.Buffer
		n    int
	}
	var order []string
	targets := map[string]*target{}
	add := func(rel string, v any) error {
		t := targets[rel]
		if t == nil {
			t = &target{rel: rel}
			targets[rel] = t
			order = append(order, rel)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		t.data.Write(b)
		t.data.WriteByte('\n')
		t.n++
		return nil
	}
	for _, f := range failures {
		f.BatchID = id
		f.AttemptID = run.AttemptID
		name := f.Ecosystem + ".jsonl"
		if o.PerRun {
			name = f.Ecosystem + "-" + id + ".jsonl"
		}
		if err := add(path.Join("failures", name), f); err != nil {
			return Written{}, fmt.Errorf("record: %w", err)
		}
	}
	if outcomes != nil {
		outcomes.BatchID, outcomes.AttemptID, outcomes.Timestamp = id, run.AttemptID, run.Timestamp
		name := "outcomes.jsonl"
		if o.PerRun {
			name = "outcomes-" + id + ".jsonl"
		}
		if err := add(path.Join("outcomes", name), outcomes); err != nil {
			return Written{}, fmt.Errorf("record: %w", err)
		}
	}
	// The batch-run record goes last: it is the commit.
	if err := add(path.Join("metrics", metricsName), run); err != nil {
		return Written{}, fmt.Errorf("record: %w", err)
	}
	files := map[string][]byte{}
	for rel, t := range targets {
		files[rel] = t.data.Bytes()
	}
	if err := readsBack(files, len(failures), outcomes != nil); err != nil {
		return Written{}, fmt.Errorf("record: %w (nothing was recorded)", err)
	}
	if err := ctx.Err(); err != nil {
		return Written{}, fmt.Errorf("record: %w (nothing was recorded)", err)
	}

	leave := store.EnterCritical()
	defer leave()
	// What the checkpoint after the batch may vouch for: each file as the
	// scan left it (a file written to since, by a program that ignores
	// the lock, is not vouched for), then as this record leaves it.
	expect := map[string]string{}
	if ids.next != nil {
		now := time.Now()
		for i, f := range ids.next.files {
			if id, _, ok := store.FileIdentity(root.FS(), f.path, now); f.ident != "" && ok && id == f.ident {
				expect[f.path] = id
			} else {
				ids.next.files[i].ident = ""
			}
		}
	}
	var done []undo
	w := Written{BatchID: id}
	for _, rel := range order {
		t := targets[rel]
		u, err := appendFile(root, dir, t.rel, t.data.Bytes())
		if err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				done[i].rollback(root)
			}
			return Written{}, fmt.Errorf("record: %w (nothing was recorded)", err)
		}
		done = append(done, u)
		w.Files = append(w.Files, WrittenFile{Path: filepath.Join(dir, filepath.FromSlash(t.rel)), Records: t.n})
		if id, _, ok := store.FileIdentity(root.FS(), t.rel, time.Now()); ok {
			expect[t.rel] = id
		} else {
			delete(expect, t.rel)
		}
	}
	notePrefixes(dir, ids.next, refreshIDs(root, dir, cache, ids, expect))
	refreshed = true
	// The batch is committed: a data directory without a .gitignore gets
	// one, so that "git add data" leaves the lock files and the cache out.
	store.EnsureIgnore(dir)
	return w, nil
}

// readsBack checks that the records about to be written read back whole, as
// committed, with no problem: record never writes what its reader rejects.
func readsBack(files map[string][]byte, nFailures int, withOutcomes bool) error {
	fsys := fstest.MapFS{}
	for rel, b := range files {
		fsys[rel] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	r := reader.New(fsys, "", reader.Options{SkipMessages: true})
	runs, fails, outs := 0, 0, 0
	err := r.Metrics(func(*model.BatchRun) { runs++ })
	if err == nil {
		err = r.Failures(func(*model.Failure) { fails++ })
	}
	if err == nil {
		err = r.Outcomes(func(*model.Outcomes) { outs++ })
	}
	if err != nil {
		return err
	}
	if ps, _ := r.Problems(); len(ps) > 0 {
		return fmt.Errorf("the records would not read back: %s", ps[0].Message)
	}
	wantOuts := 0
	if withOutcomes {
		wantOuts = 1
	}
	if us, _ := r.Uncommitted(); len(us) > 0 || runs != 1 || fails != nFailures || outs != wantOuts {
		return fmt.Errorf("the records would not read back whole (%d batch, %d of %d failures, %d of %d outcome records)", runs, fails, nFailures, outs, wantOuts)
	}
	return nil
}

// Digest is the hex SHA-256 of a batch's results: its counts, its failure
// records and its outcomes, without times, batch ID or attempt token, so a
// retry with the same results has the same digest.
func Digest(run *model.BatchRun, failures []*model.Failure, outcomes *model.Outcomes) string {
	r := *run
	r.BatchID, r.AttemptID, r.Digest = "", "", ""
	r.Timestamp = model.BatchRun{}.Timestamp
	fs := make([]model.Failure, len(failures))
	for i, f := range failures {
		fs[i] = *f
		fs[i].BatchID, fs[i].AttemptID = "", ""
		fs[i].Timestamp = r.Timestamp
	}
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Environment != b.Environment {
			return a.Environment < b.Environment
		}
		return a.PackageID < b.PackageID
	})
	h := sha256.New()
	json.NewEncoder(h).Encode(r)
	json.NewEncoder(h).Encode(fs)
	if outcomes != nil {
		o := *outcomes
		o.BatchID, o.AttemptID, o.Timestamp = "", "", r.Timestamp
		json.NewEncoder(h).Encode(&o)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newToken(r io.Reader) string {
	b := make([]byte, 16)
	io.ReadFull(r, b)
	return hex.EncodeToString(b)
}

type undo struct {
	rel     string
	size    int64
	created bool
}

func (u undo) rollback(root *os.Root) {
	if u.created {
		root.Remove(u.rel)
		return
	}
	if f, err := root.OpenFile(u.rel, os.O_WRONLY, 0); err == nil {
		f.Truncate(u.size)
		f.Sync()
		f.Close()
	}
}

// appendFile appends data in one write and syncs it (and, for a new file,
// its folder). A file whose last byte is not a newline (a torn write) gets
// one first, so the torn line stays alone. It refuses anything but a
// regular file, and never follows a link out of the data directory.
func appendFile(root *os.Root, dir, rel string, data []byte) (undo, error) {
	shown := filepath.Join(dir, filepath.FromSlash(rel))
	_, statErr := root.Lstat(rel)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := root.OpenFile(rel, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return undo{}, fmt.Errorf("%s: %w", shown, escapeErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return undo{}, fmt.Errorf("%s: %w", shown, err)
	}
	if !st.Mode().IsRegular() {
		return undo{}, fmt.Errorf("%s: not a regular file", shown)
	}
	u := undo{rel: rel, size: st.Size(), created: created}
	if st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil && err != io.EOF {
			return undo{}, fmt.Errorf("%s: %w", shown, err)
		}
		if last[0] != '\n' {
			data = append([]byte{'\n'}, data...)
		}
	}
	if _, err := f.Write(data); err != nil {
		u.rollback(root)
		return undo{}, fmt.Errorf("%s: %w", shown, err)
	}
	if err := f.Sync(); err != nil {
		u.rollback(root)
		return undo{}, fmt.Errorf("%s: %w", shown, err)
	}
	if created {
		if err := store.SyncDirAt(root, path.Dir(rel)); err != nil {
			u.rollback(root)
			return undo{}, fmt.Errorf("%s: %w", shown, err)
		}
	}
	return u, nil
}

// escapeErr explains os.Root's refusal to follow a link out of the data
// directory.
func escapeErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "escapes from parent") {
		return fmt.Errorf("a symbolic link leads out of the data directory; batchsli writes only inside it (%w)", err)
	}
	return err
}

type committedBatch struct {
	digest string
	ts     time.Time
	// file and line place the record (the first of its ID is the one).
	file string
	line int
}

// where places the batch's record: file:line.
func (c committedBatch) where() string { return fmt.Sprintf("%s:%d", c.file, c.line) }

// RetryWindow is how close in time a committed batch with the same results
// must be for a record without batch ID, CI identity or --timestamp to take
// it for its own earlier attempt.
const RetryWindow = 6 * time.Hour

// ciSuffix is the end of a CI batch's automatic ID: the run's identity and
// the results' digest, so two jobs of one step (matrix legs) with different
// results never share an ID, and a retry with the same results finds it.
func ciSuffix(identity, digest string) string {
	if identity == "" {
		return ""
	}
	return identity + "-" + digest[:6]
}

// retryOf finds the batch an automatic-ID record already committed: in CI,
// the batch of the same step with the same results (whatever the date, and
// whether or not a crash made its ID take a .N); elsewhere, a batch with the
// same results (digest) at the same time, or within RetryWindow when the
// time was not given.
func (s idSet) retryOf(run *model.BatchRun, digest, suffix string, exact bool) (string, committedBatch, bool) {
	// The batches with these results, in ID order.
	var ids []string
	for cid, c := range s.fresh {
		if c.digest == digest {
			ids = append(ids, cid)
		}
	}
	s.base.withDigest(digest, func(id string) {
		// A batch read since the checkpoint replaces its entry.
		if !hasKey(s.fresh, id) {
			ids = append(ids, id)
		}
	})
	sort.Strings(ids)
	for _, cid := range ids {
		c, _ := s.committedAs(cid)
		if suffix != "" {
			if hasSuffixN(cid, "-"+run.Ecosystem+"-"+suffix) {
				return cid, c, true
			}
			continue
		}
		d := c.ts.Sub(run.Timestamp)
		if d == 0 || !exact && d <= RetryWindow && d >= -RetryWindow {
			return cid, c, true
		}
	}
	return "", committedBatch{}, false
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// hasSuffixN reports whether id ends in suffix, or in suffix.N.
func hasSuffixN(id, suffix string) bool {
	i := strings.LastIndex(id, suffix)
	if i < 0 {
		return false
	}
	rest := id[i+len(suffix):]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for _, c := range rest[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

type idSet struct {
	// committed holds the v2 batches committed, by ID: those a checkpoint
	// read (base, its two sorted tables read in place) and those read
	// after it (fresh, which take a base entry's place: the first record
	// of an ID in file and line order counts).
	base  idLayers
	fresh map[string]committedBatch
	// seen holds every other batch ID named anywhere: by failure and
	// outcome records, uncommitted ones too, and v1 batch-run records.
	seen map[string]bool
	// resumed is true when a checkpoint was read on from; next is the
	// checkpoint written, if one was.
	resumed bool
	next    *checkpoint
}

// has reports whether any record names batch ID id.
func (s idSet) has(id string) bool {
	_, ok := s.committedAs(id)
	return ok || s.seen[id]
}

// committedAs returns committed batch id's record, if it is one.
func (s idSet) committedAs(id string) (committedBatch, bool) {
	if c, ok := s.fresh[id]; ok {
		return c, true
	}
	return s.base.get(id)
}

// scanIDs reads every batch ID in the data: committed v2 batches with their
// digests, and every ID any record names, uncommitted failure records too.
// scanShortcut lets scanIDs take batch IDs from lines without decoding
// them; tests turn it off to compare.
var scanShortcut = true

func scanIDs(root *os.Root, dir string, cache *store.Cache) (idSet, error) {
	s, err := scanIDsFrom(root, dir, cache, nil, nil)
	s.keep(cache, dir)
	return s, err
}

// scanIDsFrom is scanIDs read on from checkpoint from, taken as it is
// (nil: the one kept, when it is still good): for record, which wrote
// only appends under its lock since it read that one (refreshIDs).
func scanIDsFrom(root *os.Root, dir string, cache *store.Cache, from *checkpoint, expect map[string]string) (idSet, error) {
	s := idSet{fresh: map[string]committedBatch{}, seen: map[string]bool{}}
	// The data's files now, in reading order: a checkpoint is used only if
	// every file it read is among them, unchanged up to where it read.
	lister := reader.New(root.FS(), dir, reader.Options{MaxProblems: 1})
	files, err := lister.DataFiles()
	if err != nil {
		return s, fmt.Errorf("record: reading recorded batches: %w", err)
	}
	listed := map[string]bool{}
	for _, f := range files {
		listed[f] = true
	}
	// Each file's identity before it is read: the checkpoint keeps it only
	// when the file still has it after (nothing wrote to it meanwhile, not
	// even a writer that ignores the lock).
	before := map[string]string{}
	if cache != nil {
		for _, f := range files {
			if id, ok := store.StableIdentity(root.FS(), f); ok {
				before[f] = id
			}
		}
	}
	ck := from
	if ck == nil && cache != nil {
		ck = loadCheckpoint(cache, root, dir, listed)
	}
	// Read on from a checkpoint taken as it is, a file that had no
	// identity in it (it changed while that checkpoint's reading read it)
	// gets none now either: what was read of it before is not vouched for.
	untrusted := map[string]bool{}
	if from != nil {
		for _, f := range from.files {
			if f.ident == "" || before[f.path] != expect[f.path] {
				untrusted[f.path] = true
			}
		}
	}
	if ck != nil {
		s.seen = make(map[string]bool, len(ck.seen)+64)
	}
	spanOf := map[string]reader.Span{}
	if ck != nil {
		for _, f := range ck.files {
			spanOf[f.path] = f.span
		}
	}
	var mu sync.Mutex
	spans := map[string]reader.Span{}
	whole := cache != nil // every file read to its end, one record per line
	add := func(id string) {
		mu.Lock()
		s.seen[id] = true
		mu.Unlock()
	}
	opts := reader.Options{SkipMessages: true, MaxProblems: 1, Reuse: true,
		OnUncommitted:         func(f *model.Failure) { add(f.BatchID) },
		OnUncommittedOutcomes: func(o *model.Outcomes) { add(o.BatchID) },
		Resume:                func(p string) reader.Span { return spanOf[p] },
		Spans: func(p string, end reader.Span, clean bool) {
			mu.Lock()
			spans[p] = end
			whole = whole && clean
			mu.Unlock()
		}}
	if scanShortcut {
		// The failure and outcome lines in record's shape give their batch
		// IDs without being decoded: a superset of what decoding gives (an
		// ID named by a line the reader would reject is avoided too).
		opts.BatchIDs = add
	}
	r := reader.New(root.FS(), dir, opts)
	err = r.Metrics(func(b *model.BatchRun) {
		s.seen[b.BatchID] = true
		if b.SchemaVersion == model.SchemaVersion {
			if _, ok := s.fresh[b.BatchID]; !ok { // the first record of an ID counts
				s.fresh[b.BatchID] = committedBatch{digest: b.Digest, ts: b.Timestamp, file: b.Source.File, line: b.Source.Line}
			}
		}
	})
	if err == nil {
		sets := make([]map[string]bool, max(1, runtime.GOMAXPROCS(0)))
		fns := make([]func(*model.Failure), len(sets))
		for w := range sets {
			set := map[string]bool{}
			sets[w] = set
			fns[w] = func(f *model.Failure) {
				if f.BatchID != "" {
					set[f.BatchID] = true
				}
			}
		}
		err = r.FailuresParallel(fns)
		for _, set := range sets {
			for id := range set {
				s.seen[id] = true
			}
		}
	}
	if err == nil {
		err = r.Outcomes(func(*model.Outcomes) {})
	}
	if err != nil {
		return s, fmt.Errorf("record: reading recorded batches: %w", err)
	}
	if ck != nil {
		s.resumed = true
		// What the checkpoint read, with what was read after it: of two
		// records of one batch, the first in file and line order counts,
		// as one reading of everything has it.
		for _, id := range ck.seen {
			s.seen[id] = true
		}
		order := map[string]int{}
		for i, f := range files {
			order[lister.Display(f)] = i
		}
		s.base = ck.committed
		for id, c := range s.fresh {
			if b, ok := s.base.get(id); ok && (order[b.file] < order[c.file] || order[b.file] == order[c.file] && b.line < c.line) {
				delete(s.fresh, id)
			}
		}
	}
	for id := range s.seen {
		if _, ok := s.committedAs(id); ok {
			delete(s.seen, id)
		}
	}
	if afterIDRead != nil {
		afterIDRead()
	}
	if whole && len(spans) == len(files) {
		next := &checkpoint{}
		now := time.Now()
		for _, f := range files {
			m, ok := reader.PrefixMark(root.FS(), f, spans[f].End)
			if !ok {
				return s, nil
			}
			ident, _, _ := store.FileIdentity(root.FS(), f, now)
			if ident != before[f] || untrusted[f] {
				ident = ""
			}
			next.files = append(next.files, checkpointFile{path: f, span: spans[f], mark: m, ident: ident})
		}
		next.seen = make([]string, 0, len(s.seen))
		for id := range s.seen {
			next.seen = append(next.seen, id)
		}
		next.committed = s.base.merge(s.fresh)
		s.next = next
	}
	return s, nil
}

// keep stores the checkpoint scanIDsFrom made, if it made one.
func (s idSet) keep(cache *store.Cache, dir string) {
	if cache != nil && s.next != nil {
		// The checkpoint names its lower table by a token: a reader between
		// the two writes finds them apart and reads the data. The checkpoint
		// goes first, as the cache removes a lower table stored without one.
		cache.Put(idsKind, idsKey(dir), s.next.encode())
		if l := s.next.committed; l.lowerNew {
			cache.Put(idsBaseKind, idsKey(dir), encodeLower(l.lower, l.token))
		}
	}
}

// afterIDRead, when set, runs once scanIDsFrom has read the files (tests
// write to them there).
var afterIDRead func()

// notePrefixes notes, for readers later in the process, each file's bytes
// read and checked under the lock before the batch was appended (before's
// spans), with the file's identity once appended (after's, taken when its
// times had settled and the same once it was read: any later write changes
// it); a file that changed while it was read, either time, is not noted.
func notePrefixes(dir string, before, after *checkpoint) {
	if before == nil || after == nil {
		return
	}
	now := map[string]string{}
	for _, f := range after.files {
		now[f.path] = f.ident
	}
	for _, f := range before.files {
		if f.ident != "" && now[f.path] != "" {
			store.NotePrefix(dir, f.path, f.span.End, f.span.CRC, now[f.path])
		}
	}
}

// refreshIDs keeps the checkpoint of batch IDs up to date after record
// appended a batch under its lock: the files read on from s's checkpoint
// (the bytes before were read and checked under the same lock), so that
// the next record finds them as they are now; a file whose identity is not
// the one expect holds (as record left it) is not vouched for. The cache is best effort:
// an error leaves the checkpoint as it was. It returns the checkpoint
// written, if it wrote one.
func refreshIDs(root *os.Root, dir string, cache *store.Cache, s idSet, expect map[string]string) *checkpoint {
	if cache == nil || s.next == nil {
		return nil
	}
	if now, err := scanIDsFrom(root, dir, cache, s.next, expect); err == nil && now.next != nil {
		now.keep(cache, dir)
		return now.next
	}
	s.keep(cache, dir)
	return nil
}

// newBatchID makes YYYY-MM-DD-ECO-SUFFIX: SUFFIX is the CI run's identity
// when there is one, else random, so runners that cannot see each other's
// files do not collide. An ID that appears anywhere in the data is never
// reused: a suffix is added, or another random one drawn.
func newBatchID(ids idSet, run *model.BatchRun, identity string, random io.Reader) (string, error) {
	prefix := run.Timestamp.UTC().Format("2006-01-02") + "-" + run.Ecosystem + "-"
	if identity != "" {
		id := prefix + identity
		for n := 2; ids.has(id); n++ {
			id = fmt.Sprintf("%s%s.%d", prefix, identity, n)
		}
		if !ValidBatchID(id) {
			return "", fmt.Errorf("record: the automatic batch ID %q is not valid; give one with --batch-id", id)
		}
		return id, nil
	}
	for range 100 {
		b := make([]byte, 4)
		io.ReadFull(random, b)
		id := prefix + hex.EncodeToString(b)
		if !ids.has(id) && ValidBatchID(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("record: could not make a batch ID; give one with --batch-id")
}

// CIIdentity names the CI run from its environment (getenv), or "" outside
// CI. In GitHub Actions it is gh<run id>-<run attempt>-<hash>, the hash
// covering the repository, workflow, job and step, so two steps (or two
// repositories) never share it while a retry of one step keeps it. Append
// adds the results' digest, which tells apart the legs of a matrix job.
func CIIdentity(getenv func(string) string) string {
	runID := getenv("GITHUB_RUN_ID")
	if runID == "" || !ValidBatchID(runID) {
		return ""
	}
	attempt := getenv("GITHUB_RUN_ATTEMPT")
	if attempt == "" || !ValidBatchID(attempt) {
		attempt = "1"
	}
	h := sha256.New()
	for _, k := range []string{"GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB", "GITHUB_ACTION"} {
		io.WriteString(h, getenv(k))
		h.Write([]byte{0})
	}
	return "gh" + runID + "-" + attempt + "-" + hex.EncodeToString(h.Sum(nil))[:6]
}
