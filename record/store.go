package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// Written says what Append wrote.
type Written struct {
	BatchID string
	Files   []WrittenFile
}

// WrittenFile is one file appended to and the records it received.
type WrittenFile struct {
	Path    string
	Records int
}

// LockName is the lock file in the data directory that serialises writers.
const LockName = ".batchsli.lock"

// Append writes a batch's records into dir under an exclusive lock: the
// failure records to failures/<ecosystem>.jsonl (one file per ecosystem) and
// the batch-run record to metrics/batch-runs.jsonl, or with perRun to files of
// their own named after the batch. It makes a batch ID when run has none and
// refuses one already recorded. On any error nothing is left written.
func Append(dir string, run *model.BatchRun, failures []*model.Failure, perRun bool) (Written, error) {
	for _, sub := range []string{"metrics", "failures"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return Written{}, fmt.Errorf("record: %w", err)
		}
	}
	unlock, err := lock(filepath.Join(dir, LockName))
	if err != nil {
		return Written{}, err
	}
	defer unlock()

	ids, err := recordedIDs(dir)
	if err != nil {
		return Written{}, err
	}
	metricsName := "batch-runs.jsonl"
	if run.BatchID == "" {
		run.BatchID = nextBatchID(ids, run)
	} else if where, dup := ids.v2[run.BatchID]; dup {
		return Written{}, fmt.Errorf("record: batch %s is already recorded in %s (use --batch-id to record a new batch)", run.BatchID, where)
	}
	if perRun {
		metricsName = "batch-runs-" + run.BatchID + ".jsonl"
	}

	// Lay out every file's bytes before touching any file.
	type target struct {
		path string
		data bytes.Buffer
		n    int
	}
	var order []string
	targets := map[string]*target{}
	add := func(path string, v any) error {
		t := targets[path]
		if t == nil {
			t = &target{path: path}
			targets[path] = t
			order = append(order, path)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		t.data.Write(b)
		t.data.WriteByte('\n')
		t.n++
		return nil
	}
	for _, f := range failures {
		f.BatchID = run.BatchID
		name := f.Ecosystem + ".jsonl"
		if perRun {
			name = f.Ecosystem + "-" + run.BatchID + ".jsonl"
		}
		if err := add(filepath.Join(dir, "failures", name), f); err != nil {
			return Written{}, fmt.Errorf("record: %w", err)
		}
	}
	// The batch-run record goes last: it is what makes the batch recorded.
	if err := add(filepath.Join(dir, "metrics", metricsName), run); err != nil {
		return Written{}, fmt.Errorf("record: %w", err)
	}

	var done []undo
	w := Written{BatchID: run.BatchID}
	for _, p := range order {
		t := targets[p]
		u, err := appendFile(t.path, t.data.Bytes())
		if err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				done[i].rollback()
			}
			return Written{}, fmt.Errorf("record: %w (nothing was recorded)", err)
		}
		done = append(done, u)
		w.Files = append(w.Files, WrittenFile{Path: t.path, Records: t.n})
	}
	return w, nil
}

type undo struct {
	path    string
	size    int64
	created bool
}

func (u undo) rollback() {
	if u.created {
		os.Remove(u.path)
		return
	}
	os.Truncate(u.path, u.size)
}

// appendFile appends data in one write. A file whose last byte is not a
// newline (a torn write) gets one first, so the torn line stays alone.
func appendFile(path string, data []byte) (undo, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return undo{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return undo{}, err
	}
	u := undo{path: path, size: st.Size(), created: created}
	if st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil && err != io.EOF {
			return undo{}, err
		}
		if last[0] != '\n' {
			data = append([]byte{'\n'}, data...)
		}
	}
	if _, err := f.Write(data); err != nil {
		u.rollback()
		return undo{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		u.rollback()
		return undo{}, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("record: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

type idSet struct {
	v2  map[string]string // v2 batch ID -> where it is recorded
	all map[string]bool
}

func recordedIDs(dir string) (idSet, error) {
	s := idSet{v2: map[string]string{}, all: map[string]bool{}}
	r := reader.New(os.DirFS(dir), dir, reader.Options{SkipMessages: true, MaxProblems: 1, Reuse: true})
	err := r.Metrics(func(b *model.BatchRun) {
		s.all[b.BatchID] = true
		if b.SchemaVersion == model.SchemaVersion {
			s.v2[b.BatchID] = b.Source.File
		}
	})
	if err != nil {
		return s, fmt.Errorf("record: reading recorded batches: %w", err)
	}
	return s, nil
}

// nextBatchID makes YYYY-MM-DD-ECO-NNN, one past the highest NNN recorded for
// that day and ecosystem.
func nextBatchID(ids idSet, run *model.BatchRun) string {
	prefix := run.Timestamp.UTC().Format("2006-01-02") + "-" + run.Ecosystem + "-"
	var nums []int
	for id := range ids.all {
		if rest, ok := strings.CutPrefix(id, prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil {
				nums = append(nums, n)
			}
		}
	}
	sort.Ints(nums)
	next := 1
	if len(nums) > 0 {
		next = nums[len(nums)-1] + 1
	}
	return fmt.Sprintf("%s%03d", prefix, next)
}
