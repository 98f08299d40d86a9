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

// GateName is the lock file that queues readers behind a waiting writer:
// a writer holds it while it waits for the readers in progress and while it
// writes; a reader takes it only for a moment, before its shared lock. So
// a stream of readers cannot starve a writer.
const GateName = ".batchsli.gate"

// ErrBusy is returned by TryLock when another writer holds the lock.
var ErrBusy = errors.New("another batchsli writer holds the lock")

const retry = 5 * time.Millisecond

func lockCtx(ctx context.Context, l *flock.Flock, shared bool) error {
	var ok bool
	var err error
	if shared {
		ok, err = l.TryRLockContext(ctx, retry)
	} else {
		ok, err = l.TryLockContext(ctx, retry)
	}
	if err == nil && !ok {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	return nil
}

// Lock takes the exclusive lock on dir, waiting for other holders until ctx
// is done. The returned function releases it.
func Lock(ctx context.Context, dir string) (func(), error) {
	gate := flock.New(filepath.Join(dir, GateName), flock.SetPermissions(0o644))
	if err := lockCtx(ctx, gate, false); err != nil {
		gate.Close()
		return nil, err
	}
	return lockData(ctx, dir, gate)
}

func lockData(ctx context.Context, dir string, gate *flock.Flock) (func(), error) {
	l := flock.New(filepath.Join(dir, LockName), flock.SetPermissions(0o644))
	if err := lockCtx(ctx, l, false); err != nil {
		l.Close()
		gate.Unlock()
		gate.Close()
		return nil, err
	}
	return func() {
		l.Unlock()
		l.Close()
		gate.Unlock()
		gate.Close()
	}, nil
}

// IgnoreName is the .gitignore record puts in a data directory that has
// none when it commits a batch there (EnsureIgnore), so that a workflow's "git add data" never commits the lock files
// or the cache (IgnoreText).
const IgnoreName = ".gitignore"

// IgnoreText is what that .gitignore holds.
const IgnoreText = "# batchsli's lock files and cache: never data (written by batchsli when there was no .gitignore here)\n/.batchsli.*\n"

// EnsureIgnore writes dir's .gitignore when there is none. An existing one
// is left as it is; a directory that cannot take it (read-only) is left
// too: the lock files are then the repository's to ignore.
func EnsureIgnore(dir string) {
	f, err := os.OpenFile(filepath.Join(dir, IgnoreName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return
	}
	_, werr := f.WriteString(IgnoreText)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
	}
}

// TryLock takes the exclusive lock on dir only if no other writer holds or
// waits for it (it returns ErrBusy then); it waits for readers in progress.
func TryLock(ctx context.Context, dir string) (func(), error) {
	gate := flock.New(filepath.Join(dir, GateName), flock.SetPermissions(0o644))
	ok, err := gate.TryLock()
	if err != nil {
		gate.Close()
		return nil, fmt.Errorf("lock %s: %w", gate.Path(), err)
	}
	if !ok {
		gate.Close()
		return nil, ErrBusy
	}
	// Wait for readers in progress, not for a writer that takes the lock
	// without the gate (an older batchsli).
	wctx, cancel := context.WithTimeout(ctx, ReaderWait)
	defer cancel()
	unlock, err := lockData(wctx, dir, gate)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("readers have held the lock for %v: %w", ReaderWait, ErrBusy)
	}
	return unlock, err
}

// tryLockNow takes the exclusive lock only if nobody holds the gate or the
// lock at this moment.
func tryLockNow(dir string) (func(), error) {
	gate := flock.New(filepath.Join(dir, GateName), flock.SetPermissions(0o644))
	if ok, err := gate.TryLock(); err != nil || !ok {
		gate.Close()
		return nil, ErrBusy
	}
	l := flock.New(filepath.Join(dir, LockName), flock.SetPermissions(0o644))
	if ok, err := l.TryLock(); err != nil || !ok {
		l.Close()
		gate.Unlock()
		gate.Close()
		return nil, ErrBusy
	}
	return func() { l.Unlock(); l.Close(); gate.Unlock(); gate.Close() }, nil
}

// ReaderWait is how long TryLock waits for readers in progress.
var ReaderWait = 30 * time.Second

// RLock takes the shared lock on dir, waiting while a writer holds it or
// waits for it. A directory where the lock files cannot be opened or made (a
// read-only checkout) is read without the lock: no batchsli writer can be
// working in it either. The returned function releases the lock.
func RLock(ctx context.Context, dir string) (func(), error) {
	releaseGate, err := lockIfPossible(ctx, filepath.Join(dir, GateName), false)
	if err != nil {
		return nil, err
	}
	defer releaseGate()
	return lockIfPossible(ctx, filepath.Join(dir, LockName), true)
}

// lockIfPossible takes a lock file exclusively or shared, waiting until ctx
// is done; a file that can be neither opened nor made is no lock at all
// (a read-only directory) and yields a release that does nothing.
func lockIfPossible(ctx context.Context, path string, shared bool) (func(), error) {
	l, ok := openForLock(path)
	if !ok {
		return func() {}, nil
	}
	if err := lockCtx(ctx, l, shared); err != nil {
		l.Close()
		if ctx.Err() != nil {
			return nil, err
		}
		return func() {}, nil
	}
	return func() { l.Unlock(); l.Close() }, nil
}

// openForLock opens a lock file for reading, making it if it is missing and
// can be made. ok is false when it can be neither opened nor made.
func openForLock(path string) (l *flock.Flock, ok bool) {
	flag := os.O_RDWR | os.O_CREATE
	if _, err := os.Stat(path); err == nil {
		flag = os.O_RDONLY
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if flag != os.O_RDONLY {
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			return nil, false
		}
		f.Close()
	}
	return flock.New(path, flock.SetFlag(os.O_RDONLY)), true
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
