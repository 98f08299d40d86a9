package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The folders of a compaction (docs/STORAGE.md). A compaction builds the
// new layout in StagingDir and commits it by renaming StagingDir to
// ReadyDir; from then on readers read ReadyDir, and Recover moves its
// folders into place.
const (
	StagingDir = ".compact-tmp"
	oldDir     = ".compact-old"
	linkedMark = "LINKED"
	newPrefix  = ".compact-new-"
)

// crashPoint is called between the steps of Commit and Recover; tests make
// it fail to stop them there, as a crash would.
var crashPoint = func(step string) error { return nil }

// Replaced lists the folders a compaction replaces whole; QuarantineDir
// receives what it moves aside.
var Replaced = []string{"metrics", "failures"}

// QuarantineDir holds what compaction moved aside; readers never read it.
const QuarantineDir = "quarantine"

// Commit makes a finished staging folder the data directory's layout: it
// renames StagingDir to ReadyDir (the commit point: from this rename on,
// readers read the new layout), then puts it in place with Recover. It must
// be called under the exclusive lock.
func Commit(dir string) error {
	if err := SyncDir(filepath.Join(dir, StagingDir)); err != nil {
		return err
	}
	if err := crashPoint("staged"); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, StagingDir), filepath.Join(dir, ReadyDir)); err != nil {
		return err
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	if err := crashPoint("committed"); err != nil {
		return err
	}
	return Recover(dir)
}

// Recover finishes a compaction that stopped after its commit point, and
// removes what one that stopped before it left. It is idempotent: a crash
// at any point inside it leaves a state it finishes. It must be called under
// the exclusive lock (record and compact call it first).
//
// The steps, each safe to repeat:
//  1. link every file of ReadyDir/metrics and ReadyDir/failures into
//     the folders .compact-new-metrics and .compact-new-failures, and its quarantine into quarantine/;
//     then mark ReadyDir LINKED;
//  2. for each folder with a .compact-new- one: move the old folder into .compact-old,
//     and rename the new one into place;
//  3. rename ReadyDir into .compact-old (from here readers read the new
//     metrics/ and failures/), and remove .compact-old.
func Recover(dir string) error {
	ready := filepath.Join(dir, ReadyDir)
	if _, err := os.Lstat(ready); errors.Is(err, fs.ErrNotExist) {
		// Nothing committed: what a compaction left before its commit
		// point is garbage.
		for _, p := range []string{StagingDir, oldDir, newPrefix + "metrics", newPrefix + "failures"} {
			if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
				return err
			}
		}
		return nil
	} else if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(ready, linkedMark)); err != nil {
		for _, sub := range Replaced {
			next := filepath.Join(dir, newPrefix+sub)
			if err := os.RemoveAll(next); err != nil {
				return err
			}
			if err := linkTree(filepath.Join(ready, sub), next); err != nil {
				return fmt.Errorf("compact: %w", err)
			}
			if err := crashPoint("linked " + sub); err != nil {
				return err
			}
		}
		if err := linkInto(filepath.Join(ready, QuarantineDir), filepath.Join(dir, QuarantineDir)); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		if err := crashPoint("linked quarantine"); err != nil {
			return err
		}
		mark, err := os.Create(filepath.Join(ready, linkedMark))
		if err != nil {
			return err
		}
		mark.Close()
		if err := SyncDir(ready); err != nil {
			return err
		}
	}
	old := filepath.Join(dir, oldDir)
	if err := os.MkdirAll(old, 0o755); err != nil {
		return err
	}
	for _, sub := range Replaced {
		next := filepath.Join(dir, newPrefix+sub)
		if _, err := os.Lstat(next); err != nil {
			continue // already in place
		}
		cur := filepath.Join(dir, sub)
		if _, err := os.Lstat(cur); err == nil {
			if err := os.Rename(cur, freeName(old, sub)); err != nil {
				return err
			}
			if err := crashPoint("moved old " + sub); err != nil {
				return err
			}
		}
		if err := os.Rename(next, cur); err != nil {
			return err
		}
		if err := crashPoint("placed " + sub); err != nil {
			return err
		}
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	if err := os.Rename(ready, freeName(old, "ready")); err != nil {
		return err
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	if err := crashPoint("retired ready"); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// freeName returns a path in dir named base, base.1, base.2, ... that does
// not exist yet.
func freeName(dir, base string) string {
	p := filepath.Join(dir, base)
	for n := 1; ; n++ {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
		p = filepath.Join(dir, fmt.Sprintf("%s.%d", base, n))
	}
}

// linkTree makes dst a new folder holding a link (or copy) of every entry
// of src, and syncs it.
func linkTree(src, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	if err := linkInto(src, dst); err != nil {
		return err
	}
	return SyncDir(dst)
}

// linkInto links (or copies) every entry of src into dst, made if need be,
// leaving entries dst already has; then syncs dst.
func linkInto(src, dst string) error {
	ents, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if _, err := os.Lstat(to); err == nil {
			continue
		}
		if err := LinkOrCopy(from, to); err != nil {
			return err
		}
	}
	return SyncDir(dst)
}

// LinkOrCopy makes to the same file as from: a hard link where the file
// system allows one, else a synced copy. A symbolic link is recreated as a
// symbolic link with the same target.
func LinkOrCopy(from, to string) error {
	st, err := os.Lstat(from)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		return os.Symlink(target, to)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a folder", from)
	}
	if err := os.Link(from, to); err == nil {
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	return out.Close()
}
