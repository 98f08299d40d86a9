package store

import (
	"errors"
	"io"
	"io/fs"
	"sync/atomic"
)

// Watched is a file system that counts the errors met reading through it:
// a file that could not be opened, read or described (too many open
// files, an I/O error). A report read through one that met any may not read
// the same again, so it is not kept (the cache would replay a transient
// failure). A folder or file that does not exist is not counted when it is
// listed or described: readers expect that (no outcomes/ yet, a dangling
// link they report as a problem).
type Watched struct {
	fs.FS
	errs atomic.Int64
}

// Watch wraps fsys.
func Watch(fsys fs.FS) *Watched { return &Watched{FS: fsys} }

// Errors returns the errors met so far.
func (w *Watched) Errors() int64 { return w.errs.Load() }

func (w *Watched) note(err error, missingOK bool) {
	if err != nil && !(missingOK && errors.Is(err, fs.ErrNotExist)) {
		w.errs.Add(1)
	}
}

// Open opens a file whose reads and descriptions are counted.
func (w *Watched) Open(name string) (fs.File, error) {
	f, err := w.FS.Open(name)
	w.note(err, false)
	if err != nil {
		return nil, err
	}
	return &watchedFile{File: f, w: w}, nil
}

// ReadDir lists a folder (fs.ReadDirFS).
func (w *Watched) ReadDir(name string) ([]fs.DirEntry, error) {
	ents, err := fs.ReadDir(w.FS, name)
	w.note(err, true)
	return ents, err
}

// Stat describes a file (fs.StatFS).
func (w *Watched) Stat(name string) (fs.FileInfo, error) {
	st, err := fs.Stat(w.FS, name)
	w.note(err, true)
	return st, err
}

// Lstat describes a link itself, where the file system can (fs.ReadLinkFS).
func (w *Watched) Lstat(name string) (fs.FileInfo, error) {
	st, err := fs.Lstat(w.FS, name)
	w.note(err, true)
	return st, err
}

// ReadLink reads a link (fs.ReadLinkFS).
func (w *Watched) ReadLink(name string) (string, error) {
	s, err := fs.ReadLink(w.FS, name)
	w.note(err, true)
	return s, err
}

type watchedFile struct {
	fs.File
	w *Watched
}

func (f *watchedFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	if err != io.EOF {
		f.w.note(err, false)
	}
	return n, err
}

// ReadAt reads at an offset, where the file can.
func (f *watchedFile) ReadAt(p []byte, off int64) (int, error) {
	ra, ok := f.File.(io.ReaderAt)
	if !ok {
		return 0, errors.New("cannot read at an offset")
	}
	n, err := ra.ReadAt(p, off)
	if err != io.EOF {
		f.w.note(err, false)
	}
	return n, err
}

// Seek moves the offset, where the file can.
func (f *watchedFile) Seek(off int64, whence int) (int64, error) {
	sk, ok := f.File.(io.Seeker)
	if !ok {
		return 0, errors.New("cannot seek")
	}
	n, err := sk.Seek(off, whence)
	f.w.note(err, false)
	return n, err
}

func (f *watchedFile) Stat() (fs.FileInfo, error) {
	st, err := f.File.Stat()
	f.w.note(err, false)
	return st, err
}

// ReadDir lists a folder opened as a file.
func (f *watchedFile) ReadDir(n int) ([]fs.DirEntry, error) {
	d, ok := f.File.(fs.ReadDirFile)
	if !ok {
		return nil, errors.New("not a folder")
	}
	ents, err := d.ReadDir(n)
	if err != io.EOF {
		f.w.note(err, false)
	}
	return ents, err
}
