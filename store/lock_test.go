package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// TestTryLock: refused at once while a writer holds the gate; refused after
// ReaderWait while something holds only the data lock; granted once free.
func TestTryLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(context.Background(), dir); !errors.Is(err, ErrBusy) {
		t.Errorf("with a writer: %v", err)
	}
	unlock()
	old := ReaderWait
	ReaderWait = 100 * time.Millisecond
	defer func() { ReaderWait = old }()
	l := flock.New(filepath.Join(dir, LockName))
	if err := l.Lock(); err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(context.Background(), dir); !errors.Is(err, ErrBusy) {
		t.Errorf("with the data lock held: %v", err)
	}
	l.Unlock()
	unlock, err = TryLock(context.Background(), dir)
	if err != nil {
		t.Fatalf("free: %v", err)
	}
	unlock()
	for _, name := range []string{LockName, GateName} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v, want mode 0644 so readers of other users can lock", name, st.Mode(), err)
		}
	}
}
