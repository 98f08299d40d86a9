package store

import (
	"io/fs"
	"sync"
	"time"

	"github.com/batchsli/batchsli/reader"
)

// Prefixes a process has vouched for: record reads every data file's
// bytes (or checks them against its checkpoint) under its lock before it
// appends a batch, and notes, once it has appended, how far each file was
// read, the CRC-32C of those bytes and the file's identity after the
// append. A later reader in the same process (the job summary) that needs
// the same bytes unchanged takes the note instead of reading them again,
// as long as the file still has that identity: nothing wrote to it since.
var prefixes sync.Map // prefixKey -> prefixNote

type prefixKey struct{ dir, path string }

type prefixNote struct {
	end   int64
	crc   uint32
	ident string
}

// NotePrefix notes that the first end bytes of the file at path in data
// directory dir (as named) had CRC-32C crc, and that the file's identity
// is ident (FileIdentity) now that the caller has only appended to it.
func NotePrefix(dir, path string, end int64, crc uint32, ident string) {
	if ident == "" {
		return
	}
	prefixes.Store(prefixKey{dir, path}, prefixNote{end, crc, ident})
}

// KnownPrefix reports whether the first end bytes of the file at path in
// fsys, data directory dir, were noted with CRC-32C crc, and the file still
// has the identity noted.
func KnownPrefix(fsys fs.FS, dir, path string, end int64, crc uint32) bool {
	v, ok := prefixes.Load(prefixKey{dir, path})
	if !ok {
		return false
	}
	n := v.(prefixNote)
	if n.end != end || n.crc != crc {
		return false
	}
	id, _, ok := FileIdentity(fsys, path, time.Now())
	return ok && id == n.ident
}

// PrefixIntact reports whether the first span.End bytes of the file at path
// in fsys (data directory dir) are still those a checkpoint read: the same
// mark (reader.PrefixMark, always checked), and either the same identity
// as when the checkpoint was written (ident; nothing wrote to the file
// since), bytes this process vouched for (KnownPrefix), or, read again,
// the same CRC-32C. read reports whether the bytes were read.
func PrefixIntact(fsys fs.FS, dir, path string, span reader.Span, mark reader.Mark, ident string) (intact, read bool) {
	if m, ok := reader.PrefixMark(fsys, path, span.End); !ok || m != mark {
		return false, false
	}
	if id, _, ok := FileIdentity(fsys, path, time.Now()); ok && ident != "" && id == ident {
		return true, false
	}
	if KnownPrefix(fsys, dir, path, span.End, span.CRC) {
		return true, false
	}
	crc, ok := reader.PrefixCRC(fsys, path, span.End)
	return ok && crc == span.CRC, true
}
