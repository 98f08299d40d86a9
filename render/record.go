package render

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/record"
)

// RecordAccount writes the short account `batchsli record` prints.
func RecordAccount(w io.Writer, run *model.BatchRun, failures int, wr record.Written) error {
	var b strings.Builder
	fmt.Fprintf(&b, "recorded batch %s (%s): %d recipes on %d platforms, %d failure records\n",
		run.BatchID, run.Ecosystem, run.Total, len(run.Platforms), failures)
	ids := make([]string, 0, len(run.Platforms))
	for id := range run.Platforms {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLATFORM\tTESTED\tPASSED\tFAILED\tSKIPPED\tDURATION")
	for _, id := range ids {
		c := run.Platforms[id]
		secs := duration(c.DurationSeconds)
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%s\n", id, c.Tested, c.Passed, c.Failed, c.Skipped, secs)
	}
	tw.Flush()
	if len(run.JobSeconds) > 0 {
		keys := make([]string, 0, len(run.JobSeconds))
		for k := range run.JobSeconds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := run.JobSeconds[k]
			fmt.Fprintf(&b, "  job %s: %s (kept whole in job_duration_seconds)\n", k, duration(&v))
		}
	}
	if run.MacOSMinutesUsed != nil {
		fmt.Fprintf(&b, "  macOS minutes used: %d\n", *run.MacOSMinutesUsed)
	} else {
		b.WriteString("  macOS minutes used: unknown (a darwin platform has no duration)\n")
	}
	for _, f := range wr.Files {
		fmt.Fprintf(&b, "wrote %d record(s) to %s\n", f.Records, f.Path)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
