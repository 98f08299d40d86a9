// Command batchsli records per-platform SLI metrics for a recipe-generation
// batch pipeline and reports on them across runs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/batchsli/batchsli/internal/memlimit"
	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/store"
)

func main() {
	// The heap may grow a quarter above what is live between collections
	// (GOGC 25, not the default 100: a report's live heap is its
	// aggregates, and doubling it between collections would double the
	// peak), but at least 32 MiB, so a small heap (validate's, record's)
	// is not collected over and over for little garbage each time
	// (memlimit.Growth). A soft limit of 128 MiB makes the collector work
	// harder near that. The limit follows the live heap when that outgrows
	// it (memlimit): a limit below the live heap makes the collector run
	// non-stop (half the CPU) and still not keep the heap under it. GOGC
	// and GOMEMLIMIT override them.
	if os.Getenv("GOGC") == "" {
		memlimit.Growth(32<<20, 25)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		memlimit.Keep(128 << 20)
	}
	ctx, cancel := context.WithCancel(context.Background())
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	var interrupted atomic.Bool
	go func() {
		<-interrupts
		interrupted.Store(true)
		cancel()
		// A commit in progress finishes first (whole); none starts after.
		store.HoldCritical()
		fmt.Fprintln(os.Stderr, "batchsli: interrupted")
		os.Exit(exitInterrupted)
	}()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if interrupted.Load() {
		// The command stopped because of the signal (its error is only
		// "context canceled"); the handler is exiting with 130.
		store.HoldCritical()
		fmt.Fprintln(os.Stderr, "batchsli: interrupted")
		os.Exit(exitInterrupted)
	}
	os.Exit(exitCode(err, os.Stderr))
}

// exitInterrupted is the status after SIGINT or SIGTERM, as shells report a
// process killed by SIGINT (128 + 2).
const exitInterrupted = 130

// exitCode prints err and maps it to the process status: 0 fine, 1 the
// command found problems, 2 usage, 3 any other failure.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "batchsli: "+safetext.Escape(ee.msg))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "batchsli: "+safetext.Escape(err.Error()))
	return 3
}
