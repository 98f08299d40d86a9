// Package store knows the on-disk layout of a data directory: where records
// live, how writers and readers take turns (the lock), what a crashed
// compaction left behind and how it is finished, and the critical section in
// which a commit must not be interrupted. It does not decode records; package
// reader does, and applies the commit rule documented in docs/STORAGE.md.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// LockName is the lock file in the data directory. Writers (record,
// compact) hold it exclusively; readers hold it shared, so they never see a
// commit or a compaction half done.
const LockName = ".batchsli.lock"

// ErrBusy is returned by TryLock when another process holds the lock.
var ErrBusy = errors.New("another batchsli process holds the lock")

const retry = 20 * time.Millisecond

// Lock takes the exclusive lock on dir, waiting for other holders until ctx
// is done. The returned function releases it.
func Lock(ctx context.Context, dir string) (func(), error) {
	l := flock.New(filepath.Join(dir, LockName))
	ok, err := l.TryLockContext(ctx, retry)
	if err != nil || !ok {
		l.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	return func() { l.Unlock(); l.Close() }, nil
}

// TryLock takes the exclusive lock on dir only if nobody holds it; it
// returns ErrBusy otherwise.
func TryLock(dir string) (func(), error) {
	l := flock.New(filepath.Join(dir, LockName))
	ok, err := l.TryLock()
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	if !ok {
		l.Close()
		return nil, fmt.Errorf("%s: %w", l.Path(), ErrBusy)
	}
	return func() { l.Unlock(); l.Close() }, nil
}

// RLock takes the shared lock on dir, waiting while a writer holds it. A
// directory where the lock file cannot be opened or made (a read-only
// checkout) is read without the lock: no batchsli writer can be working in
// it either. The returned function releases the lock.
func RLock(ctx context.Context, dir string) (func(), error) {
	path := filepath.Join(dir, LockName)
	flag := os.O_RDWR | os.O_CREATE
	if _, err := os.Stat(path); err == nil {
		flag = os.O_RDONLY
	} else if !errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	l := flock.New(path, flock.SetFlag(flag))
	ok, err := l.TryRLockContext(ctx, retry)
	if err != nil || !ok {
		l.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		}
		return func() {}, nil
	}
	return func() { l.Unlock(); l.Close() }, nil
}

// critical guards the writes of a commit. Interrupt handlers take it, so a
// signal that arrives while a batch is being written waits for the write to
// finish (commit whole) and one that arrives before keeps it from starting
// (write nothing).
var critical sync.Mutex

// EnterCritical marks the start of writes that must not be interrupted; it
// returns the function that marks their end.
func EnterCritical() func() {
	critical.Lock()
	return critical.Unlock
}

// HoldCritical waits for any critical section in progress to end and keeps
// new ones from starting. It is for a process about to exit on a signal.
func HoldCritical() { critical.Lock() }
