package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
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

// TestWriterIgnoresItsFiles: EnsureIgnore leaves a .gitignore that keeps
// the lock files and the cache out of git; an existing one is not touched.
func TestWriterIgnoresItsFiles(t *testing.T) {
	dir := t.TempDir()
	EnsureIgnore(dir)
	got, err := os.ReadFile(filepath.Join(dir, IgnoreName))
	if err != nil || string(got) != IgnoreText {
		t.Fatalf(".gitignore %q, %v", got, err)
	}
	if git, err := exec.LookPath("git"); err == nil {
		if out, err := exec.Command(git, "init", "-q", dir).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v %s", err, out)
		}
		for _, name := range []string{LockName, GateName, ".batchsli.cache/x"} {
			cmd := exec.Command(git, "check-ignore", "--no-index", "-q", name)
			cmd.Dir = dir
			if err := cmd.Run(); err != nil {
				t.Errorf("git does not ignore %s: %v", name, err)
			}
		}
		cmd := exec.Command(git, "check-ignore", "--no-index", "-q", "metrics/batch-runs.jsonl")
		cmd.Dir = dir
		if cmd.Run() == nil {
			t.Error("git ignores the records")
		}
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, IgnoreName), []byte("mine\n"), 0o644)
	EnsureIgnore(other)
	if got, _ := os.ReadFile(filepath.Join(other, IgnoreName)); string(got) != "mine\n" {
		t.Errorf("an existing .gitignore became %q", got)
	}
}
