package analyze

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/batchsli/batchsli/simulate"
)

// BenchmarkReport builds the whole report over a simulated history:
// BATCHSLI_BENCH_DATA names a data directory (for example one written by
// `batchsli simulate --batches 20000`), else 2,000 batches are simulated.
func BenchmarkReport(b *testing.B) {
	dir := benchData(b)
	o := DefaultReportOptions(time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildReport(os.DirFS(dir), dir, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReportLast200 builds the report of the last 200 batches (what
// an operator asks most), which still walks every outcome record.
func BenchmarkReportLast200(b *testing.B) {
	dir := benchData(b)
	o := DefaultReportOptions(time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC))
	o.Last = 200
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildReport(os.DirFS(dir), dir, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummary builds the newest batch's job summary over the same
// history as BenchmarkReport.
func BenchmarkSummary(b *testing.B) {
	dir := benchData(b)
	o := DefaultSummaryOptions()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildSummary(os.DirFS(dir), dir, o); err != nil {
			b.Fatal(err)
		}
	}
}

// benchData names the benchmark history: BATCHSLI_BENCH_DATA, or 2,000
// batches simulated into a temporary directory.
func benchData(b *testing.B) string {
	if dir := os.Getenv("BATCHSLI_BENCH_DATA"); dir != "" {
		return dir
	}
	dir := b.TempDir()
	if _, err := simulate.Write(dir, simulate.Options{Batches: 2000, Seed: 1, Start: simulate.DefaultOptions.Start}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkValidate takes the inventory `batchsli validate` prints over
// the same history as BenchmarkReport.
func BenchmarkValidate(b *testing.B) {
	dir := benchData(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Take(os.DirFS(dir), dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFoldPairs is the fold of the job summary checkpoint's pairs
// that a record pays once in many (sumpairs.go): a lower part of 400,000
// recipes x 11 platforms (a registry's, 4.4 million pairs) and an upper
// part of a sixteenth of that, folded in memory. Reading the lower part
// from its blocks and storing the new one are the cache's (store's
// BenchmarkBlocks).
func BenchmarkFoldPairs(b *testing.B) {
	const recipes, plats = 400000, 11
	ra := newRecipeAgg(0, -1)
	for p := range plats {
		ra.platIdx[fmt.Sprint("p", p)] = uint32(p)
		ra.plats = append(ra.plats, fmt.Sprint("p", p))
	}
	for r := range recipes {
		ri := ra.recipe(fmt.Sprintf("npm:recipe%07d", r))
		for p := range uint32(plats) {
			i := int(ra.pairAt(ri, p))
			st := ra.states.get(i)
			st.lastPos = int32(r % 1000)
			ra.states.set(i, st)
		}
	}
	st := &sumState{ra: ra}
	st.foldPairs()
	lo := st.ra.lo
	if lo == nil || lo.nPairs != recipes*plats {
		b.Fatal("no lower part")
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		up := newRecipeAgg(0, -1)
		up.plats, up.platIdx = ra.plats, ra.platIdx
		up.attachLower(lo, 1000)
		for i := 0; up.states.len() <= foldAt(lo.nPairs); i++ {
			up.pairAt(up.recipe(fmt.Sprintf("npm:recipe%07d", i*7%recipes)), uint32(i%plats))
		}
		st.ra = up
		b.StartTimer()
		st.foldPairs()
		if st.ra.lo == lo {
			b.Fatal("not folded")
		}
	}
}
