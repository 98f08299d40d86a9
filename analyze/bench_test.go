package analyze

import (
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
