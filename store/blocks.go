package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// An entry stored in blocks (PutBlocks) is checked a block at a time, when
// a block is first read, not whole: a lower part of a checkpoint runs to
// hundreds of megabytes in a registry's history, and a summary reads a few
// hundred kilobytes of it.
//
//	blocksMagic | sha256(key) | uvarint len | uvarint block size |
//	a checksum per block | checksum of all before | payload
//
// Each checksum is entrySum's (CRC-32C and CRC-32): the head's over all
// before it, a block's over the block.
const blocksMagic = "batchsli-blocks 1\n"

// BlockSize is the size of a block of an entry stored in blocks (the last
// may be shorter).
const BlockSize = 16 << 10

// maxBlocksEntry bounds an entry stored in blocks: offsets in a lower part
// are 32 bits.
const maxBlocksEntry int64 = 4 << 30

// errBlock is a block that does not read back as written.
var errBlock = errors.New("cache: a block of the entry is damaged")

// Blocks is an entry stored in blocks, open for reading: an io.ReaderAt of
// its payload whose bytes are checked before they are returned.
type Blocks struct {
	f          *os.File
	base, size int64
	sums       []byte
	// Blocks read by reads shorter than a block (lookups come back to
	// the same ones); a longer read is not kept.
	kept map[int64][]byte
}

// blocksHead lays out an entry's head for a payload of n bytes whose
// blocks have sums.
func blocksHead(key []byte, n int, sums []byte) []byte {
	k := sha256.Sum256(key)
	h := append([]byte(blocksMagic), k[:]...)
	h = binary.AppendUvarint(h, uint64(n))
	h = binary.AppendUvarint(h, BlockSize)
	h = append(h, sums...)
	return append(h, entrySum(h)...)
}

// PutBlocks stores payload under (kind, key) as Put does, in blocks: read
// back with GetBlocks.
func (c *Cache) PutBlocks(kind string, key, payload []byte) {
	if c == nil || int64(len(payload)) > maxBlocksEntry {
		return
	}
	sums := make([]byte, 0, (len(payload)+BlockSize-1)/BlockSize*sumSize)
	for at := 0; at < len(payload); at += BlockSize {
		sums = append(sums, entrySum(payload[at:min(at+BlockSize, len(payload))])...)
	}
	c.write(kind, key, blocksHead(key, len(payload), sums), payload)
}

// GetBlocks opens the entry PutBlocks stored under (kind, key), if one
// with that exact key and a sound head is there; its blocks are checked as
// they are read. The caller closes it.
func (c *Cache) GetBlocks(kind string, key []byte) (*Blocks, bool) {
	if c == nil {
		return nil, false
	}
	f, err := c.root.OpenFile(entryName(kind, key), os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, false
	}
	b, ok := openBlocks(f, key)
	if !ok {
		f.Close()
		return nil, false
	}
	return b, true
}

func openBlocks(f *os.File, key []byte) (*Blocks, bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	fixed := len(blocksMagic) + sha256.Size
	head := make([]byte, fixed+2*binary.MaxVarintLen64)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	k := sha256.Sum256(key)
	if n < fixed+2 || string(head[:len(blocksMagic)]) != blocksMagic || !bytes.Equal(head[len(blocksMagic):fixed], k[:]) {
		return nil, false
	}
	size, a := binary.Uvarint(head[fixed:])
	if a <= 0 {
		return nil, false
	}
	bs, b := binary.Uvarint(head[fixed+a:])
	if b <= 0 || bs != BlockSize || size > uint64(maxBlocksEntry) {
		return nil, false
	}
	nsums := (size + BlockSize - 1) / BlockSize * sumSize
	headLen := int64(fixed+a+b) + int64(nsums) + sumSize
	if st.Size() != headLen+int64(size) {
		return nil, false // torn, or grown
	}
	whole := make([]byte, headLen)
	if _, err := f.ReadAt(whole, 0); err != nil {
		return nil, false
	}
	if !bytes.Equal(entrySum(whole[:headLen-sumSize]), whole[headLen-sumSize:]) {
		return nil, false
	}
	return &Blocks{f: f, base: headLen, size: int64(size), sums: whole[headLen-sumSize-int64(nsums) : headLen-sumSize], kept: map[int64][]byte{}}, true
}

// Size is the payload's length.
func (b *Blocks) Size() int64 { return b.size }

// ReadAt reads the payload's bytes at off, each block checked: a damaged
// block is an error, as is a read past the end.
func (b *Blocks) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > b.size {
		return 0, errors.New("cache: read out of the entry")
	}
	done := 0
	for done < len(p) && off < b.size {
		i := off / BlockSize
		blk, err := b.block(i, len(p) < BlockSize)
		if err != nil {
			return done, err
		}
		n := copy(p[done:], blk[off-i*BlockSize:])
		done += n
		off += int64(n)
	}
	if done < len(p) {
		return done, io.EOF
	}
	return done, nil
}

// block returns block i, checked (kept when keep).
func (b *Blocks) block(i int64, keep bool) ([]byte, error) {
	if blk, ok := b.kept[i]; ok {
		return blk, nil
	}
	blk := make([]byte, min(BlockSize, b.size-i*BlockSize))
	if _, err := b.f.ReadAt(blk, b.base+i*BlockSize); err != nil {
		return nil, err
	}
	if !bytes.Equal(entrySum(blk), b.sums[i*sumSize:(i+1)*sumSize]) {
		return nil, errBlock
	}
	if keep {
		b.kept[i] = blk
	}
	return blk, nil
}

// Close closes the entry.
func (b *Blocks) Close() error {
	if b == nil {
		return nil
	}
	return b.f.Close()
}
