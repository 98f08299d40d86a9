// Package sample holds the history built into batchsli, so that its commands
// can be tried from any folder with --demo: 120 simulated batches (package
// simulate, seed 1) over three weeks of March 2026.
package sample

import (
	"embed"
	"io/fs"
	"time"

	"github.com/batchsli/batchsli/simulate"
)

//go:generate sh -c "rm -rf data/metrics data/failures data/outcomes && go run ../cmd/batchsli simulate --out data --batches 120 --seed 1"

//go:embed data
var data embed.FS

// Options are the simulation the sample was written with.
var Options = simulate.Options{Batches: 120, Seed: 1, Start: simulate.DefaultOptions.Start,
	Retests: true, Flaky: simulate.DefaultOptions.Flaky, FlakeRate: simulate.DefaultOptions.FlakeRate}

// Clock is the sample's "now", just after its last batch, so that the budget
// and trends read as they would have on the day.
var Clock = time.Date(2026, 3, 22, 4, 0, 0, 0, time.UTC)

// FS returns the sample data directory (metrics/ and failures/ at its root).
func FS() fs.FS {
	sub, err := fs.Sub(data, "data")
	if err != nil {
		panic(err)
	}
	return sub
}
