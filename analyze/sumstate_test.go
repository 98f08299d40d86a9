package analyze

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batchsli/batchsli/internal/statecodec"
	"github.com/batchsli/batchsli/simulate"
	"github.com/batchsli/batchsli/store"
)

var checkpointLong = flag.Bool("checkpoint-long", false, "check the summary's checkpoint on longer simulated histories")

// historyByBatch reads a data directory into its files' lines, each with
// the batch it belongs to (the batch-run records' order).
type historyByBatch struct {
	ids   []string // batches in the order of their batch-run records
	files map[string][]batchLine
}

type batchLine struct {
	batch int
	text  []byte
}

func readHistoryByBatch(t testing.TB, dir string) *historyByBatch {
	t.Helper()
	h := &historyByBatch{files: map[string][]batchLine{}}
	at := map[string]int{}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The batch-run records first: they number the batches.
	for pass := range 2 {
		for _, p := range paths {
			rel, _ := filepath.Rel(dir, p)
			if (strings.HasPrefix(rel, "metrics/")) != (pass == 0) {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range bytes.SplitAfter(data, []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				var rec struct {
					BatchID string `json:"batch_id"`
				}
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatal(err)
				}
				if pass == 0 {
					at[rec.BatchID] = len(h.ids)
					h.ids = append(h.ids, rec.BatchID)
				}
				i, ok := at[rec.BatchID]
				if !ok {
					t.Fatalf("%s: a record of unknown batch %s", rel, rec.BatchID)
				}
				h.files[filepath.ToSlash(rel)] = append(h.files[filepath.ToSlash(rel)], batchLine{i, line})
			}
		}
	}
	return h
}

// upTo is the data as it stood once the first k batches were recorded.
func (h *historyByBatch) upTo(k int) fstest.MapFS {
	m := fstest.MapFS{}
	for p, lines := range h.files {
		var b []byte
		for _, l := range lines {
			if l.batch < k {
				b = append(b, l.text...)
			}
		}
		if len(b) > 0 {
			m[p] = &fstest.MapFile{Data: b, Mode: 0o644}
		}
	}
	return m
}

func summaryJSON(t *testing.T, s *Summary) string {
	t.Helper()
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSummaryFromCheckpoint: the job summary of each batch of simulated
// histories, recorded one batch after another, is the same extended from
// the checkpoint the summary of the batch before left as computed from the
// whole history; and every one after the first is extended.
func TestSummaryFromCheckpoint(t *testing.T) {
	batches := 90
	if *checkpointLong {
		batches = 400
	}
	// Folds of the batch table's two parts every few batches.
	defer func(f func(int) int) { foldAt = f }(foldAt)
	foldAt = func(n int) int { return max(3, n/8) }
	for _, o := range []simulate.Options{
		{Batches: batches, Seed: 17, ICC: 0.02, Retests: true, Shared: 0.9, Flaky: 0.01, FlakeRate: 0.6, Outages: 0.03, MixDrift: true,
			Changes:   []simulate.Change{{Platform: "linux-rhel-glibc-arm64", At: 0.3, Drop: 0.2}, {Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: -0.25}},
			FlakyFrom: []simulate.FlakyChange{{Platform: "linux-alpine-musl-x86_64", At: 0.5, Share: 0.3}}},
		{Batches: batches, Seed: 5, Retests: true, Flaky: 0.02, FlakeRate: 0.3, Recipes: 3000, VersionEvery: 30},
		// Past 2262, where Unix nanoseconds end.
		{Batches: 70, Seed: 9, Retests: true, Flaky: 0.02, FlakeRate: 0.5, Outages: 0.03, Start: time.Date(2300, 3, 2, 0, 30, 0, 0, time.UTC)},
	} {
		if o.Start.IsZero() {
			o.Start = simulate.DefaultOptions.Start
		}
		dir := t.TempDir()
		if _, err := simulate.Write(dir, o); err != nil {
			t.Fatal(err)
		}
		h := readHistoryByBatch(t, dir)
		// Two changes the checkpoint must not be extended over: a failure
		// record of an older batch appended with batch 40 (a late record,
		// committed), and a failure file rewritten with batch 60 (its
		// first line gone).
		stale := map[int]bool{40: true, 60: true}
		lateRecord(t, h, 39, 34)
		so := DefaultSummaryOptions()
		var cp SummaryParts
		extended, folds, pairFolds, gapFolds := 0, 0, 0, 0
		alarms, transitions, incidents := 0, 0, 0
		for k := 1; k <= len(h.ids); k++ {
			if k == 60 {
				for p, lines := range h.files {
					if strings.HasPrefix(p, "failures/") && len(lines) > 0 && lines[0].batch < 59 {
						h.files[p] = lines[1:]
						break
					}
				}
			}
			fsys := h.upTo(k)
			want, err := BuildSummary(fsys, "data", so)
			if err != nil {
				t.Fatal(err)
			}
			got, next, ext, err := BuildSummaryFrom(fsys, "data", so, cp)
			if err != nil {
				t.Fatal(err)
			}
			if w, g := summaryJSON(t, want), summaryJSON(t, got); w != g {
				t.Fatalf("seed %d, batch %d (%s): the summary from the checkpoint differs:\n%s", o.Seed, k, h.ids[k-1], lineDiff(w, g))
			}
			if next.Main == nil {
				t.Fatalf("seed %d, batch %d: no checkpoint", o.Seed, k)
			}
			if next.Lower != nil {
				folds++
			}
			if next.Pairs != nil {
				pairFolds++
			}
			if next.Gaps != nil {
				gapFolds++
			}
			cp = next.over(cp)
			if ext {
				extended++
			}
			if ext == (k == 1 || stale[k]) {
				t.Errorf("seed %d, batch %d: extended %t", o.Seed, k, ext)
			}
			for _, in := range want.NewInsights {
				switch in.Kind {
				case KindRegression:
					alarms++
				case KindIncident:
					incidents++
				}
			}
			transitions += len(want.Transitions)
		}
		t.Logf("seed %d: %d batches, %d alarms, %d incidents, %d transitions, %d folds of the batch table, %d of the pairs, %d of the gaps",
			o.Seed, len(h.ids), alarms, incidents, transitions, folds, pairFolds, gapFolds)
		for _, n := range []int{folds, pairFolds, gapFolds} {
			if n < 10 || n > len(h.ids)*3/4 {
				t.Errorf("seed %d: %d folds of the batch table, %d of the pairs, %d of the gaps", o.Seed, folds, pairFolds, gapFolds)
				break
			}
		}
		if o.Seed == 17 && (alarms == 0 || incidents == 0 || transitions == 0) {
			t.Errorf("the history holds too little to test: %d alarms, %d incidents, %d transitions", alarms, incidents, transitions)
		}
	}
}

// lateRecord adds a failure record of batch old, appended with batch at:
// a copy of one of old's with another recipe.
func lateRecord(t *testing.T, h *historyByBatch, at, old int) {
	t.Helper()
	for p, lines := range h.files {
		if !strings.HasPrefix(p, "failures/") {
			continue
		}
		var rec map[string]any
		src, end := -1, -1
		for i, l := range lines {
			if l.batch == old && src < 0 {
				src = i
			}
			if l.batch <= at {
				end = i
			}
		}
		if src < 0 || lines[end].batch == old {
			continue
		}
		if err := json.Unmarshal(lines[src].text, &rec); err != nil {
			t.Fatal(err)
		}
		rec["package_id"] = rec["package_id"].(string) + "-late"
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		line := batchLine{at, append(b, '\n')}
		h.files[p] = append(lines[:end+1:end+1], append([]batchLine{line}, lines[end+1:]...)...)
		return
	}
	t.Fatalf("no failure file holds records of batch %d and a later one up to %d", old, at)
}

// lineDiff shows the first lines where a and b differ.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			lo := max(0, i-3)
			return "want:\n" + strings.Join(al[lo:min(len(al), i+4)], "\n") + "\ngot:\n" + strings.Join(bl[lo:min(len(bl), i+4)], "\n")
		}
	}
	return "lengths differ"
}

// smallState is a checkpoint of a short simulated history, the data it
// was left by, and the data with one more batch.
func smallState(t testing.TB) (cp SummaryParts, last fstest.MapFS) {
	dir := t.TempDir()
	o := simulate.Options{Batches: 8, Seed: 3, Start: simulate.DefaultOptions.Start, Retests: true, Flaky: 0.05, FlakeRate: 0.5, Outages: 0.1, Recipes: 1000}
	if _, err := simulate.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	h := readHistoryByBatch(t, dir)
	// Every part folded into its lower part.
	defer func(f func(int) int) { foldAt = f }(foldAt)
	foldAt = func(int) int { return 0 }
	_, cp, _, err := BuildSummaryFrom(h.upTo(len(h.ids)-1), "data", DefaultSummaryOptions(), SummaryParts{})
	if err != nil || cp.Main == nil || cp.Lower == nil || cp.Pairs == nil || cp.Gaps == nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	return cp, h.upTo(len(h.ids))
}

// FuzzSummaryState: a checkpoint is read back only if it is one
// MarshalBinary could have written: written again, it reads back the same.
func FuzzSummaryState(f *testing.F) {
	parts, _ := smallState(f)
	cp := parts.Main
	f.Add(cp)
	f.Add(cp[:len(cp)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		st := &sumState{}
		if st.UnmarshalBinary(b) != nil {
			return
		}
		again, err := st.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		st2 := &sumState{}
		if err := st2.UnmarshalBinary(again); err != nil {
			t.Fatalf("written again, the checkpoint is refused: %v", err)
		}
		if third, _ := st2.MarshalBinary(); !bytes.Equal(third, again) {
			t.Fatal("written again, the checkpoint reads back otherwise")
		}
	})
}

// TestSummaryStateDamaged: a checkpoint with any one byte changed is
// refused, or the summary extended from it does not fail (a checkpoint
// the cache's checksum let through is not trusted to be sane).
func TestSummaryStateDamaged(t *testing.T) {
	cp, fsys := smallState(t)
	so := DefaultSummaryOptions()
	for _, part := range []string{"main", "lower", "pairs", "gaps"} {
		refused, read := 0, 0
		b := cp.Main
		switch part {
		case "lower":
			b = cp.Lower
		case "pairs":
			b = cp.Pairs
		case "gaps":
			b = cp.Gaps
		}
		step := max(1, len(b)/1200)
		for i := 0; i < len(b); i += step {
			for _, x := range []byte{1, 0x80, 0xff} {
				d := SummaryParts{Main: bytes.Clone(cp.Main), Lower: bytes.Clone(cp.Lower), Pairs: bytes.Clone(cp.Pairs), Gaps: bytes.Clone(cp.Gaps)}
				switch part {
				case "lower":
					d.Lower[i] ^= x
				case "pairs":
					d.Pairs[i] ^= x
				case "gaps":
					d.Gaps[i] ^= x
				default:
					d.Main[i] ^= x
				}
				c := DecodeSummaryCheckpoint(d)
				if c == nil {
					refused++
					continue
				}
				read++
				if _, _, err := c.st.extend(fsys, "data", so); err != nil {
					t.Fatalf("%s part, byte %d ^ %#x: %v", part, i, x, err)
				}
			}
		}
		t.Logf("%s part, %d bytes: %d damaged checkpoints refused, %d read and extended", part, len(b), refused, read)
		if refused == 0 {
			t.Errorf("%s part: no damaged checkpoint refused", part)
		}
	}
	// Each lower part missing, or another than the main part names (its
	// token changed).
	if DecodeSummaryCheckpoint(cp) == nil {
		t.Error("the checkpoint itself is refused")
	}
	for i, p := range []*[]byte{&cp.Lower, &cp.Pairs, &cp.Gaps} {
		for _, other := range [][]byte{nil, bytes.Clone(*p)} {
			if other != nil {
				other[len(lowerMagic)] ^= 1 // the token, after a magic of the same length
			}
			d := cp
			switch i {
			case 0:
				d.Lower = other
			case 1:
				d.Pairs = other
			case 2:
				d.Gaps = other
			}
			if DecodeSummaryCheckpoint(d) != nil {
				t.Errorf("lower part %d missing (%t) or another: decoded", i, other == nil)
			}
		}
	}
}

// TestGapTallyRoundTrip: a tally written and read back counts the same,
// and one that counts a cause 0 is refused.
func TestGapTallyRoundTrip(t *testing.T) {
	tl := &gapTally{
		cats:    map[cause]int64{{platform: "a", category: "x"}: 3, {platform: "a", category: "y"}: 0, {platform: "b", category: "x"}: 2},
		failing: map[string]int64{"a": 5, "b": 2, "c": 0},
		depCats: map[[2]string]map[string]int64{{"a", "dep"}: {"x": 2, "": 1, "y": 0}, {"b", "gone"}: {"x": 0}},
	}
	w := statecodec.NewWriter("t")
	writeTally(w, tl)
	r := statecodec.NewReader(w.B, "t")
	back := readTally(r)
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	c1, f1 := tl.counts()
	c2, f2 := back.counts()
	if !maps.Equal(c1, c2) || !maps.Equal(f1, f2) {
		t.Errorf("read back: %v %v, want %v %v", c2, f2, c1, f1)
	}
	if len(back.cats) != 2 || len(back.failing) != 2 || len(back.depCats) != 1 {
		t.Errorf("zeros kept: %v", back)
	}
	w = statecodec.NewWriter("t")
	w.Uint(1)
	w.String("a")
	w.String("x")
	w.Int(0)
	w.Uint(0)
	w.Uint(0)
	r = statecodec.NewReader(w.B, "t")
	readTally(r)
	if r.Done() == nil {
		t.Error("a tally counting a cause 0 is read")
	}
}

// FuzzLowerGaps: any bytes are refused or read as a lower part of the gaps
// whose every package and gap can be looked at, that gaps can take their
// states from (or be refused by), and that folds into one that reads back.
func FuzzLowerGaps(f *testing.F) {
	parts, _ := smallState(f)
	f.Add(parts.Gaps)
	defer func(fa func(int) int) { foldAt = fa }(foldAt)
	foldAt = func(int) int { return 0 }
	f.Fuzz(func(t *testing.T, b []byte) {
		if lo, ok := parseLowerGaps(viewOf(bytes.NewReader(b), nil)); ok {
			fa := newFailureAgg(nil, nil, time.Time{}, time.Time{}, nil)
			fa.ids.plat("a")
			fa.ids.name("x")
			fa.gapLo = lo
			for i := range lo.nPkg {
				fa.gapFromLower(gapKey{pkg: fa.ids.pkg(string(lo.name(i)))})
			}
		}
		lo, ok := parseLowerGaps(viewOf(nil, b))
		if !ok {
			return
		}
		fa := newFailureAgg(nil, nil, time.Time{}, time.Time{}, nil)
		fa.gapsOnly = true
		for _, p := range []string{"a", "b", "c"} {
			fa.ids.plat(p)
		}
		fa.ids.name("x")
		fa.ids.name("y")
		fa.gapLo = lo
		for i := range lo.nPkg {
			if len(lo.name(i)) == 0 || len(lo.region(i)) < gapFixed {
				t.Fatalf("package %d: name %q, gaps %d bytes", i, lo.name(i), len(lo.region(i)))
			}
			pkg := fa.ids.pkg(string(lo.name(i)))
			for pi := range uint32(3) {
				k := gapKey{pkg: pkg, plat: pi}
				if _, ok := fa.gaps[k]; !ok {
					fa.gapFromLower(k)
				}
			}
		}
		st := &sumState{fa: fa}
		st.foldGaps()
		if st.fa.gapLo == lo {
			return
		}
		if _, ok := parseLowerGaps(viewOf(nil, st.fa.gapLo.v.mem)); !ok || st.fa.gapLo.nGaps < len(fa.gaps) {
			t.Fatalf("the fold reads back %t, %d gaps of at least %d", ok, st.fa.gapLo.nGaps, len(fa.gaps))
		}
	})
}

// FuzzLowerPairs: any bytes are refused or read as a lower part of the
// pairs whose every recipe, pair and version can be looked at, that pairs
// can take their states from (or be refused by), and that folds into one
// that reads back.
func FuzzLowerPairs(f *testing.F) {
	parts, _ := smallState(f)
	f.Add(parts.Pairs)
	defer func(fa func(int) int) { foldAt = fa }(foldAt)
	foldAt = func(int) int { return 0 }
	f.Fuzz(func(t *testing.T, b []byte) {
		// Read a block at a time, or from memory.
		if lo, ok := parseLowerPairs(viewOf(bytes.NewReader(b), nil)); ok {
			ra := newRecipeAgg(0, -1)
			ra.attachLower(lo, 50)
			for i := range lo.nRec {
				ra.pairAt(ra.recipe(string(lo.name(i))), 0)
			}
		}
		lo, ok := parseLowerPairs(viewOf(nil, b))
		if !ok {
			return
		}
		for i := range lo.nVers {
			lo.ver(uint32(i))
		}
		ra := newRecipeAgg(0, -1)
		for _, p := range []string{"a", "b", "c"} {
			ra.platIdx[p] = uint32(len(ra.plats))
			ra.plats = append(ra.plats, p)
		}
		ra.intern(ra.catIdx, &ra.cats, "x")
		ra.attachLower(lo, 50)
		for i := range lo.nRec {
			from, to := lo.pairsOf(i)
			if from >= to || to > lo.nPairs || len(lo.name(i)) == 0 {
				t.Fatalf("recipe %d: pairs %d..%d of %d, name %q", i, from, to, lo.nPairs, lo.name(i))
			}
			ri := ra.recipe(string(lo.name(i)))
			for pi := range uint32(3) {
				ra.pairAt(ri, pi)
			}
		}
		st := &sumState{ra: ra}
		st.foldPairs()
		if st.ra.lo == lo {
			return
		}
		if _, ok := parseLowerPairs(viewOf(nil, st.ra.lo.v.mem)); !ok || st.ra.lo.nPairs < ra.states.len() && !ra.loBad {
			t.Fatalf("the fold reads back %t, %d pairs of at least %d", ok, st.ra.lo.nPairs, ra.states.len())
		}
	})
}

// FuzzLowerBatches: any bytes are refused or read as a lower part whose
// every batch and run can be looked at.
func FuzzLowerBatches(f *testing.F) {
	parts, _ := smallState(f)
	f.Add(parts.Lower)
	f.Fuzz(func(t *testing.T, b []byte) {
		lo, _, ok := parseLowerBatches(b)
		if !ok {
			return
		}
		for i := range lo.n {
			id, ts := lo.at(i)
			if id == "" || ts.Nanosecond() >= 1e9 {
				t.Fatalf("batch %d: %q %v", i, id, ts)
			}
		}
		for i := range lo.runs {
			if !lo.knownRun(lo.run(i)) {
				t.Fatalf("run %d not found", i)
			}
		}
	})
}

// openHook calls onOpen after the first opening of file target.
type openHook struct {
	fs.FS
	target string
	opened bool
	onOpen func()
}

func (h *openHook) Open(name string) (fs.File, error) {
	f, err := h.FS.Open(name)
	if name == h.target && !h.opened {
		h.opened = true
		h.onOpen()
	}
	return f, err
}

func (h *openHook) Stat(name string) (fs.FileInfo, error) { return fs.Stat(h.FS, name) }

// onDisk is a simulated history written to a directory batch by batch,
// with a failure file the last spare batches do not append to (target).
type onDisk struct {
	h           *historyByBatch
	dir, target string
}

// writeOnDisk writes all but the last spare batches of a short simulated
// history, with file times made old enough (store.CacheSettle lowered to
// 50 ms: a reading longer than it) for identities to be kept.
func writeOnDisk(t *testing.T, spare int) *onDisk {
	t.Helper()
	old := store.CacheSettle
	store.CacheSettle = 50 * time.Millisecond
	t.Cleanup(func() { store.CacheSettle = old })
	src := t.TempDir()
	if _, err := simulate.Write(src, simulate.Options{Batches: 30, Seed: 3, Start: simulate.DefaultOptions.Start, Recipes: 1000}); err != nil {
		t.Fatal(err)
	}
	d := &onDisk{h: readHistoryByBatch(t, src), dir: t.TempDir()}
	n := len(d.h.ids)
	for p, lines := range d.h.files {
		if strings.HasPrefix(p, "failures/") && len(lines) > 2 && lines[len(lines)-1].batch < n-spare {
			d.target = p
			break
		}
	}
	if d.target == "" {
		t.Fatal("no failure file to replace")
	}
	for p, f := range d.h.upTo(n - spare) {
		os.MkdirAll(filepath.Join(d.dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(d.dir, p), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	return d
}

// record appends batch k's lines to the files, as record would.
func (d *onDisk) record(t *testing.T, k int) {
	t.Helper()
	for p, lines := range d.h.files {
		for _, l := range lines {
			if l.batch == k {
				f, err := os.OpenFile(filepath.Join(d.dir, p), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				f.Write(l.text)
				f.Close()
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// replace replaces the target file by one holding b.
func (d *onDisk) replace(b []byte) {
	tmp := filepath.Join(d.dir, d.target+".tmp")
	os.WriteFile(tmp, b, 0o644)
	os.Rename(tmp, filepath.Join(d.dir, d.target))
}

// wholeAgain records the last batch and checks the summary from
// checkpoint cp is computed whole, and finds the problem the replaced file
// holds.
func (d *onDisk) wholeAgain(t *testing.T, cp SummaryParts) {
	t.Helper()
	d.record(t, len(d.h.ids)-1)
	so := DefaultSummaryOptions()
	fsys := os.DirFS(d.dir)
	want, err := BuildSummary(fsys, "data", so)
	if err != nil {
		t.Fatal(err)
	}
	got, _, ext, err := BuildSummaryFrom(fsys, "data", so, cp)
	if err != nil {
		t.Fatal(err)
	}
	if w, g := summaryJSON(t, want), summaryJSON(t, got); w != g || ext || want.Problems == 0 {
		t.Errorf("extended %t, %d problems: %s", ext, want.Problems, lineDiff(w, g))
	}
}

// TestSummaryCheckpointFileReplaced: a data file replaced while the
// summary reads it (by a program that ignores the lock: a git checkout)
// keeps no identity in the checkpoint, which was made from the bytes read
// before: the next summary checks the file's bytes, finds them changed and
// computes the summary whole.
func TestSummaryCheckpointFileReplaced(t *testing.T) {
	d := writeOnDisk(t, 1)
	old, _ := os.ReadFile(filepath.Join(d.dir, d.target))
	hook := &openHook{FS: os.DirFS(d.dir), target: d.target, onOpen: func() {
		// Replaced by a file of the same length, its first byte changed.
		b := bytes.Clone(old)
		b[0] = 'X'
		d.replace(b)
		time.Sleep(100 * time.Millisecond)
	}}
	_, cp, _, err := BuildSummaryFrom(hook, "data", DefaultSummaryOptions(), SummaryParts{})
	if err != nil || cp.Main == nil || !hook.opened {
		t.Fatalf("no checkpoint (%v) or the file was not read (%t)", err, hook.opened)
	}
	d.wholeAgain(t, cp)
}

// TestSummaryCheckpointReplacedAfterCheck: a file replaced after the
// summary checked its bytes against the checkpoint's CRC-32C (and before
// it read on) keeps no identity in the next checkpoint: the summary after
// checks its bytes again, finds them changed and is computed whole.
func TestSummaryCheckpointReplacedAfterCheck(t *testing.T) {
	d := writeOnDisk(t, 2)
	so := DefaultSummaryOptions()
	_, cp, _, err := BuildSummaryFrom(os.DirFS(d.dir), "data", so, SummaryParts{})
	if err != nil || cp.Main == nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	// The file written again with the same bytes (a checkout: a new
	// identity, so its bytes are checked), and a batch recorded.
	old, _ := os.ReadFile(filepath.Join(d.dir, d.target))
	d.replace(old)
	d.record(t, len(d.h.ids)-2)
	opens := 0
	hook := &openHook{FS: os.DirFS(d.dir), target: d.target}
	hook.onOpen = func() {
		// Once its bytes are opened for their CRC-32C: replaced, its
		// first byte changed.
		if opens++; opens == 1 {
			hook.opened = false // and the next opening too
			return
		}
		b := bytes.Clone(old)
		b[0] = 'X'
		d.replace(b)
		time.Sleep(100 * time.Millisecond)
	}
	next, ext := SummaryParts{}, false
	_, next, ext, err = BuildSummaryFrom(hook, "data", so, cp)
	cp = next.over(cp)
	if err != nil || !ext || next.Main == nil || opens < 2 {
		t.Fatalf("not extended (%v, %t) or the file not checked (%d openings)", err, ext, opens)
	}
	d.wholeAgain(t, cp)
}

// TestSummaryForgedRunHash: a main part whose run hashes repeat one of its
// lower part's (well formed, each part alone; no summary writes it) is
// refused, and a fold of such parts leaves them as they were, whatever
// their size.
func TestSummaryForgedRunHash(t *testing.T) {
	cp, _ := smallState(t)
	st := &sumState{}
	if err := st.UnmarshalBinary(cp.Main); err != nil {
		t.Fatal(err)
	}
	lo, _, ok := parseLowerBatches(cp.Lower)
	if !ok || lo.runs == 0 {
		t.Fatal("no lower part")
	}
	st.bt.runIDs = []uint64{lo.run(0)}
	main, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if DecodeSummaryCheckpoint(SummaryParts{Main: main, Lower: cp.Lower}) != nil {
		t.Fatal("a run hash in both parts decoded")
	}
	st.bt.lo = lo
	before := st.bt.loToken
	st.bt.fold(true)
	if st.bt.lo != lo || st.bt.loNew || st.bt.loToken != before || len(st.bt.runIDs) != 1 {
		t.Fatal("parts with a hash in both were folded")
	}
}

// failingPart is a lower part whose reads reaching past bad fail, as a
// store.Blocks's do at a block whose checksum does not check.
type failingPart struct {
	r   *bytes.Reader
	bad int64
}

func (p failingPart) ReadAt(b []byte, off int64) (int, error) {
	if off+int64(len(b)) > p.bad {
		return 0, errors.New("a damaged block")
	}
	return p.r.ReadAt(b, off)
}

func (p failingPart) Size() int64 { return p.r.Size() }

// TestSummaryDamagedLowerParts: a lower part of the pairs or gaps that
// cannot be read past its offsets (the batch's own gaps are looked up in
// it last), or only at its last byte (where no lookup may reach, but a fold
// reads it all), is not used: the summary is computed whole, and so is
// the checkpoint after it.
func TestSummaryDamagedLowerParts(t *testing.T) {
	cp, fsys := smallState(t)
	so := DefaultSummaryOptions()
	want, err := BuildSummary(fsys, "data", so)
	if err != nil {
		t.Fatal(err)
	}
	lp, ok1 := parseLowerPairs(viewOf(nil, cp.Pairs))
	lg, ok2 := parseLowerGaps(viewOf(nil, cp.Gaps))
	if !ok1 || !ok2 {
		t.Fatal("no lower parts")
	}
	defer func(f func(int) int) { foldAt = f }(foldAt)
	for _, c := range []struct {
		part string
		bad  int64
		fold bool
	}{
		{"gaps", lg.namesAt, false},
		{"pairs", lp.namesAt, false},
		{"gaps", lg.v.size - 1, true},
		{"pairs", lp.v.size - 1, true},
	} {
		foldAt = statecodec.FoldAt
		if c.fold {
			foldAt = func(int) int { return 0 }
		}
		parts := cp
		if c.part == "gaps" {
			parts.Gaps, parts.GapsAt = nil, failingPart{bytes.NewReader(cp.Gaps), c.bad}
		} else {
			parts.Pairs, parts.PairsAt = nil, failingPart{bytes.NewReader(cp.Pairs), c.bad}
		}
		got, next, ext, err := BuildSummaryFromCheckpoint(fsys, "data", so, DecodeSummaryCheckpoint(parts))
		if err != nil {
			t.Fatal(err)
		}
		if w, g := summaryJSON(t, want), summaryJSON(t, got); w != g {
			t.Errorf("%s part unreadable from byte %d: the summary differs:\n%s", c.part, c.bad, lineDiff(w, g))
		}
		if ext || next.Main == nil {
			t.Errorf("%s part unreadable from byte %d: extended %t, a new checkpoint %t", c.part, c.bad, ext, next.Main != nil)
		}
	}
}

// statePairs is every pair of a checkpoint (the upper part's over the
// lower's), its versions as strings.
func statePairs(t *testing.T, st *sumState) map[string]string {
	ra := st.ra
	out := map[string]string{}
	str := func(s pairState, v func(uint32) string) string {
		lv, fv := v(s.lastVer), v(s.failVer)
		s.lastVer, s.failVer = 0, 0
		return fmt.Sprintf("%+v lv=%q fv=%q", s, lv, fv)
	}
	if lo := ra.lo; lo != nil {
		if !lo.v.load() {
			t.Fatal("the lower part of the pairs does not read back")
		}
		for i := range lo.nRec {
			name := string(lo.name(i))
			from, to := lo.pairsOf(i)
			es := lo.entries(from, to)
			for ; len(es) > 0; es = es[pairBytes:] {
				r, pi, s, ok := decodePair(es[:pairBytes], ra.loBatches, uint64(len(ra.plats)), uint64(lo.nVers), uint64(len(ra.cats)))
				if !ok || int(r) != i {
					t.Fatalf("a pair of %s in the lower part: ok %v, recipe %d", name, ok, r)
				}
				k := name + "|" + ra.plats[pi]
				if _, dup := out[k]; dup {
					t.Fatalf("pair %s twice in the lower part", k)
				}
				out[k] = str(s, lo.ver)
			}
		}
	}
	for ri := range ra.recipes.Len() {
		for pi := range uint32(len(ra.plats)) {
			p, ok := ra.pairIdx(uint32(ri), pi)
			if !ok {
				continue
			}
			out[ra.recipes.Name(uint32(ri))+"|"+ra.plats[pi]] = str(ra.states.get(int(p)), func(i uint32) string { return ra.vers[i] })
		}
	}
	return out
}

// stateGaps is every gap of a checkpoint (the upper part's over the
// lower's), its names as strings.
func stateGaps(t *testing.T, st *sumState) map[string]string {
	fa := st.fa
	out := map[string]string{}
	if lo := fa.gapLo; lo != nil {
		if !lo.v.load() {
			t.Fatal("the lower part of the gaps does not read back")
		}
		for i := range lo.nPkg {
			name := string(lo.name(i))
			for r := lo.region(i); len(r) > 0; {
				plat, cat, mixed, deps, rest, ok := nextGap(r)
				if !ok {
					t.Fatal("a gap of the lower part does not read back")
				}
				var ds []string
				for j := 0; j < len(deps); j += 4 {
					ds = append(ds, fa.ids.names[binary.LittleEndian.Uint32(deps[j:])])
				}
				slices.Sort(ds)
				out[name+"|"+fa.ids.plats[plat]] = fmt.Sprint(fa.ids.names[cat], mixed, ds)
				r = rest
			}
		}
	}
	for k, g := range fa.gaps {
		var ds []string
		for _, d := range fa.depsOf(k, &g) {
			ds = append(ds, fa.ids.names[d])
		}
		slices.Sort(ds)
		m := 0
		if g.mixed {
			m = 1
		}
		out[fa.ids.pkgs.Name(k.pkg)+"|"+fa.ids.plats[k.plat]] = fmt.Sprint(fa.ids.names[g.cat], m, ds)
	}
	return out
}

// TestSummaryCheckpointStates: after every batch of a simulated history
// with new versions every few batches, folded every few batches, the
// checkpoint's pairs and gaps (both parts read back) are those of the
// history computed whole, and so is the summary; with pairs laid out
// densely, for one platform only, and for none (as with more platforms
// than maxDense).
func TestSummaryCheckpointStates(t *testing.T) {
	defer func(f func(int) int) { foldAt = f }(foldAt)
	defer func(m uint32) { maxDense = m }(maxDense)
	for _, md := range []uint32{1, 0, 64} {
		maxDense = md
		foldAt = func(n int) int { return max(3, n/6) }
		o := simulate.Options{Batches: 60, Seed: 23, Retests: true, Flaky: 0.02, FlakeRate: 0.3, Recipes: 2500, VersionEvery: 8, Start: simulate.DefaultOptions.Start}
		dir := t.TempDir()
		if _, err := simulate.Write(dir, o); err != nil {
			t.Fatal(err)
		}
		h := readHistoryByBatch(t, dir)
		so := DefaultSummaryOptions()
		var cp SummaryParts
		folds := 0
		for k := 1; k <= len(h.ids); k++ {
			fsys := h.upTo(k)
			var whole *sumState
			want, err := buildSummary(fsys, "data", so, &whole)
			if err != nil {
				t.Fatal(err)
			}
			got, next, ext, err := BuildSummaryFrom(fsys, "data", so, cp)
			if err != nil {
				t.Fatal(err)
			}
			if w, g := summaryJSON(t, want), summaryJSON(t, got); w != g {
				t.Fatalf("maxDense %d, batch %d: the summary from the checkpoint differs:\n%s", md, k, lineDiff(w, g))
			}
			if k > 1 && !ext {
				t.Errorf("maxDense %d, batch %d: not extended", md, k)
			}
			if next.Pairs != nil {
				folds++
			}
			cp = next.over(cp)
			dc := DecodeSummaryCheckpoint(cp)
			if dc == nil {
				t.Fatalf("maxDense %d, batch %d: the checkpoint is refused", md, k)
			}
			a, b := statePairs(t, dc.st), statePairs(t, whole)
			if len(a) != len(b) {
				t.Fatalf("maxDense %d, batch %d: %d pairs, the history has %d", md, k, len(a), len(b))
			}
			for key, v := range b {
				if a[key] != v {
					t.Fatalf("maxDense %d, batch %d: pair %s is %s, the history's %s", md, k, key, a[key], v)
				}
			}
			ga, gb := stateGaps(t, dc.st), stateGaps(t, whole)
			if len(ga) != len(gb) {
				t.Fatalf("maxDense %d, batch %d: %d gaps, the history has %d", md, k, len(ga), len(gb))
			}
			for key, v := range gb {
				if ga[key] != v {
					t.Fatalf("maxDense %d, batch %d: gap %s is %s, the history's %s", md, k, key, ga[key], v)
				}
			}
		}
		t.Logf("maxDense %d: %d folds of the pairs", md, folds)
		if folds < 5 {
			t.Errorf("maxDense %d: %d folds of the pairs", md, folds)
		}
	}
}
