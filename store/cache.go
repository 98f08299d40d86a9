package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"time"
)

// CacheDir is the folder in the data directory that holds what readers
// computed and may reuse: finished reports keyed by the data files' identity
// (docs/STORAGE.md, "The cache"). It is a cache: deleting it changes no
// output, and an entry whose key or checksum does not match is ignored.
const CacheDir = ".batchsli.cache"

// CacheSettle is how long ago a data file must have last changed for its
// fingerprint to be trusted. A file changed more recently could change again
// within the file system's timestamp resolution without its times showing
// it, so nothing is cached for it (as git does for "racily clean" files).
var CacheSettle = 2 * time.Second

// cacheMagic starts every cache file; the digit is the file format.
const cacheMagic = "batchsli-cache 2\n"

// maxCacheEntries bounds the reports kept, and maxCheckpoints each kind
// of checkpoint: the oldest go first.
const (
	maxCacheEntries = 32
	maxCheckpoints  = 4
)

// dataDirs are the folders readers list (package reader).
var dataDirs = []string{"metrics", "failures", "outcomes"}

// fingerprintSpan is how many bytes of each end of a file are checksummed.
const fingerprintSpan = 4096

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Fingerprint identifies the data a reader of fsys would read: every entry
// of metrics/, failures/ and outcomes/ by name and type, and for every file
// (or link to one) its device, inode, size, modification and change times
// and checksums of its first and last 4 KiB. Any write to a file changes its
// change time (which no tool can set back) and any rewrite its inode or
// times, so two equal fingerprints mean the same bytes. settled is false
// when a file changed within CacheSettle of now: such a fingerprint may be
// compared but must not be stored.
func Fingerprint(fsys fs.FS, now time.Time) (fp []byte, settled bool, err error) {
	var b bytes.Buffer
	settled = true
	for _, dir := range dataDirs {
		ents, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(&b, "%s absent\n", dir)
			continue
		}
		if err != nil {
			return nil, false, err
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		fmt.Fprintf(&b, "%s %d\n", dir, len(ents))
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			fmt.Fprintf(&b, "%q %v", e.Name(), e.Type())
			st, err := fs.Stat(fsys, p)
			if err != nil {
				// The reader reports it as a problem; the error text is
				// part of what it says.
				fmt.Fprintf(&b, " error %q\n", err.Error())
				continue
			}
			dev, ino, mt, ct, ok := identity(st)
			if !ok {
				return nil, false, fmt.Errorf("%s: no file identity on this system", p)
			}
			if now.Sub(mt) < CacheSettle || now.Sub(ct) < CacheSettle {
				settled = false
			}
			fmt.Fprintf(&b, " %v dev %d ino %d size %d mtime %d ctime %d", st.Mode(), dev, ino, st.Size(), mt.UnixNano(), ct.UnixNano())
			if st.Mode().IsRegular() {
				head, tail, err := ends(fsys, p, st.Size())
				if err != nil {
					fmt.Fprintf(&b, " error %q\n", err.Error())
					continue
				}
				fmt.Fprintf(&b, " crc %08x %08x", head, tail)
			}
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), settled, nil
}

// FileIdentity is a file's device, inode, size and modification and change
// times, encoded to compare: any write to the file changes its change time
// (which no tool can set back) and any rewrite its inode or times. ok is
// false where the system gives no identity or the file cannot be read;
// settled is false when the file changed within CacheSettle of now (an
// identity that may be compared but must not be stored).
func FileIdentity(fsys fs.FS, p string, now time.Time) (id string, settled, ok bool) {
	st, err := fs.Stat(fsys, p)
	if err != nil || !st.Mode().IsRegular() {
		return "", false, false
	}
	dev, ino, mt, ct, ok := identity(st)
	if !ok {
		return "", false, false
	}
	settled = now.Sub(mt) >= CacheSettle && now.Sub(ct) >= CacheSettle
	return fmt.Sprintf("dev %d ino %d size %d mtime %d ctime %d", dev, ino, st.Size(), mt.UnixNano(), ct.UnixNano()), settled, true
}

// IdentityTick is how long ago a file must have last changed for its
// identity to be taken before it is read (StableIdentity): longer than the
// clock tick file times advance by (1 to 10 ms on Linux), so that any
// later write changes them.
const IdentityTick = 20 * time.Millisecond

// StableIdentity is FileIdentity once the file's times are IdentityTick in
// the past, waiting (at most IdentityTick) for that: a write after it
// returns, even in the same clock tick as the one before, changes the
// identity. A file with a time ahead of the clock has none.
func StableIdentity(fsys fs.FS, p string) (string, bool) {
	for range 3 {
		st, err := fs.Stat(fsys, p)
		if err != nil || !st.Mode().IsRegular() {
			return "", false
		}
		_, _, mt, ct, ok := identity(st)
		if !ok {
			return "", false
		}
		last := mt
		if ct.After(last) {
			last = ct
		}
		switch age := time.Since(last); {
		case age < 0:
			return "", false // a time ahead of the clock: no identity
		case age < IdentityTick:
			time.Sleep(IdentityTick - age)
			continue
		}
		id, _, ok := FileIdentity(fsys, p, time.Now())
		return id, ok
	}
	return "", false
}

// ends checksums the first and last fingerprintSpan bytes of a file.
func ends(fsys fs.FS, p string, size int64) (head, tail uint32, err error) {
	f, err := fsys.Open(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, fingerprintSpan)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, 0, err
	}
	head = crc32.Checksum(buf[:n], castagnoli)
	if size <= fingerprintSpan {
		return head, head, nil
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return 0, 0, fmt.Errorf("%s: cannot read at an offset", p)
	}
	n, err = ra.ReadAt(buf, size-fingerprintSpan)
	if err != nil && err != io.EOF {
		return 0, 0, err
	}
	return head, crc32.Checksum(buf[:n], castagnoli), nil
}

// BuildID identifies the running program, so that a cache written by
// another build of batchsli is never read: the module version and VCS
// settings it was built from, and the executable's content (exeID).
func BuildID() []byte {
	var b bytes.Buffer
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&b, "%s %s %s\n", bi.GoVersion, bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			fmt.Fprintf(&b, "%s=%s\n", s.Key, s.Value)
		}
	}
	b.Write(exeID())
	return b.Bytes()
}

// exeID identifies the executable by content: Go's build ID (a hash of
// what it was built from) from its ELF note, else a SHA-256 of the file.
// Two builds from different sources never share one, whatever their
// sizes, times or VCS information.
func exeID() []byte {
	exe, err := os.Executable()
	if err != nil {
		return []byte("no executable")
	}
	if f, err := elf.Open(exe); err == nil {
		defer f.Close()
		if sec := f.Section(".note.go.buildid"); sec != nil {
			if data, err := sec.Data(); err == nil && len(data) > 16 {
				return append([]byte("go build ID "), data...)
			}
		}
	}
	f, err := os.Open(exe)
	if err != nil {
		return []byte("unreadable executable")
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return []byte("unreadable executable")
	}
	return h.Sum([]byte("sha256 "))
}

// Cache is a data directory's cache folder, opened through an os.Root: an
// entry never leads out of the data directory. A nil *Cache caches nothing.
type Cache struct {
	root *os.Root
}

// OpenCache opens dir's cache folder, making it if needed. It returns nil
// (no cache) when dir's mode lets no one write, or the folder cannot be
// made or is not a real folder (a read-only checkout, a link): the cache is
// never a reason to fail.
func OpenCache(dir string) *Cache {
	// A folder whose mode lets no one write is read-only by intent, even
	// for a user (root) the system would let write.
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm()&0o222 == 0 {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil
	}
	defer root.Close()
	st, err := root.Lstat(CacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		if root.Mkdir(CacheDir, 0o755) != nil {
			return nil
		}
		st, err = root.Lstat(CacheDir)
	}
	if err != nil || !st.IsDir() {
		return nil
	}
	sub, err := root.OpenRoot(CacheDir)
	if err != nil {
		return nil
	}
	// The folder opened must be the one found: not a link put in its
	// place in between (pruning there would remove another folder's files).
	if opened, err := sub.Lstat("."); err != nil || !os.SameFile(st, opened) {
		sub.Close()
		return nil
	}
	return &Cache{root: sub}
}

// Close releases the folder.
func (c *Cache) Close() {
	if c != nil {
		c.root.Close()
	}
}

// ourName reports whether name is prefix and 16 lower-case hex digits: a
// name batchsli gives; pruning removes nothing else.
func ourName(name, prefix string) bool {
	if len(name) != len(prefix)+16 || name[:len(prefix)] != prefix {
		return false
	}
	for _, c := range name[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// entryName is the file of the entry for key.
func entryName(kind string, key []byte) string {
	h := sha256.Sum256(key)
	return kind + "-" + hex.EncodeToString(h[:8])
}

// Get returns the payload stored under (kind, key), if a whole entry with
// that exact key is there. A torn, corrupt or foreign entry is a miss.
func (c *Cache) Get(kind string, key []byte) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	// Opened without waiting (a FIFO by that name must not hang the
	// report), and read only if it is a regular file within the bound.
	f, err := c.root.OpenFile(entryName(kind, key), os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxCacheEntry {
		return nil, false
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 { // grew since
		return nil, false
	}
	return decodeEntry(data, key)
}

// maxCacheEntry bounds the bytes of an entry read (a report of 200,000
// batches takes a few MB).
const maxCacheEntry = 256 << 20

// decodeEntry checks an entry's framing, checksum and key.
//
//	magic | sha256(key) | uvarint len | payload | crc32c | crc32
//
// The two CRCs (Castagnoli's polynomial and IEEE's, little-endian) are
// taken over all before them. Together they are a 64-bit code, the
// remainder by the product of two coprime polynomials of degree 32: every
// burst of up to 32 bits is caught, and other damage is missed with odds of
// about 2^-64. Both run in hardware, at many GB/s, where SHA-256 took tens
// of milliseconds a summary at 200,000 batches. They catch accidents, not
// forgery: whoever can write the cache can write the data too.
func decodeEntry(data, key []byte) ([]byte, bool) {
	if len(data) < len(cacheMagic)+sha256.Size+1+sumSize || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, false
	}
	body, sum := data[:len(data)-sumSize], data[len(data)-sumSize:]
	if !bytes.Equal(entrySum(nil, body), sum) {
		return nil, false
	}
	rest := body[len(cacheMagic):]
	want := sha256.Sum256(key)
	if !bytes.Equal(rest[:sha256.Size], want[:]) {
		return nil, false
	}
	rest = rest[sha256.Size:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) != n {
		return nil, false
	}
	return rest[k:], true
}

// sumSize is the length of an entry's checksum (entrySum).
const sumSize = 8

// entrySum returns the checksum of the parts, one after another: their
// CRC-32C and CRC-32 (IEEE), little-endian.
func entrySum(parts ...[]byte) []byte {
	var c, i uint32
	for _, p := range parts {
		c = crc32.Update(c, castagnoli, p)
		i = crc32.Update(i, crc32.IEEETable, p)
	}
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, c), i)
}

// entryFrame returns what goes before payload in its entry under key, and
// what goes after it (see decodeEntry).
func entryFrame(key, payload []byte) (head, sum []byte) {
	head = append([]byte(cacheMagic), make([]byte, sha256.Size)...)
	k := sha256.Sum256(key)
	copy(head[len(cacheMagic):], k[:])
	head = binary.AppendUvarint(head, uint64(len(payload)))
	return head, entrySum(head, payload)
}

// Put stores payload under (kind, key): written to a fresh file and renamed
// into place, so a reader sees the old entry or the new one, never half of
// one. Errors are ignored (the next run recomputes); old entries beyond
// maxCacheEntries are removed.
func (c *Cache) Put(kind string, key, payload []byte) {
	if c == nil {
		return
	}
	head, sum := entryFrame(key, payload)
	c.write(kind, key, head, payload, sum)
}

// write stores an entry of parts, one after another (a payload runs to
// megabytes: it is not copied), under (kind, key): to a fresh file renamed
// into place. Errors are ignored (the next run recomputes).
func (c *Cache) write(kind string, key []byte, parts ...[]byte) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := c.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return
	}
	for _, b := range parts {
		if err == nil {
			_, err = f.Write(b)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = c.root.Rename(tmp, entryName(kind, key))
	}
	if err != nil {
		c.root.Remove(tmp)
		return
	}
	c.prune()
}

// prune removes the oldest entries beyond maxCacheEntries, and temporary
// files a killed writer left more than an hour ago.
func (c *Cache) prune() {
	ents, err := fs.ReadDir(c.root.FS(), ".")
	if err != nil {
		return
	}
	type entry struct {
		name string
		mod  time.Time
	}
	// Reports (and their models) by count; each kind of checkpoint
	// apart, as one is rewritten at every record while an older build's
	// or another spelling's would otherwise stay for ever.
	groups := map[string][]entry{}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch n := e.Name(); {
		case ourName(n, ".tmp-"):
			if time.Since(info.ModTime()) > time.Hour {
				c.root.Remove(n)
			}
		case ourName(n, "report-"), ourName(n, "model-"):
			groups["report"] = append(groups["report"], entry{n, info.ModTime()})
		case ourName(n, "ids-"), ourName(n, "summary-"):
			kind := n[:len(n)-16]
			groups[kind] = append(groups[kind], entry{n, info.ModTime()})
		}
	}
	for kind, kept := range groups {
		limit := maxCheckpoints
		if kind == "report" {
			limit = maxCacheEntries
		}
		if len(kept) <= limit {
			continue
		}
		sort.Slice(kept, func(i, j int) bool { return kept[i].mod.After(kept[j].mod) })
		for _, e := range kept[limit:] {
			c.root.Remove(e.name)
			names[e.name] = false
		}
	}
	// A part stored apart from its entry (under the same key) goes with it.
	for part, of := range partOf {
		for name := range names {
			if names[name] && ourName(name, part) && !names[of+name[len(part):]] {
				c.root.Remove(name)
			}
		}
	}
}

// partOf names the kinds of parts stored apart from an entry, under the
// entry's key, with the entry's kind: the lower table of the checkpoint of
// batch IDs (package record) and the lower parts of the job summary's
// (cmd/batchsli).
var partOf = map[string]string{"idbase-": "ids-", "sumbase-": "summary-", "pairbase-": "summary-", "gapbase-": "summary-"}
