package store

import (
	"context"
	"fmt"
	"io/fs"
	"os"
)

// ReadyDir is where a compaction's new layout waits, complete, between its
// commit point and the moment it replaces metrics/ and failures/. While it
// exists, readers read it instead (docs/STORAGE.md).
const ReadyDir = ".compact-ready"

// Open opens dir for reading: it takes the shared lock (so no commit or
// compaction is half done while the caller reads), and returns the folder
// readers must read (dir, or a finished compaction waiting in ReadyDir) as
// an fs.FS that never follows a link out of it. release frees both.
func Open(ctx context.Context, dir string) (fsys fs.FS, release func(), err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("data directory %s is not a folder", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	if recoverOnRead && readyDir(root) {
		// A compaction stopped after its commit point: finish it now if
		// this directory can be written and no writer is at work.
		if unlock, err := tryLockNow(dir); err == nil {
			err := Recover(root)
			unlock()
			if err != nil {
				root.Close()
				return nil, nil, fmt.Errorf("an interrupted compaction cannot be finished: %w", err)
			}
		}
	}
	unlock, err := RLock(ctx, dir)
	if err != nil {
		root.Close()
		return nil, nil, err
	}
	// A finished compaction still waiting to be put in place is the data,
	// unless files changed since it read them (then reading it would miss
	// records: say so rather than undercount).
	if readyDir(root) {
		if err := Drift(root); err != nil {
			root.Close()
			unlock()
			return nil, nil, fmt.Errorf("an interrupted compaction waits to be finished, and %v: run batchsli compact where the data directory can be written", err)
		}
		ready, err := root.OpenRoot(ReadyDir)
		root.Close()
		if err != nil {
			unlock()
			return nil, nil, fmt.Errorf("data directory: %w", err)
		}
		root = ready
	}
	return root.FS(), func() { root.Close(); unlock() }, nil
}

// recoverOnRead lets Open finish an interrupted compaction; tests turn it
// off to see what readers read in the meantime.
var recoverOnRead = true

// readyDir reports whether root holds a finished compaction waiting to be
// put in place: ReadyDir with real metrics and failures folders (a link by
// one of those names is not batchsli's, and is ignored).
func readyDir(root *os.Root) bool {
	for _, p := range []string{ReadyDir, ReadyDir + "/metrics", ReadyDir + "/failures"} {
		st, err := root.Lstat(p)
		if err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}
