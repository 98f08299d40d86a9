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
	"runtime/debug"
)

func main() {
	// A soft memory limit: the garbage collector works harder as the heap
	// nears it, keeping a report over gigabytes of history small. It is soft:
	// a larger live heap still runs. GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err and maps it to the process status: 0 fine, 1 the
// command found problems, 2 usage, 3 any other failure.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "batchsli: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "batchsli: "+err.Error())
	return 3
}
