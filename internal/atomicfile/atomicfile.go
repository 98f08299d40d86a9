// Package atomicfile writes a file whole or not at all: through a
// temporary file in its folder, renamed into place once complete, so a
// reader (a textfile collector, a warehouse query) never sees half of it.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// bufs are the write buffers, reused.
var bufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// Write writes path through write, mode 0644; on failure nothing is left
// at path or beside it.
func Write(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".batchsli-export-*")
	if err != nil {
		return err
	}
	bw := bufs.Get().(*bufio.Writer)
	defer bufs.Put(bw)
	bw.Reset(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
