// Package compact rewrites a data directory into its canonical layout: one
// metrics file per month and one failures file per ecosystem and month, one
// record per line, in time order. Outcome records (outcomes/, one line per
// batch) are left as they are. Records of uncommitted batches and lines
// no reader can use are moved aside into a quarantine file, never dropped.
// The new layout is built aside, verified to hold exactly the committed
// records of the old one (and to give the same report), and swapped in with
// store.Commit, so a crash at any point leaves one whole layout to read.
//
// It is the only writer besides record; docs/STORAGE.md describes both.
package compact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/store"
)

// Result says what a compaction did.
type Result struct {
	FilesBefore, FilesAfter int
	BatchRuns               int // committed batch-run records carried over
	FailureRecords          int // committed failure records carried over
	Quarantined             int // entries written to the quarantine file
	QuarantineFile          string
	CarriedOver             []string // entries kept as they were (not data, or not readable)
}

// MaxFile is the largest data file compaction reads, in bytes.
const MaxFile = 4 << 30

// Run compacts dir. It refuses to start while another process holds the
// lock; it is interrupted cleanly (nothing changed) until its commit point.
func Run(ctx context.Context, dir string, now time.Time) (*Result, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("compact: %s is not a folder", dir)
	}
	unlock, err := store.TryLock(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("compact: %w; try again when it is done", err)
	}
	defer unlock()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	defer root.Close()
	if err := store.Recover(root); err != nil {
		return nil, fmt.Errorf("compact: finishing an earlier compaction: %w", err)
	}

	c := &compactor{root: root, dir: dir, res: &Result{}}
	if err := c.read(ctx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compact: %w (nothing was changed)", err)
	}
	if err := c.stage(now); err != nil {
		root.RemoveAll(store.StagingDir)
		return nil, fmt.Errorf("compact: %w (nothing was changed)", err)
	}
	if err := c.verify(); err != nil {
		root.RemoveAll(store.StagingDir)
		return nil, fmt.Errorf("compact: %w (nothing was changed)", err)
	}
	if err := ctx.Err(); err != nil {
		root.RemoveAll(store.StagingDir)
		return nil, fmt.Errorf("compact: %w (nothing was changed)", err)
	}
	leave := store.EnterCritical()
	defer leave()
	if err := store.Commit(root); err != nil {
		return nil, fmt.Errorf("compact: %w (the new layout is committed; the next record or compact finishes putting it in place)", err)
	}
	return c.res, nil
}

// kept is one object carried into the new layout, as one line.
type kept struct {
	line  []byte
	ts    time.Time
	order int
	out   string // the output file, relative to the data directory
}

// aside is one quarantined stretch of lines.
type aside struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Lines  int    `json:"lines"`
	Reason string `json:"reason"`
	Text   string `json:"text"`
}

type compactor struct {
	root *os.Root
	dir  string
	res  *Result

	files      map[string][]byte // data files read whole, by path
	manifest   store.Manifest    // every entry read, for store.Recover
	carry      []string          // entries carried over unchanged
	metrics    []kept
	failures   []kept
	quarantine []aside
	before     digests
}

// digests fingerprint every committed record, to prove the new layout holds
// the same ones.
type digests struct {
	runs, failures []string
}

func (d *digests) sort() { sort.Strings(d.runs); sort.Strings(d.failures) }

func (d digests) equal(o digests) bool {
	return strings.Join(d.runs, ",") == strings.Join(o.runs, ",") &&
		strings.Join(d.failures, ",") == strings.Join(o.failures, ",")
}

func runDigest(b *model.BatchRun) string {
	c := *b
	c.Source = model.Source{}
	j, _ := json.Marshal(c)
	h := sha256.New()
	h.Write(j)
	ids := make([]string, 0, len(b.Platforms))
	for id, pc := range b.Platforms {
		if !pc.SkippedKnown {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	fmt.Fprintf(h, "\x00%q", ids)
	return fmt.Sprintf("%x", h.Sum(nil))
}

func failureDigest(f *model.Failure) string {
	c := *f
	c.Source = model.Source{}
	j, _ := json.Marshal(c)
	h := sha256.New()
	h.Write(j)
	fmt.Fprintf(h, "\x00%q", f.RawCategory)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// read lists metrics/ and failures/, reads every data file whole, and sorts
// each object into kept or quarantined.
func (c *compactor) read(ctx context.Context) error {
	c.files = map[string][]byte{}
	var metricsFiles, failureFiles []string
	for _, sub := range store.Replaced {
		ents, err := fs.ReadDir(c.root.FS(), sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		for _, e := range ents {
			p := path.Join(sub, e.Name())
			c.res.FilesBefore++
			if c.manifest == nil {
				c.manifest = store.Manifest{}
			}
			if d, err := store.Describe(c.root, p); err == nil {
				c.manifest[p] = d
			}
			if e.IsDir() {
				return fmt.Errorf("compact: %s is a folder; batchsli keeps none there: move it out first", filepath.Join(c.dir, filepath.FromSlash(p)))
			}
			isData := sub == "metrics" && strings.HasPrefix(e.Name(), "batch-runs") && strings.HasSuffix(e.Name(), ".jsonl") ||
				sub == "failures" && strings.HasSuffix(e.Name(), ".jsonl")
			if isData && sub == "metrics" && !safetext.Safe(e.Name()) {
				return fmt.Errorf("compact: %s cannot be read (its name is not valid UTF-8 or holds control characters); the failure records of its batches would look uncommitted: rename or move it first", filepath.Join(c.dir, "metrics", safetext.Escape(e.Name())))
			}
			if !isData || !safetext.Safe(e.Name()) {
				c.carry = append(c.carry, p)
				continue
			}
			data, err := c.readWhole(p)
			if err != nil && sub == "metrics" {
				return fmt.Errorf("compact: %s cannot be read (%v); the failure records of its batches would look uncommitted: fix or move it first", filepath.Join(c.dir, filepath.FromSlash(p)), err)
			}
			if err != nil {
				// Unreadable: kept as it is, where it is; validate lists it.
				c.carry = append(c.carry, p)
				continue
			}
			c.files[p] = data
			if st, err := c.root.Lstat(p); err == nil && st.Mode().IsRegular() {
				// What was read, not what is there a moment later.
				sum := sha256.Sum256(data)
				c.manifest[p] = store.Entry{Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
			}
			if sub == "metrics" {
				metricsFiles = append(metricsFiles, p)
			} else {
				failureFiles = append(failureFiles, p)
			}
		}
	}
	sort.Strings(metricsFiles)
	sort.Strings(failureFiles)
	c.res.CarriedOver = c.carry

	// Metrics: one reader over all files, as readers see them (a batch ID
	// recorded twice is kept once, in file order).
	mfs := fstest.MapFS{}
	for _, p := range metricsFiles {
		mfs[p] = &fstest.MapFile{Data: c.files[p]}
	}
	rd := reader.New(mfs, "", reader.Options{KeepRaw: true, MaxProblems: 1 << 30})
	covered := map[string]map[int]int{} // file -> start line -> lines
	order := 0
	err := rd.Metrics(func(b *model.BatchRun) {
		order++
		c.before.runs = append(c.before.runs, runDigest(b))
		c.metrics = append(c.metrics, kept{line: oneLine(b.Source.Raw), ts: b.Timestamp, order: order,
			out: "metrics/batch-runs-" + b.Timestamp.UTC().Format("2006-01") + ".jsonl"})
		cover(covered, b.Source)
	})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	probs, _ := rd.Problems()
	if err := refuseNewer(probs); err != nil {
		return err
	}
	commits, err := rd.Commits()
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	for _, p := range metricsFiles {
		c.setAside(p, covered[p], probs, nil)
	}

	// Failures: file by file, against the commits; a record repeated in a
	// later place is set aside.
	copies := reader.NewCopies()
	for _, p := range failureFiles {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("compact: %w (nothing was changed)", err)
		}
		cov := map[string]map[int]int{}
		uncommitted := map[int]string{}
		ffs := fstest.MapFS{p: &fstest.MapFile{Data: c.files[p]}}
		fr := reader.New(ffs, "", reader.Options{KeepRaw: true, MaxProblems: 1 << 30, Commits: commits, Copies: copies,
			OnUncommitted: func(f *model.Failure) {
				uncommitted[f.Source.Start] = commits.Check(f)
			}})
		last := -1
		err := fr.FailureFile(p, func(f *model.Failure) {
			order++
			c.before.failures = append(c.before.failures, failureDigest(f))
			if f.Source.Start == last {
				return // another entry of a grouped line already kept
			}
			last = f.Source.Start
			c.failures = append(c.failures, kept{line: oneLine(f.Source.Raw), ts: f.Timestamp, order: order,
				out: "failures/" + fileEcosystem(f.Ecosystem) + "-" + f.Timestamp.UTC().Format("2006-01") + ".jsonl"})
			cover(cov, f.Source)
		})
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		probs, _ := fr.Problems()
		if err := refuseNewer(probs); err != nil {
			return err
		}
		c.setAside(p, cov[p], probs, uncommitted)
	}
	c.before.sort()
	c.res.BatchRuns, c.res.FailureRecords = len(c.before.runs), len(c.before.failures)
	return nil
}

// fileEcosystem is the ecosystem as it goes into a file name: readers take a
// record's ecosystem from the record, so one that is not a plain name goes
// to a file named "other" and reads back the same.
func fileEcosystem(eco string) string {
	if eco == model.Mixed || eco == model.Unknown || model.ValidEcosystem(eco) {
		return eco
	}
	return "other"
}

// refuseNewer stops compaction when a record was written by a newer
// batchsli: this one would move it aside as unreadable.
func refuseNewer(probs []reader.Problem) error {
	for _, p := range probs {
		if reader.IsNewerSchema(p) {
			return fmt.Errorf("compact: %s: a record written by a newer batchsli; compact with that version", p)
		}
	}
	return nil
}

func (c *compactor) readWhole(p string) ([]byte, error) {
	st, err := fs.Stat(c.root.FS(), p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > MaxFile {
		return nil, errors.New("not a regular file of a readable size")
	}
	return fs.ReadFile(c.root.FS(), p)
}

func cover(m map[string]map[int]int, s model.Source) {
	if m[s.File] == nil {
		m[s.File] = map[int]int{}
	}
	m[s.File][s.Start] = s.Lines
}

// oneLine puts a JSON object on one line: a pretty-printed object has line
// breaks only between tokens.
func oneLine(raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') < 0 {
		return append([]byte(nil), raw...)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err == nil {
		return b.Bytes()
	}
	return bytes.ReplaceAll(raw, []byte("\n"), []byte(" "))
}

// setAside quarantines every non-blank line of file p outside the kept
// objects, each stretch with the reader's reason.
func (c *compactor) setAside(p string, kept map[int]int, probs []reader.Problem, uncommitted map[int]string) {
	lines := bytes.Split(c.files[p], []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	reasons := map[int]string{}
	for _, pr := range probs {
		if pr.File == p && pr.Line > 0 && reasons[pr.Line] == "" {
			reasons[pr.Line] = pr.Message
		}
	}
	for l, why := range uncommitted {
		reasons[l] = why
	}
	for i := 0; i < len(lines); {
		ln := i + 1
		if n, ok := kept[ln]; ok {
			i += max(n, 1)
			continue
		}
		if len(bytes.TrimSpace(lines[i])) == 0 {
			i++
			continue
		}
		// A stretch runs to the next kept object, blank line or reason.
		j := i + 1
		for j < len(lines) {
			if _, ok := kept[j+1]; ok || len(bytes.TrimSpace(lines[j])) == 0 || reasons[j+1] != "" {
				break
			}
			j++
		}
		why := reasons[ln]
		for k := ln; why == "" && k <= j; k++ {
			why = reasons[k]
		}
		if why == "" {
			why = "not a record any reader uses"
		}
		c.quarantine = append(c.quarantine, aside{File: p, Line: ln, Lines: j - i, Reason: why,
			Text: strings.ToValidUTF8(string(bytes.Join(lines[i:j], []byte("\n"))), "\uFFFD")})
		i = j
	}
}

// stage writes the new layout into the staging folder and syncs it, all
// through the data directory's os.Root.
func (c *compactor) stage(now time.Time) error {
	root := c.root
	if err := root.RemoveAll(store.StagingDir); err != nil {
		return err
	}
	for _, sub := range append([]string{store.QuarantineDir}, store.Replaced...) {
		if err := root.MkdirAll(path.Join(store.StagingDir, sub), 0o755); err != nil {
			return err
		}
	}
	sort.SliceStable(c.metrics, func(i, j int) bool {
		if !c.metrics[i].ts.Equal(c.metrics[j].ts) {
			return c.metrics[i].ts.Before(c.metrics[j].ts)
		}
		return c.metrics[i].order < c.metrics[j].order
	})
	out := map[string]*bytes.Buffer{}
	var names []string
	for _, group := range [][]kept{c.metrics, c.failures} {
		for _, k := range group {
			b := out[k.out]
			if b == nil {
				b = &bytes.Buffer{}
				out[k.out] = b
				names = append(names, k.out)
			}
			b.Write(k.line)
			b.WriteByte('\n')
		}
	}
	for _, name := range names {
		if err := store.WriteNew(root, path.Join(store.StagingDir, name), out[name].Bytes()); err != nil {
			return err
		}
	}
	for _, p := range c.carry {
		if _, dup := out[p]; dup {
			return fmt.Errorf("%s would be replaced by a compacted file of the same name; rename it first", filepath.Join(c.dir, filepath.FromSlash(p)))
		}
		if err := store.LinkOrCopy(root, p, path.Join(store.StagingDir, p)); err != nil {
			return err
		}
	}
	if len(c.quarantine) > 0 {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		for _, a := range c.quarantine {
			enc.Encode(a)
		}
		stamp := now.UTC().Format("20060102T150405Z")
		name := "compact-" + stamp + ".jsonl"
		for n := 1; ; n++ {
			if _, err := root.Lstat(path.Join(store.QuarantineDir, name)); errors.Is(err, fs.ErrNotExist) {
				break
			}
			name = fmt.Sprintf("compact-%s-%d.jsonl", stamp, n)
		}
		if err := store.WriteNew(root, path.Join(store.StagingDir, store.QuarantineDir, name), b.Bytes()); err != nil {
			return err
		}
		c.res.Quarantined = len(c.quarantine)
		c.res.QuarantineFile = filepath.Join(c.dir, store.QuarantineDir, name)
	}
	mb, err := json.Marshal(c.manifest)
	if err != nil {
		return err
	}
	if err := store.WriteNew(root, path.Join(store.StagingDir, store.ManifestName), mb); err != nil {
		return err
	}
	c.res.FilesAfter = len(names) + len(c.carry)
	for _, sub := range append([]string{store.QuarantineDir}, store.Replaced...) {
		if err := store.SyncDirAt(root, path.Join(store.StagingDir, sub)); err != nil {
			return err
		}
	}
	return nil
}

// verify reads the staged layout back: it must hold exactly the committed
// records read before, none uncommitted and no problem beyond those of the
// files carried over, and give the same report.
func (c *compactor) verify() error {
	var after digests
	sroot, err := c.root.OpenRoot(store.StagingDir)
	if err != nil {
		return err
	}
	defer sroot.Close()
	newFS := sroot.FS()
	rd := reader.New(newFS, "", reader.Options{})
	if err := rd.Metrics(func(b *model.BatchRun) { after.runs = append(after.runs, runDigest(b)) }); err != nil {
		return err
	}
	if err := rd.Failures(func(f *model.Failure) { after.failures = append(after.failures, failureDigest(f)) }); err != nil {
		return err
	}
	after.sort()
	if !after.equal(c.before) {
		return fmt.Errorf("verification failed: the new layout holds %d batch runs and %d failure records, the old %d and %d",
			len(after.runs), len(after.failures), len(c.before.runs), len(c.before.failures))
	}
	if us, more := rd.Uncommitted(); len(us)+more > 0 {
		return fmt.Errorf("verification failed: the new layout holds uncommitted records (%s)", us[0])
	}
	return sameReport(c.root.FS(), overlay{staged: newFS, live: c.root.FS()})
}

// overlay is the layout after the swap: the staged metrics/ and failures/,
// and everything else (outcomes/) as it is, which compaction leaves alone.
type overlay struct{ staged, live fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if name == "outcomes" || strings.HasPrefix(name, "outcomes/") {
		return o.live.Open(name)
	}
	return o.staged.Open(name)
}

// sameReport checks that the whole-history report (at the newest batch's
// time) is the same over both layouts, apart from the data directory's name
// and what is said about problems and uncommitted records.
func sameReport(before, after fs.FS) error {
	now := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	rd := reader.New(after, "", reader.Options{SkipMessages: true, Reuse: true})
	rd.Metrics(func(b *model.BatchRun) {
		if b.Timestamp.After(now) {
			now = b.Timestamp
		}
	})
	o := analyze.DefaultReportOptions(now)
	var js [2][]byte
	for i, fsys := range []fs.FS{before, after} {
		rep, err := analyze.BuildReport(fsys, "", o)
		if err != nil {
			return err
		}
		js[i], err = json.Marshal(analyze.Comparable(rep))
		if err != nil {
			return err
		}
	}
	if !bytes.Equal(js[0], js[1]) {
		return errors.New("verification failed: the report over the new layout differs from the report over the old")
	}
	return nil
}
