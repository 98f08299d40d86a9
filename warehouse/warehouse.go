// Package warehouse exports the records as tables for warehouses and
// spreadsheets: batch runs (one row per batch, platform and ecosystem) and
// failures (one row per failure record), Hive-partitioned by ecosystem and
// month, as Parquet or CSV (README, "Warehouses"; schemas in
// docs/WAREHOUSE.md). The JSONL records stay the source of truth: an
// export is derived and can be made again.
package warehouse

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/batchsli/batchsli/internal/atomicfile"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// SchemaVersion is the tables' schema version (docs/WAREHOUSE.md). It
// changes when a column changes meaning or goes; new columns are added
// within a version.
const SchemaVersion = 1

// RunRow is a row of batch_runs: a batch's counts on one platform for one
// ecosystem (the ecosystem is the partition key). Platform is as
// recorded; Env, Job and OS are it rolled up to the report's levels (env,
// the report's default: linux-glibc-x86_64; job: linux-x86_64; os:
// linux).
type RunRow struct {
	BatchID   string `parquet:"batch_id,dict"`
	Timestamp int64  `parquet:"timestamp,timestamp(millisecond)"`
	Platform  string `parquet:"platform,dict"`
	Env       string `parquet:"env,dict"`
	Job       string `parquet:"job,dict"`
	OS        string `parquet:"os,dict"`
	Tested    int64  `parquet:"tested"`
	Passed    int64  `parquet:"passed"`
	Failed    int64  `parquet:"failed"`
	Skipped   int64  `parquet:"skipped"`
}

// FailureRow is a row of failures: one failure record of a committed
// batch. Timestamp is the batch's.
type FailureRow struct {
	BatchID   string `parquet:"batch_id,dict"`
	Timestamp int64  `parquet:"timestamp,timestamp(millisecond)"`
	Platform  string `parquet:"platform,dict"`
	Env       string `parquet:"env,dict"`
	Job       string `parquet:"job,dict"`
	OS        string `parquet:"os,dict"`
	PackageID string `parquet:"package_id"`
	Category  string `parquet:"category,dict"`
}

// Manifest is DIR/batchsli-export.json: what has been exported, so that a
// run exports only the batches recorded since.
type Manifest struct {
	SchemaVersion int      `json:"schema_version"`
	Format        string   `json:"format"`
	Runs          int      `json:"runs"`
	Batches       []string `json:"batches"`
}

// ManifestName is the manifest's file name in the export directory.
const ManifestName = "batchsli-export.json"

// ErrOtherExport is the error for a directory that holds an export in
// another format or schema version.
var ErrOtherExport = errors.New("export to another directory")

// Result says what a run exported.
type Result struct {
	Batches, Runs, Failures int
	// Orphans counts failure records no run claims (by batch ID or
	// time): exported with their own batch ID and time.
	Orphans int
	// Problems are the records the reader left out (batchsli validate
	// lists them), the first few; Dropped counts the rest.
	Problems []reader.Problem
	Dropped  int
	Files    []string
}

type part struct{ eco, month string }

// Export writes the batches of the data not yet in dir's manifest, in
// format ("parquet" or "csv"). Each run writes part-N files (N its run
// number) in the partitions it touches, then the manifest: a run that
// stops half way leaves files the next run (with the same N) overwrites.
//
// Rows are held compactly (string tables and small indices, the package
// IDs in one arena) and expanded one partition at a time as it is
// written, so memory stays near the size of the failure records' package
// IDs.
func Export(fsys fs.FS, name, dir, format string) (*Result, error) {
	if format != "parquet" && format != "csv" {
		return nil, fmt.Errorf("warehouse: unknown format %q", format)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// One export at a time into a directory: a second waits.
	lock := flock.New(filepath.Join(dir, ".batchsli-export.lock"))
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	defer lock.Unlock()
	man, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if man.Format != "" && man.Format != format {
		return nil, fmt.Errorf("%s: the export there is %s, not %s: %w", filepath.Join(dir, ManifestName), man.Format, format, ErrOtherExport)
	}
	done := make(map[string]bool, len(man.Batches))
	for _, id := range man.Batches {
		done[id] = true
	}
	res := &Result{}
	rd := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true})
	// Every run, exported before or not, is a batch as the report counts
	// it (a legacy ID used twice makes two): its key is its ID and time.
	// Failure records find theirs by batch ID (and time, when the ID is
	// used twice), else by time, as the report attributes them.
	var (
		ids     []string // each run's batch ID, in record order
		ms      []int64  // its time
		month   []uint32 // its month
		runEco  []uint32 // its ecosystem, or noEco for a run split by ecosystem
		old     []bool   // exported before
		newKeys []string
		byID    = map[string]int32{}   // the first run with the ID
		moreIDs = map[string][]int32{} // every run of an ID used more than once
		byTime  = map[int64]int32{}    // the first run at the time
		months  = &table{}
		ecos    = &table{}
		plats   = &table{}
		runs    = map[[2]uint32]*bucket[runCell]{} // by ecosystem and month
		wide    [][4]int64
		tooLong error
	)
	err = rd.Metrics(func(b *model.BatchRun) {
		if len(b.Platforms) == 0 {
			return
		}
		id := strings.Clone(b.BatchID)
		ts := b.Timestamp.UTC()
		key := runKey(id, ts)
		bi := int32(len(ids))
		ids = append(ids, id)
		ms = append(ms, ts.UnixMilli())
		mo := months.id(ts.Format("2006-01"))
		month = append(month, mo)
		if first, ok := byID[id]; !ok {
			byID[id] = bi
		} else {
			if len(moreIDs[id]) == 0 {
				moreIDs[id] = []int32{first}
			}
			moreIDs[id] = append(moreIDs[id], bi)
		}
		if _, ok := byTime[ts.UnixNano()]; !ok {
			byTime[ts.UnixNano()] = bi
		}
		e := noEco
		if len(b.ByEcosystem) == 0 {
			e = ecos.id(b.Ecosystem)
		}
		runEco = append(runEco, e)
		old = append(old, done[key])
		if done[key] {
			return
		}
		newKeys = append(newKeys, key)
		for eco := range b.ByEcosystem {
			if err := partitionName(eco); err != nil && tooLong == nil {
				tooLong = fmt.Errorf("%s:%d: %v", b.Source.File, b.Source.Line, err)
			}
		}
		if err := partitionName(b.Ecosystem); err != nil && tooLong == nil {
			tooLong = fmt.Errorf("%s:%d: %v", b.Source.File, b.Source.Line, err)
		}
		add := func(eco string, m map[string]model.Counts) {
			k := [2]uint32{ecos.id(eco), mo}
			bk := runs[k]
			if bk == nil {
				bk = &bucket[runCell]{}
				runs[k] = bk
			}
			for pl, c := range m {
				rc := runCell{batch: bi, plat: plats.id(pl)}
				v := [4]int64{c.Tested, c.Passed, c.Failed, c.Skipped}
				if slices.ContainsFunc(v[:], func(x int64) bool { return x >= math.MaxUint32 }) {
					// Counts past 32 bits (not seen in a real batch) are
					// kept aside.
					rc.counts = [4]uint32{math.MaxUint32, uint32(len(wide))}
					wide = append(wide, v)
				} else {
					rc.counts = [4]uint32{uint32(v[0]), uint32(v[1]), uint32(v[2]), uint32(v[3])}
				}
				bk.add(rc)
				res.Runs++
			}
		}
		if len(b.ByEcosystem) > 0 {
			for eco, m := range b.ByEcosystem {
				add(eco, m)
			}
		} else {
			add(b.Ecosystem, b.Platforms)
		}
	})
	if err != nil {
		return nil, err
	}
	if tooLong != nil {
		return nil, tooLong
	}
	res.Batches = len(newKeys)
	commits, err := rd.Commits()
	if err != nil {
		return nil, err
	}
	// The batch runs' partitions are written while the failures are read.
	workers := max(1, runtime.GOMAXPROCS(0))
	pool := newWriters(dir, format, man.Runs+1, workers)
	runLevels := rollups{}
	for _, pl := range plats.names {
		runLevels.of(pl)
	}
	partOf := func(eco string, mo uint32) part { return part{eco, months.names[mo]} }
	// Partitions in month order, ecosystems interleaved: two writers then
	// seldom make folders in the same parent, whose lock they would share.
	byPart := func(a, b part) int { return cmp.Or(cmp.Compare(a.month, b.month), cmp.Compare(a.eco, b.eco)) }
	runParts := map[part]*bucket[runCell]{}
	for k, bk := range runs {
		runParts[partOf(ecos.names[k[0]], k[1])] = bk
	}
	for _, p := range slices.SortedFunc(maps.Keys(runParts), byPart) {
		bk := runParts[p]
		pool.submit("batch_runs", p, func(w io.Writer) error {
			cells := make([]runCell, 0, bk.len())
			bk.each(func(c runCell) { cells = append(cells, c) })
			slices.SortFunc(cells, func(a, b runCell) int {
				return cmp.Or(cmp.Compare(ms[a.batch], ms[b.batch]), cmp.Compare(a.batch, b.batch), cmp.Compare(plats.names[a.plat], plats.names[b.plat]))
			})
			rows := make([]RunRow, 0, len(cells))
			for _, c := range cells {
				pl := plats.names[c.plat]
				l := runLevels[pl]
				v := [4]int64{int64(c.counts[0]), int64(c.counts[1]), int64(c.counts[2]), int64(c.counts[3])}
				if c.counts[0] == math.MaxUint32 {
					v = wide[c.counts[1]]
				}
				rows = append(rows, RunRow{ids[c.batch], ms[c.batch], pl, l[0], l[1], l[2], v[0], v[1], v[2], v[3]})
			}
			return writeRows(w, format, rows, runRecord, runHeader)
		})
	}

	// Failures, read in parallel: each worker keeps its rows by partition,
	// with its own string tables and package-ID arena.
	ws := make([]*failWorker, workers)
	fns := make([]func(*model.Failure), workers)
	for w := range ws {
		fw := &failWorker{ecos: &table{}, plats: &table{}, cats: &table{}, files: &table{}, rows: map[[2]uint32]*bucket[failCell]{}}
		ws[w] = fw
		fns[w] = func(f *model.Failure) {
			bi := int32(-1)
			if first, ok := byID[f.BatchID]; f.BatchID != "" && ok {
				bi = first
				for _, r := range moreIDs[f.BatchID] {
					if ms[r] == f.Timestamp.UnixMilli() {
						bi = r
						break
					}
				}
			} else if r, ok := byTime[f.Timestamp.UnixNano()]; ok {
				bi = r
			}
			if bi < 0 {
				// No run: kept with its own batch ID and time, as the
				// report counts it.
				key := runKey(f.BatchID, f.Timestamp.UTC())
				if !done[key] {
					fw.orphans = append(fw.orphans, orphan{key, FailureRow{strings.Clone(f.BatchID), f.Timestamp.UnixMilli(), strings.Clone(f.Environment), "", "", "",
						strings.Clone(f.PackageID), strings.Clone(f.Category)}, strings.Clone(f.Ecosystem)})
				}
				return
			}
			if old[bi] {
				return
			}
			// A run's failures go with its ecosystem, unless the run is
			// split by ecosystem (a legacy record may name none).
			eco := runEco[bi]
			if eco == noEco {
				eco = fw.ecos.id(f.Ecosystem) | workerEco
			}
			k := [2]uint32{eco, month[bi]}
			bk := fw.rows[k]
			if bk == nil {
				bk = &bucket[failCell]{}
				fw.rows[k] = bk
			}
			loc, ok := fw.arena.put(f.PackageID)
			if !ok {
				fw.full = true
				return
			}
			bk.add(failCell{bi, fw.plats.id(f.Environment), fw.cats.id(f.Category), loc, uint32(len(f.PackageID)), fw.files.id(f.Source.File), uint32(fw.n)})
			fw.n++
		}
	}
	frd := reader.New(fsys, name, reader.Options{SkipMessages: true, Reuse: true, Commits: commits})
	if err := frd.FailuresParallel(fns); err != nil {
		pool.wait()
		return nil, err
	}
	for _, r := range []*reader.Reader{rd, frd} {
		ps, more := r.Problems()
		res.Problems = append(res.Problems, ps...)
		res.Dropped += more
	}
	for _, fw := range ws {
		if fw.full {
			pool.wait()
			return nil, fmt.Errorf("%s: more than 4 GiB of package IDs in the failure records: too many to export at once", name)
		}
		res.Failures += fw.n + len(fw.orphans)
		res.Orphans += len(fw.orphans)
	}

	// Every platform's roll-ups, before the writers read them.
	levels := rollups{}
	for _, fw := range ws {
		for _, pl := range fw.plats.names {
			levels.of(pl)
		}
	}
	// Failures without a run, by partition, in time order.
	orphanRows := map[part][]FailureRow{}
	orphanKeys := map[string]bool{}
	for _, fw := range ws {
		for _, o := range fw.orphans {
			if err := partitionName(o.eco); err != nil {
				pool.wait()
				return nil, fmt.Errorf("%s: a failure record's %v", name, err)
			}
			l := levels.of(o.row.Platform)
			o.row.Env, o.row.Job, o.row.OS = l[0], l[1], l[2]
			p := part{o.eco, time.UnixMilli(o.row.Timestamp).UTC().Format("2006-01")}
			orphanRows[p] = append(orphanRows[p], o.row)
			if !orphanKeys[o.key] {
				orphanKeys[o.key] = true
				newKeys = append(newKeys, o.key)
			}
		}
	}
	for _, rows := range orphanRows {
		slices.SortFunc(rows, func(a, b FailureRow) int {
			return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.BatchID, b.BatchID), cmp.Compare(a.Platform, b.Platform),
				cmp.Compare(a.PackageID, b.PackageID), cmp.Compare(a.Category, b.Category))
		})
	}
	type job struct {
		table string
		p     part
		write func(io.Writer) error
	}
	var jobs []job
	type segment struct {
		fw *failWorker
		bk *bucket[failCell]
	}
	// The files' ranks among every worker's, so that rows sort in record
	// order whichever worker read them.
	var fileNames []string
	for _, fw := range ws {
		fileNames = append(fileNames, fw.files.names...)
	}
	slices.Sort(fileNames)
	for _, fw := range ws {
		for _, n := range fw.files.names {
			r, _ := slices.BinarySearch(fileNames, n)
			fw.fileRank = append(fw.fileRank, uint32(r))
		}
	}
	failParts := map[part][]segment{}
	for _, fw := range ws {
		for k, bk := range fw.rows {
			eco := ecos.names[k[0]&^workerEco]
			if k[0]&workerEco != 0 {
				eco = fw.ecos.names[k[0]&^workerEco]
			}
			p := partOf(eco, k[1])
			failParts[p] = append(failParts[p], segment{fw, bk})
		}
	}
	for p := range orphanRows {
		if _, ok := failParts[p]; !ok {
			failParts[p] = nil
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(failParts), byPart) {
		ss, extra := failParts[p], orphanRows[p]
		jobs = append(jobs, job{"failures", p, func(w io.Writer) error {
			type cell struct {
				fw *failWorker
				c  failCell
			}
			var cells []cell
			for _, sg := range ss {
				sg.bk.each(func(c failCell) { cells = append(cells, cell{sg.fw, c}) })
			}
			// In time order, then in record order.
			slices.SortFunc(cells, func(a, b cell) int {
				return cmp.Or(cmp.Compare(ms[a.c.batch], ms[b.c.batch]), cmp.Compare(a.c.batch, b.c.batch),
					cmp.Compare(a.fw.fileRank[a.c.file], b.fw.fileRank[b.c.file]), cmp.Compare(a.c.seq, b.c.seq))
			})
			rows := make([]FailureRow, len(cells), len(cells)+len(extra))
			for i, x := range cells {
				c := x.c
				pl := x.fw.plats.names[c.plat]
				l := levels[pl]
				rows[i] = FailureRow{ids[c.batch], ms[c.batch], pl, l[0], l[1], l[2], x.fw.arena.get(c.loc, c.n), x.fw.cats.names[c.cat]}
			}
			if len(extra) > 0 {
				rows = append(rows, extra...)
				slices.SortStableFunc(rows, func(a, b FailureRow) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
			}
			return writeRows(w, format, rows, failRecord, failHeader)
		}})
	}

	for _, j := range jobs {
		pool.submit(j.table, j.p, j.write)
	}
	if res.Files, err = pool.wait(); err != nil {
		return nil, err
	}
	// A table with no rows yet gets an empty file, so that a query's
	// pattern (TABLE/*/*/*.parquet) matches something.
	for _, table := range []string{"batch_runs", "failures"} {
		if _, err := os.Stat(filepath.Join(dir, table)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		d := filepath.Join(dir, table, "ecosystem=__HIVE_DEFAULT_PARTITION__", "month=__HIVE_DEFAULT_PARTITION__")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		path := filepath.Join(d, "part-0."+format)
		err := atomicfile.Write(path, func(w io.Writer) error {
			if table == "batch_runs" {
				return writeRows(w, format, []RunRow{}, runRecord, runHeader)
			}
			return writeRows(w, format, []FailureRow{}, failRecord, failHeader)
		})
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, path)
	}
	man.SchemaVersion, man.Format, man.Runs = SchemaVersion, format, man.Runs+1
	man.Batches = append(man.Batches, newKeys...)
	if err := atomicfile.Write(filepath.Join(dir, ManifestName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(man)
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// writers write partition files, a few at a time, from a queue that
// submitting never waits on (the batch runs' files are written while the
// failures are read).
type writers struct {
	dir, ext string
	n        int
	wg       sync.WaitGroup
	mu       sync.Mutex
	ready    *sync.Cond
	queue    []func() (string, error)
	closed   bool
	paths    []string
	errs     []error
	made     sync.Map // folders made
}

func newWriters(dir, format string, n, workers int) *writers {
	w := &writers{dir: dir, ext: "." + format, n: n}
	w.ready = sync.NewCond(&w.mu)
	for range workers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				w.mu.Lock()
				for len(w.queue) == 0 && !w.closed {
					w.ready.Wait()
				}
				if len(w.queue) == 0 {
					w.mu.Unlock()
					return
				}
				job := w.queue[0]
				w.queue[0] = nil
				w.queue = w.queue[1:]
				w.mu.Unlock()
				path, err := job()
				w.mu.Lock()
				if err != nil {
					w.errs = append(w.errs, err)
				} else {
					w.paths = append(w.paths, path)
				}
				w.mu.Unlock()
			}
		}()
	}
	return w
}

// submit queues a partition's file: table/ecosystem=E/month=M/part-N.
func (w *writers) submit(table string, p part, write func(io.Writer) error) {
	job := func() (string, error) {
		d := filepath.Join(w.dir, table, "ecosystem="+hiveValue(p.eco), "month="+p.month)
		if _, ok := w.made.Load(d); !ok {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return "", err
			}
			w.made.Store(d, true)
		}
		path := filepath.Join(d, "part-"+strconv.Itoa(w.n)+w.ext)
		if err := atomicfile.Write(path, write); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return path, nil
	}
	w.mu.Lock()
	w.queue = append(w.queue, job)
	w.mu.Unlock()
	w.ready.Signal()
}

// wait waits for the files submitted, and returns their paths, sorted.
func (w *writers) wait() ([]string, error) {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.ready.Broadcast()
	w.wg.Wait()
	slices.Sort(w.paths)
	return w.paths, errors.Join(w.errs...)
}

// runCell is a batch's counts on a platform, compactly.
type runCell struct {
	batch  int32
	plat   uint32
	counts [4]uint32 // [MaxUint32, i]: wide[i]
}

// failCell is a failure record, compactly: its package ID is in its
// worker's arena.
type failCell struct {
	batch     int32
	plat, cat uint32
	loc, n    uint32 // the package ID's place in the arena, and length
	// file and seq are where the record was read: the worker's file
	// number and its count of records, which follows file order.
	file, seq uint32
}

// orphan is a failure record no run claims, kept whole (they are few).
type orphan struct {
	key string
	row FailureRow
	eco string
}

// noEco marks a run split by ecosystem; workerEco marks an ecosystem
// number from a worker's own table.
const (
	noEco     = ^uint32(0)
	workerEco = 1 << 31
)

// runKey identifies a run (or a failure record no run claims) in the
// manifest: its batch ID and time.
func runKey(id string, ts time.Time) string { return id + "@" + ts.Format(time.RFC3339Nano) }

// partitionName refuses an ecosystem whose partition folder's name would
// be too long for a file system (255 bytes).
func partitionName(eco string) error {
	if n := len("ecosystem=" + hiveValue(eco)); n > 255 {
		return fmt.Errorf("ecosystem name makes a %d-byte partition folder name, over the 255 file systems allow", n)
	}
	return nil
}

type failWorker struct {
	ecos, plats, cats, files *table
	// fileRank is each file's place among every worker's files.
	fileRank []uint32
	arena    arena
	rows     map[[2]uint32]*bucket[failCell] // by ecosystem and month
	n        int
	orphans  []orphan
	full     bool // more package IDs than the arena holds
}

// bucket is a list in blocks that grow to 8,192 entries: appending never
// copies what is there, and at most one block is part empty.
type bucket[T any] struct{ blocks [][]T }

func (b *bucket[T]) add(v T) {
	n := len(b.blocks)
	if n == 0 || len(b.blocks[n-1]) == cap(b.blocks[n-1]) {
		size := 16
		if n > 0 {
			size = min(2*cap(b.blocks[n-1]), 8192)
		}
		b.blocks = append(b.blocks, make([]T, 0, size))
		n++
	}
	b.blocks[n-1] = append(b.blocks[n-1], v)
}

func (b *bucket[T]) len() int {
	n := 0
	for _, bl := range b.blocks {
		n += len(bl)
	}
	return n
}

func (b *bucket[T]) each(fn func(T)) {
	for _, bl := range b.blocks {
		for _, v := range bl {
			fn(v)
		}
	}
}

// arena holds strings in 256 KiB blocks (a longer one in its own). A
// string's place is its block << 18 | its offset: up to 16,384 blocks.
type arena struct{ blocks [][]byte }

const (
	arenaShift = 18
	arenaBlock = 1 << arenaShift
	arenaMax   = 1 << (32 - arenaShift)
)

// put stores s; false when the arena is full (4 GiB of package IDs).
func (a *arena) put(s string) (loc uint32, ok bool) {
	n := len(a.blocks)
	if n == 0 || len(a.blocks[n-1])+len(s) > cap(a.blocks[n-1]) {
		if n == arenaMax {
			return 0, false
		}
		a.blocks = append(a.blocks, make([]byte, 0, max(arenaBlock, len(s))))
		n++
	}
	b := &a.blocks[n-1]
	off := len(*b)
	*b = append(*b, s...)
	return uint32(n-1)<<arenaShift | uint32(off), true
}

func (a *arena) get(loc, n uint32) string {
	off := loc & (arenaBlock - 1)
	return string(a.blocks[loc>>arenaShift][off : off+n])
}

// table numbers the distinct strings it is given.
type table struct {
	ids   map[string]uint32
	names []string
}

func (t *table) id(s string) uint32 {
	if i, ok := t.ids[s]; ok {
		return i
	}
	if t.ids == nil {
		t.ids = map[string]uint32{}
	}
	i := uint32(len(t.names))
	s = strings.Clone(s)
	t.ids[s] = i
	t.names = append(t.names, s)
	return i
}

// hiveValue escapes a partition value: bytes other than letters, digits
// and _ - (and . after the first) are percent-encoded, so a value never
// makes a path of its own ("/", "..") or an empty one.
func hiveValue(s string) string {
	if s == "" {
		return "__HIVE_DEFAULT_PARTITION__"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' && i > 0 || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// rollups caches each platform's IDs at the env, job and os levels.
type rollups map[string][3]string

func (r rollups) of(id string) [3]string {
	if l, ok := r[id]; ok {
		return l
	}
	e := model.ParseEnv(id)
	var l [3]string
	for i, lv := range []model.Level{model.LevelEnv, model.LevelJob, model.LevelOS} {
		l[i], _ = e.At(lv)
	}
	r[id] = l
	return l
}

var (
	runHeader  = []string{"batch_id", "timestamp", "platform", "env", "job", "os", "tested", "passed", "failed", "skipped"}
	failHeader = []string{"batch_id", "timestamp", "platform", "env", "job", "os", "package_id", "category"}
)

func csvTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

func runRecord(r RunRow) []string {
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{cell(r.BatchID), csvTime(r.Timestamp), cell(r.Platform), cell(r.Env), cell(r.Job), cell(r.OS), i(r.Tested), i(r.Passed), i(r.Failed), i(r.Skipped)}
}

func failRecord(r FailureRow) []string {
	return []string{cell(r.BatchID), csvTime(r.Timestamp), cell(r.Platform), cell(r.Env), cell(r.Job), cell(r.OS), cell(r.PackageID), cell(r.Category)}
}

// cell keeps a spreadsheet from reading a text cell as a formula: one
// starting with = + - @ or a tab or carriage return gets a leading
// apostrophe (OWASP's advice on CSV injection).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeRows[T any](w io.Writer, format string, rows []T, record func(T) []string, header []string) error {
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write(header)
		for _, r := range rows {
			cw.Write(record(r))
		}
		cw.Flush()
		return cw.Error()
	}
	// Buffers sized to the partition: the defaults (16,384 rows a column,
	// 256 KiB pages) would allocate megabytes for each of many small
	// files.
	pw := parquet.NewGenericWriter[T](w, parquet.Compression(&zstdFastest), parquet.CreatedBy("batchsli", "", ""),
		parquet.PageBufferSize(64<<10))
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	return pw.Close()
}

// zstdFastest compresses the files at zstd's fastest level: the tables
// are small, and most of the export's time is the file system's.
var zstdFastest = zstd.Codec{Level: zstd.SpeedFastest}

func readManifest(dir string) (Manifest, error) {
	var m Manifest
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: %v", path, err)
	}
	if m.SchemaVersion != SchemaVersion {
		return m, fmt.Errorf("%s: schema version %d, this batchsli writes %d: %w", path, m.SchemaVersion, SchemaVersion, ErrOtherExport)
	}
	return m, nil
}
