package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
)

// The folders of a compaction (docs/STORAGE.md). A compaction builds the
// new layout in StagingDir and commits it by renaming StagingDir to
// ReadyDir; from then on readers read ReadyDir, and Recover moves its
// folders into place.
const (
	StagingDir = ".compact-tmp"
	oldDir     = ".compact-old"
	linkedMark = "LINKED"
	// ManifestName, in the staging folder, lists the entries of metrics/
	// and failures/ the compaction read, so that Recover keeps anything that
	// arrived after it (a git pull) rather than retire it with the old
	// folders.
	ManifestName = "INPUTS.json"
	newPrefix    = ".compact-new-"
)

// crashPoint is called between the steps of Commit and Recover; tests make
// it fail to stop them there, as a crash would.
var crashPoint = func(step string) error { return nil }

// Replaced lists the folders a compaction replaces whole; QuarantineDir
// receives what it moves aside.
var Replaced = []string{"metrics", "failures"}

// QuarantineDir holds what compaction moved aside; readers never read it.
const QuarantineDir = "quarantine"

// Every path below is relative to the data directory and goes through an
// os.Root: nothing here follows a link out of the data directory.

// CheckOwnDirs refuses a data directory where a folder batchsli manages
// (metrics, failures, quarantine and the compaction folders) is a symbolic
// link or not a folder: batchsli never makes one, and following it could
// move records out of the directory or into the wrong folder.
func CheckOwnDirs(root *os.Root) error {
	names := []string{"metrics", "failures", QuarantineDir, StagingDir, ReadyDir, oldDir, newPrefix + "metrics", newPrefix + "failures",
		ReadyDir + "/metrics", ReadyDir + "/failures", ReadyDir + "/" + QuarantineDir}
	for _, name := range names {
		st, err := root.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is a %s, not a folder; batchsli makes only folders there: move it away first", path.Join(root.Name(), name), kind(st.Mode()))
		}
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsRegular():
		return "file"
	}
	return "special file"
}

// SyncDirAt syncs a folder of root, so that a file made or renamed in it
// survives a crash. Systems that cannot sync a folder (Windows) are left to
// their own guarantees.
func SyncDirAt(root *os.Root, name string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := root.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Commit makes a finished staging folder the data directory's layout: it
// renames StagingDir to ReadyDir (the commit point: from this rename on,
// readers read the new layout), then puts it in place with Recover. It must
// be called under the exclusive lock.
func Commit(root *os.Root) error {
	if err := CheckOwnDirs(root); err != nil {
		return err
	}
	if err := SyncDirAt(root, StagingDir); err != nil {
		return err
	}
	if err := crashPoint("staged"); err != nil {
		return err
	}
	if err := root.Rename(StagingDir, ReadyDir); err != nil {
		return err
	}
	if err := SyncDirAt(root, "."); err != nil {
		return err
	}
	if err := crashPoint("committed"); err != nil {
		return err
	}
	return Recover(root)
}

// Recover finishes a compaction that stopped after its commit point, and
// removes what one that stopped before it left. It is idempotent: a crash
// at any point inside it leaves a state it finishes. It must be called under
// the exclusive lock (record and compact call it first).
//
// The steps, each safe to repeat:
//  1. link every file of ReadyDir/metrics and ReadyDir/failures into the
//     folders .compact-new-metrics and .compact-new-failures, and its
//     quarantine into quarantine/; then mark ReadyDir LINKED;
//  2. for each folder with a .compact-new- one: move the old folder into
//     .compact-old, and rename the new one into place;
//  3. rename ReadyDir into .compact-old (from here readers read the new
//     metrics/ and failures/), and remove .compact-old.
func Recover(root *os.Root) error {
	if err := CheckOwnDirs(root); err != nil {
		return err
	}
	if _, err := root.Lstat(ReadyDir); errors.Is(err, fs.ErrNotExist) {
		// Nothing committed: what a compaction left before its commit
		// point is garbage.
		for _, p := range []string{StagingDir, oldDir, newPrefix + "metrics", newPrefix + "failures"} {
			if err := root.RemoveAll(p); err != nil {
				return err
			}
		}
		return nil
	} else if err != nil {
		return err
	}
	if _, err := root.Lstat(path.Join(ReadyDir, linkedMark)); err != nil {
		for _, sub := range Replaced {
			next := newPrefix + sub
			if err := root.RemoveAll(next); err != nil {
				return err
			}
			if err := linkInto(root, path.Join(ReadyDir, sub), next); err != nil {
				return fmt.Errorf("compact: %w", err)
			}
			if err := crashPoint("linked " + sub); err != nil {
				return err
			}
		}
		if err := linkInto(root, path.Join(ReadyDir, QuarantineDir), QuarantineDir); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		if err := crashPoint("linked quarantine"); err != nil {
			return err
		}
		mark, err := root.Create(path.Join(ReadyDir, linkedMark))
		if err != nil {
			return err
		}
		mark.Close()
		if err := SyncDirAt(root, ReadyDir); err != nil {
			return err
		}
	}
	if err := root.MkdirAll(oldDir, 0o755); err != nil {
		return err
	}
	manifest, err := readManifest(root)
	if err != nil {
		return err
	}
	for _, sub := range Replaced {
		next := newPrefix + sub
		if _, err := root.Lstat(next); err != nil {
			continue // already in place
		}
		if err := keepArrivals(root, sub, next, manifest); err != nil {
			return err
		}
		if _, err := root.Lstat(sub); err == nil {
			if err := root.Rename(sub, freeName(root, oldDir, sub)); err != nil {
				return err
			}
			if err := crashPoint("moved old " + sub); err != nil {
				return err
			}
		}
		if err := root.Rename(next, sub); err != nil {
			return err
		}
		if err := crashPoint("placed " + sub); err != nil {
			return err
		}
	}
	if err := SyncDirAt(root, "."); err != nil {
		return err
	}
	if err := root.Rename(ReadyDir, freeName(root, oldDir, "ready")); err != nil {
		return err
	}
	if err := SyncDirAt(root, "."); err != nil {
		return err
	}
	if err := crashPoint("retired ready"); err != nil {
		return err
	}
	return root.RemoveAll(oldDir)
}

// freeName returns a path in dir named base, base.1, base.2, ... that does
// not exist yet.
func freeName(root *os.Root, dir, base string) string {
	p := path.Join(dir, base)
	for n := 1; ; n++ {
		if _, err := root.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
		p = path.Join(dir, fmt.Sprintf("%s.%d", base, n))
	}
}

// linkInto links (or copies) every entry of src into dst, made if need be,
// leaving entries dst already has; then syncs dst. A missing or empty src
// makes no dst.
func linkInto(root *os.Root, src, dst string) error {
	d, err := root.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	if len(ents) == 0 && src != path.Join(ReadyDir, "metrics") && src != path.Join(ReadyDir, "failures") {
		return nil
	}
	if err := root.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		from, to := path.Join(src, e.Name()), path.Join(dst, e.Name())
		if _, err := root.Lstat(to); err == nil {
			continue
		}
		if err := LinkOrCopy(root, from, to); err != nil {
			return err
		}
	}
	return SyncDirAt(root, dst)
}

// LinkOrCopy makes to the same file as from, both in root: a hard link
// where the file system allows one, else a synced copy. A symbolic link is
// recreated as a symbolic link with the same target.
func LinkOrCopy(root *os.Root, from, to string) error {
	st, err := root.Lstat(from)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := root.Readlink(from)
		if err != nil {
			return err
		}
		return root.Symlink(target, to)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a folder", from)
	}
	if err := root.Link(from, to); err == nil {
		return nil
	}
	in, err := root.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		root.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		root.Remove(to)
		return err
	}
	return out.Close()
}

// Entry is what a manifest records of one entry: a file's size and SHA-256,
// or a link's target.
type Entry struct {
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Link   string `json:"link,omitempty"`
}

// Manifest maps the path of each entry a compaction read (metrics/x.jsonl)
// to what it was.
type Manifest map[string]Entry

func readManifest(root *os.Root) (Manifest, error) {
	b, err := root.ReadFile(path.Join(ReadyDir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(ReadyDir, ManifestName), err)
	}
	return m, nil
}

// Describe records what the entry p of root is now.
func Describe(root *os.Root, p string) (Entry, error) {
	st, err := root.Lstat(p)
	if err != nil {
		return Entry{}, err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		t, err := root.Readlink(p)
		return Entry{Link: t}, err
	}
	f, err := root.Open(p)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return Entry{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// arrival is one thing keepArrivals carries into the new layout: an entry
// linked as it is, or the records appended to a file, written anew.
type arrival struct {
	from, to string
	tail     []byte // nil: link from as it is
}

// arrivals compares the folder sub with what the compaction read (m) and
// returns what arrived since, to be carried into next. An entry the
// compaction read that is gone, or that changed other than by records
// appended after a whole last line, is an error: the operator decides.
func arrivals(root *os.Root, sub, next string, m Manifest) ([]arrival, error) {
	if m == nil {
		return nil, nil
	}
	here := map[string]bool{}
	var out []arrival
	d, err := root.Open(sub)
	if errors.Is(err, fs.ErrNotExist) {
		// Moved aside by an earlier run of Recover (or removed): nothing
		// can have arrived in it.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		p := path.Join(sub, e.Name())
		here[p] = true
		to := path.Join(next, e.Name())
		was, read := m[p]
		if !read {
			if _, err := root.Lstat(to); err == nil {
				if now, _ := Describe(root, p); now == mustDescribe(root, to) {
					continue // carried before
				}
				return nil, fmt.Errorf("%s arrived after the compaction, and the compacted layout has a file of that name: rename it, then run batchsli compact again", path.Join(root.Name(), p))
			}
			out = append(out, arrival{from: p, to: to})
			continue
		}
		now, err := Describe(root, p)
		if err != nil {
			return nil, err
		}
		if now == was || sameFile(root, p, to) {
			continue // unchanged, or carried as a link that follows it
		}
		tail, ok, err := appended(root, p, was, now)
		if err != nil {
			return nil, err
		}
		if !ok || !strings.HasSuffix(e.Name(), ".jsonl") {
			return nil, fmt.Errorf("%s changed after the compaction read it: move it out of the folder, then run batchsli compact again", path.Join(root.Name(), p))
		}
		name := strings.TrimSuffix(e.Name(), ".jsonl") + ".appended.jsonl"
		to = path.Join(next, name)
		if old, err := root.ReadFile(to); err == nil {
			if string(old) == string(tail) {
				continue
			}
			return nil, fmt.Errorf("%s exists already: move it away, then run batchsli compact again", path.Join(root.Name(), to))
		}
		out = append(out, arrival{from: p, to: to, tail: tail})
	}
	var gone []string
	for p := range m {
		if strings.HasPrefix(p, sub+"/") && !here[p] {
			gone = append(gone, p)
		}
	}
	if len(gone) > 0 {
		sort.Strings(gone)
		return nil, fmt.Errorf("%s was read by the compaction and is gone (its records are in the compacted layout): put it back, or remove .compact-ready to keep the old layout", path.Join(root.Name(), gone[0]))
	}
	return out, nil
}

// keepArrivals carries into next what arrived in sub after the compaction
// read it (see arrivals). It may run again: carried entries are left alone.
func keepArrivals(root *os.Root, sub, next string, m Manifest) error {
	as, err := arrivals(root, sub, next, m)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.tail == nil {
			err = LinkOrCopy(root, a.from, a.to)
		} else {
			err = WriteNew(root, a.to, a.tail)
		}
		if err != nil {
			return err
		}
	}
	if len(as) == 0 {
		return nil
	}
	return SyncDirAt(root, next)
}

// Drift says, without writing, whether the folders changed since an
// interrupted compaction read them, so that reading its ReadyDir would miss
// records. nil when nothing waits or nothing changed.
func Drift(root *os.Root) error {
	if !readyDir(root) {
		return nil
	}
	m, err := readManifest(root)
	if err != nil {
		return err
	}
	_, linkedErr := root.Lstat(path.Join(ReadyDir, linkedMark))
	for _, sub := range Replaced {
		next := newPrefix + sub
		if _, err := root.Lstat(next); err != nil {
			if linkedErr == nil {
				continue // this folder is in place already: it is the new one
			}
			next = path.Join(ReadyDir, sub)
		}
		if st, err := root.Lstat(sub); err == nil && st.IsDir() {
			as, err := arrivals(root, sub, next, m)
			if err != nil {
				return err
			}
			if len(as) > 0 {
				return fmt.Errorf("%s arrived after an interrupted compaction", path.Join(root.Name(), as[0].from))
			}
		}
	}
	return nil
}

func sameFile(root *os.Root, a, b string) bool {
	sa, err1 := root.Lstat(a)
	sb, err2 := root.Lstat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func mustDescribe(root *os.Root, p string) Entry {
	e, _ := Describe(root, p)
	return e
}

// appended returns what was appended to the file p since it was was.
func appended(root *os.Root, p string, was, now Entry) ([]byte, bool, error) {
	if was.Link != "" || now.Link != "" || now.Size <= was.Size {
		return nil, false, nil
	}
	b, err := root.ReadFile(p)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(b[:was.Size])
	if hex.EncodeToString(sum[:]) != was.SHA256 {
		return nil, false, nil
	}
	if was.Size > 0 && b[was.Size-1] != '\n' {
		// The last line read was torn and is now continued: its first
		// half was moved aside, so the rest cannot stand alone.
		return nil, false, nil
	}
	return b[was.Size:], true, nil
}

// WriteNew writes a new file of root (refusing an existing one) and syncs
// it.
func WriteNew(root *os.Root, p string, data []byte) error {
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
