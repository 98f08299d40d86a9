package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/store"
)

const summarySynopsis = "summary [--data DIR | --demo] [--batch-id ID] [flags]"

func runSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "summary", summarySynopsis, stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "summarise a batch of the sample history built into batchsli")
	batchID := fs.String("batch-id", "", "the batch (default: the newest)")
	output := fs.String("output", "-", "where to write the markdown (appended to a file; - for standard output)")
	week := addWeekFlags(fs, false)
	format := fs.String("format", "markdown", "output format: markdown (the job summary) or json (every field, every transition)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("summary", pos); err != nil {
		return err
	}
	if *format != "markdown" && *format != "json" {
		return usageError("summary: --format must be markdown or json, not %q", *format)
	}
	o := analyze.DefaultSummaryOptions()
	if err := week.apply("summary", fs, &o.Report); err != nil {
		return err
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	o.BatchID = *batchID
	s, err := checkpointedSummary(fsys, name, *data, *demo, o, nil)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if *format == "json" {
		if *output != "-" {
			return usageError("summary: --format json writes to standard output only")
		}
		return render.JSON(stdout, s)
	}
	return writeSummary(s, *output, stdout)
}

// writeSummary appends the rendered summary to path ("-": w), keeping the
// file under render.SummaryLimit with what it already holds.
func writeSummary(s *analyze.Summary, path string, w io.Writer) error {
	limit := render.SummaryLimit
	if path != "-" {
		if st, err := os.Stat(path); err == nil {
			limit -= int(st.Size())
		}
	}
	if limit < 16<<10 {
		return fmt.Errorf("summary: %s already holds %d bytes; no room for a summary under GitHub's limit", path, render.SummaryLimit-limit)
	}
	md, _ := render.SummaryMarkdown(s, limit)
	if path == "-" {
		_, err := io.WriteString(w, md)
		return err
	}
	return appendTo(path, md, true)
}

// appendTo appends text to the file at path, on a line of its own: when
// the file does not end with a newline one is written first, and with
// blank, a blank line (a markdown heading after another step's text that
// lacks its last newline would otherwise join that text's last line).
func appendTo(path, text string, blank bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	lead := ""
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		tail := make([]byte, min(st.Size(), 2))
		if _, err := f.ReadAt(tail, st.Size()-int64(len(tail))); err == nil {
			switch {
			case tail[len(tail)-1] != '\n':
				lead = "\n"
				if blank {
					lead = "\n\n"
				}
			case blank && (len(tail) < 2 || tail[0] != '\n'):
				lead = "\n"
			}
		}
	}
	if _, err := f.WriteString(lead + text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// githubStep writes the summary, outputs and annotations a GitHub Actions
// step expects, where the environment asks for them: the summary to
// --summary or $GITHUB_STEP_SUMMARY, key figures to $GITHUB_OUTPUT, and
// ::warning:: annotations to stdout when $GITHUB_ACTIONS is true.
func githubStep(ctx context.Context, data, batchID, summaryPath string, week analyze.ReportOptions, ahead *summaryAhead, stdout io.Writer) error {
	summaryPath, outputs, actions, wanted := stepWanted(summaryPath)
	if !wanted {
		return nil
	}
	o := analyze.DefaultSummaryOptions()
	o.BatchID = batchID
	o.Report.WeekBudget, o.Report.WeekStart, o.Report.SkipThreshold = week.WeekBudget, week.WeekStart, week.SkipThreshold
	fsys, release, err := store.Open(ctx, data)
	if err != nil {
		return err
	}
	s, err := checkpointedSummary(fsys, data, data, false, o, ahead)
	release()
	if err != nil {
		return err
	}
	if summaryPath != "" {
		if err := writeSummary(s, summaryPath, stdout); err != nil {
			return err
		}
	}
	if outputs != "" {
		if err := appendTo(outputs, render.GitHubOutputs(s), false); err != nil {
			return err
		}
	}
	if actions {
		io.WriteString(stdout, render.Annotations(s))
	}
	return nil
}

// summariesExtended counts the summaries extended from a checkpoint (for
// tests).
var summariesExtended int

// summaryCacheKind is the cache entry kind of the job summary's checkpoint.
const summaryCacheKind = "summary"

// summaryLowerKind is the cache entry kind of the lower part of the
// checkpoint's batch table, stored apart under the same key
// (analyze.SummaryParts).
const summaryLowerKind = "sumbase"

// summaryPairsKind is the cache entry kind of the lower part of the
// checkpoint's recipe x platform states, stored apart under the same key.
const summaryPairsKind = "pairbase"

// summaryGapsKind is the cache entry kind of the lower part of the
// checkpoint's gap states, stored apart under the same key.
const summaryGapsKind = "gapbase"

// stepWanted says where a GitHub Actions step's summary and outputs go
// (summaryPath, else $GITHUB_STEP_SUMMARY; $GITHUB_OUTPUT), whether it is
// in Actions, and whether any of them is wanted.
func stepWanted(summaryPath string) (path, outputs string, actions, wanted bool) {
	if summaryPath == "" {
		summaryPath = os.Getenv("GITHUB_STEP_SUMMARY")
	}
	outputs = os.Getenv("GITHUB_OUTPUT")
	actions = os.Getenv("GITHUB_ACTIONS") == "true"
	return summaryPath, outputs, actions, summaryPath != "" || outputs != "" || actions
}

// summaryAhead is a job summary's checkpoint read and decoded by another
// goroutine while record appends its batch: on two cores, the checkpoint
// of a long history costs the summary no time. Nothing in it is trusted
// until the summary checks it against the data (as when read then).
type summaryAhead struct {
	done  chan struct{}
	cp    *analyze.SummaryCheckpoint
	parts analyze.SummaryParts
}

// readSummaryAhead starts reading dir's summary checkpoint, when record's
// step will write a summary (nil otherwise, or with the cache off).
func readSummaryAhead(dir, summaryPath string) *summaryAhead {
	if _, _, _, wanted := stepWanted(summaryPath); !wanted || os.Getenv("BATCHSLI_CACHE") == "off" {
		return nil
	}
	a := &summaryAhead{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		c := store.OpenCache(dir)
		defer c.Close()
		a.parts = getSummaryParts(c, dir)
		a.cp = analyze.DecodeSummaryCheckpoint(a.parts)
	}()
	return a
}

// take waits for the checkpoint and returns it and the parts it was read
// from (to close), once (nil after, or for none).
func (a *summaryAhead) take() (*analyze.SummaryCheckpoint, analyze.SummaryParts) {
	if a == nil {
		return nil, analyze.SummaryParts{}
	}
	<-a.done
	cp, parts := a.cp, a.parts
	a.cp, a.parts = nil, analyze.SummaryParts{}
	return cp, parts
}

// getSummaryParts reads dir's summary checkpoint from the cache.
func getSummaryParts(c *store.Cache, dir string) analyze.SummaryParts {
	var p analyze.SummaryParts
	p.Main, _ = c.Get(summaryCacheKind, summaryKey(dir))
	if p.Main != nil {
		p.Lower, _ = c.Get(summaryLowerKind, summaryKey(dir))
		// Stored in blocks, read in place (closeParts closes them).
		if b, ok := c.GetBlocks(summaryPairsKind, summaryKey(dir)); ok {
			p.PairsAt = b
		}
		if b, ok := c.GetBlocks(summaryGapsKind, summaryKey(dir)); ok {
			p.GapsAt = b
		}
	}
	return p
}

// closeParts closes the parts getSummaryParts opened.
func closeParts(p analyze.SummaryParts) {
	for _, part := range []analyze.Part{p.PairsAt, p.GapsAt} {
		if b, ok := part.(*store.Blocks); ok {
			b.Close()
		}
	}
}

// summaryKey is the cache key of dir's summary checkpoint.
func summaryKey(dir string) []byte {
	return append([]byte("summary\x00"+dir+"\x00"), store.BuildID()...)
}

// checkpointedSummary computes a job summary through the data directory's
// cache (docs/STORAGE.md, "The job summary's checkpoint"): extended from
// the checkpoint the last summary left when only whole new batches were
// recorded since, else from the whole history; the checkpoint after it is
// kept. The summary is the same either way. ahead, when not nil, is the
// checkpoint already being read.
func checkpointedSummary(data fs.FS, name, dir string, demo bool, o analyze.SummaryOptions, ahead *summaryAhead) (*analyze.Summary, error) {
	if demo || os.Getenv("BATCHSLI_CACHE") == "off" {
		return analyze.BuildSummary(data, name, o)
	}
	c := store.OpenCache(dir)
	defer c.Close()
	key := summaryKey(dir)
	var cp *analyze.SummaryCheckpoint
	var parts analyze.SummaryParts
	if ahead != nil {
		cp, parts = ahead.take()
	} else {
		parts = getSummaryParts(c, dir)
		cp = analyze.DecodeSummaryCheckpoint(parts)
	}
	// A summary that met a read error may not read the same again: its
	// checkpoint is not kept.
	fsys := store.Watch(data)
	s, next, extended, err := analyze.BuildSummaryFromCheckpoint(fsys, name, o, cp)
	// The parts read are closed before any is written again.
	closeParts(parts)
	if err != nil {
		return nil, err
	}
	if extended {
		summariesExtended++
	}
	if next.Main != nil && fsys.Errors() == 0 {
		c.Put(summaryCacheKind, key, next.Main)
		if next.Lower != nil {
			c.Put(summaryLowerKind, key, next.Lower)
		}
		if next.Pairs != nil {
			c.PutBlocks(summaryPairsKind, key, next.Pairs)
		}
		if next.Gaps != nil {
			c.PutBlocks(summaryGapsKind, key, next.Gaps)
		}
	}
	return s, nil
}
