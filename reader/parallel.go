package reader

import (
	"io/fs"
	"sort"
	"sync"

	"github.com/batchsli/batchsli/model"
)

// FailuresParallel reads the failure files as Failures does, len(fns) at
// a time: each file is read whole by one worker, and worker w sends its
// records to fns[w] (so each callback runs on one goroutine at a time, in
// file and line order within a file). The problems, uncommitted records and
// file statistics join r's in file order, as Failures leaves them. The
// reader's OnUncommitted runs on the workers: it must be safe for that.
// Of the copies of a record (Copies), the one counted is the first a
// worker met, not always the first in file order; the problem names the
// later one in file order either way.
func (r *Reader) FailuresParallel(fns []func(*model.Failure)) error {
	if len(fns) == 0 {
		fns = []func(*model.Failure){func(*model.Failure) {}}
	}
	files, err := r.FailureFiles()
	if err != nil {
		return err
	}
	commits, err := r.Commits()
	if err != nil {
		return err
	}
	if r.opts.Copies == nil {
		// Room for about every batch, at 350 bytes a record line (v2
		// lines run 250-400) and 32 records a batch; it grows beyond.
		// Only the bytes to be read count; a reader that passes over the
		// lines in record's shape (BatchIDs) decodes few.
		var size int64
		for _, f := range files {
			if st, err := fs.Stat(r.fsys, f); err == nil {
				size += st.Size()
				if r.opts.Resume != nil {
					size -= min(r.opts.Resume(f).End, st.Size())
				}
			}
		}
		if r.opts.BatchIDs != nil {
			size = 0
		}
		r.opts.Copies = NewCopiesSized(int(min(size/350, 1<<26)))
	}
	type result struct {
		problems, uncommitted    []Problem
		dropped, moreUncommitted int
		files                    []FileStat
		err                      error
	}
	results := make([]result, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range fns {
		wg.Add(1)
		go func(fn func(*model.Failure)) {
			defer wg.Done()
			for i := range next {
				opts := r.opts
				opts.Commits = commits
				sub := New(r.fsys, r.name, opts)
				res := &results[i]
				res.err = sub.FailureFile(files[i], fn)
				res.problems, res.dropped = sub.Problems()
				res.uncommitted, res.moreUncommitted = sub.Uncommitted()
				res.files = sub.Files()
			}
		}(fns[w])
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	// A copy of a record is reported at whichever copy comes later in file
	// order, by whichever worker met the second: in file and line order,
	// the problems are where Failures would have put them.
	var problems []Problem
	for _, res := range results {
		if res.err != nil {
			return res.err
		}
		problems = append(problems, res.problems...)
		r.droppedProblems += res.dropped
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	for _, p := range problems {
		r.addProblem(p)
	}
	for _, res := range results {
		for _, p := range res.uncommitted {
			r.addUncommitted(p)
		}
		r.moreUncommitted += res.moreUncommitted
		r.files = append(r.files, res.files...)
	}
	return nil
}

// Join adds what other found (its problems, uncommitted records and file
// statistics) after r's, as if r had read other's files after its own. A
// caller reads some files with other while r reads others, then joins.
func (r *Reader) Join(other *Reader) {
	for _, p := range other.problems {
		r.addProblem(p)
	}
	r.droppedProblems += other.droppedProblems
	for _, p := range other.uncommitted {
		r.addUncommitted(p)
	}
	r.moreUncommitted += other.moreUncommitted
	r.files = append(r.files, other.files...)
}
