package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"sync/atomic"

	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/store"
)

// The batch IDs in the data (idSet) are kept in the data directory's cache
// (docs/STORAGE.md, "The checkpoint of batch IDs") with how far each file
// was read, so that the next record reads only what was appended since:
// each file's prefix read is checked whole against its CRC-32C first, and
// any file changed, gone or not one record per line means the whole data
// is read again.

// idsKind is the cache entry kind of the checkpoint.
const idsKind = "ids"

// idsMagic starts a checkpoint's payload (its format).
const idsMagic = "batchsli ids 4\n"

// idsBaseKind is the cache entry kind of the checkpoint's lower table
// (idLayers): stored under the checkpoint's key, apart, as it is written
// again only once in many records.
const idsBaseKind = "idbase"

// checkpoint is what scanIDs read: every file with the span read whole, the
// batch IDs not committed that records name, and the committed batches.
type checkpoint struct {
	files     []checkpointFile
	seen      []string
	committed idLayers
}

type checkpointFile struct {
	path string
	span reader.Span
	// mark is reader.PrefixMark of the span's bytes; ident the file's
	// identity (store.FileIdentity) when the checkpoint was written, ""
	// where the system gives none.
	mark  reader.Mark
	ident string
}

// idsKey is the checkpoint's cache key: the data directory as named (the
// places in messages name it so) and the program.
func idsKey(dir string) []byte {
	k := []byte("record ids\x00" + dir + "\x00")
	return append(k, store.BuildID()...)
}

func (c *checkpoint) encode() []byte {
	up := c.committed.upper
	size := len(idsMagic) + 50 + len(up.blobOrNil())
	for _, f := range c.files {
		size += len(f.path) + 46
	}
	for _, id := range c.seen {
		size += len(id) + 2
	}
	out := make([]byte, 0, size)
	out = append(out, idsMagic...)
	str := func(s string) {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(len(c.files)))
	for _, f := range c.files {
		str(f.path)
		out = binary.AppendUvarint(out, uint64(f.span.End))
		out = binary.AppendUvarint(out, uint64(f.span.Lines))
		out = binary.LittleEndian.AppendUint32(out, f.span.CRC)
		out = append(out, f.mark[:]...)
		str(f.ident)
	}
	out = binary.AppendUvarint(out, uint64(len(c.seen)))
	for _, id := range c.seen {
		str(id)
	}
	// The committed batches: the lower table's entry count and token
	// (it is stored apart), then the upper table's count, its bytes'
	// length and its entries (idTable), copied as they are.
	out = binary.AppendUvarint(out, c.committed.lowerN)
	out = append(out, c.committed.token[:]...)
	out = binary.AppendUvarint(out, uint64(up.len()))
	out = binary.AppendUvarint(out, uint64(len(up.blobOrNil())))
	return append(out, up.blobOrNil()...)
}

var errCheckpoint = errors.New("malformed checkpoint")

func decodeCheckpoint(data []byte) (c *checkpoint, err error) {
	if !bytes.HasPrefix(data, []byte(idsMagic)) {
		return nil, errCheckpoint
	}
	p := data[len(idsMagic):]
	num := func() uint64 {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			err = errCheckpoint
			return 0
		}
		p = p[n:]
		return v
	}
	str := func() string {
		n := num()
		if err != nil || n > uint64(len(p)) {
			err = errCheckpoint
			return ""
		}
		v := string(p[:n])
		p = p[n:]
		return v
	}
	c = &checkpoint{}
	// Each count is checked against the bytes left (every item takes one at
	// least) before room is made for it.
	count := func() uint64 {
		n := num()
		if n > uint64(len(p)) {
			err = errCheckpoint
			return 0
		}
		return n
	}
	n := count()
	c.files = make([]checkpointFile, 0, n)
	for ; err == nil && n > 0; n-- {
		f := checkpointFile{path: str()}
		end, lines := num(), num()
		if end > math.MaxInt64 || lines > math.MaxInt32 {
			return nil, errCheckpoint
		}
		f.span.End, f.span.Lines = int64(end), int(lines)
		if len(p) < 4+len(f.mark) {
			return nil, errCheckpoint
		}
		f.span.CRC = binary.LittleEndian.Uint32(p)
		copy(f.mark[:], p[4:])
		p = p[4+len(f.mark):]
		f.ident = str()
		c.files = append(c.files, f)
	}
	n = count()
	c.seen = make([]string, 0, n)
	for ; err == nil && n > 0; n-- {
		c.seen = append(c.seen, str())
	}
	c.committed.lowerN = num()
	if err != nil || len(p) < len(c.committed.token) {
		return nil, errCheckpoint
	}
	copy(c.committed.token[:], p)
	p = p[len(c.committed.token):]
	n = count()
	size := num()
	if err != nil || size != uint64(len(p)) {
		return nil, errCheckpoint
	}
	if n > 0 {
		t, ok := parseIDTable(p, n)
		if !ok {
			return nil, errCheckpoint
		}
		c.committed.upper = t
	} else if size != 0 {
		return nil, errCheckpoint
	}
	return c, nil
}

// prefixChecks counts the files whose bytes loadCheckpoint checked whole
// (for tests).
var prefixChecks atomic.Int64

// loadCheckpoint returns the checkpoint kept for dir when every file it
// read is still listed (files lists the data's files now) with the same
// bytes up to where it was read: the same mark (reader.PrefixMark: its
// length, and its bytes at the start, the end and spread between), and
// either the same identity as then (store.FileIdentity: no write since)
// or, when it was written to since, the same CRC-32C of those bytes
// (store.PrefixIntact).
func loadCheckpoint(cache *store.Cache, root *os.Root, dir string, files map[string]bool) *checkpoint {
	p, ok := cache.Get(idsKind, idsKey(dir))
	if !ok {
		return nil
	}
	c, err := decodeCheckpoint(p)
	if err != nil {
		return nil
	}
	if l := &c.committed; l.lowerN > 0 {
		b, ok := cache.Get(idsBaseKind, idsKey(dir))
		if !ok {
			return nil
		}
		t, token, ok := parseLower(b)
		if !ok || token != l.token || uint64(t.len()) != l.lowerN {
			return nil
		}
		l.lower = t
	}
	for _, f := range c.files {
		if !files[f.path] {
			return nil
		}
		intact, read := store.PrefixIntact(root.FS(), dir, f.path, f.span, f.mark, f.ident)
		if read {
			prefixChecks.Add(1)
		}
		if !intact {
			return nil
		}
	}
	return c
}
