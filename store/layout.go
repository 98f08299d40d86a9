package store

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// SyncDir syncs a folder, so that a file made in it survives a crash. Systems
// that cannot sync a folder (Windows) are left to their own guarantees.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

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
	unlock, err := RLock(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	// A finished compaction waiting to be put in place is the data (a
	// link by that name is not batchsli's, and is ignored).
	if st, err := root.Lstat(ReadyDir); err == nil && st.IsDir() {
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
