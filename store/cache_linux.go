package store

import (
	"io/fs"
	"syscall"
	"time"
)

// identity returns a file's device, inode and modification and change
// times, where the system gives them.
func identity(st fs.FileInfo) (dev, ino uint64, mtime, ctime time.Time, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, time.Time{}, time.Time{}, false
	}
	// The conversions are for 32-bit systems, whose fields are 32 bits.
	return uint64(sys.Dev), uint64(sys.Ino), time.Unix(int64(sys.Mtim.Sec), int64(sys.Mtim.Nsec)),
		time.Unix(int64(sys.Ctim.Sec), int64(sys.Ctim.Nsec)), true
}

// openNonblock opens a FIFO without waiting for a writer.
const openNonblock = syscall.O_NONBLOCK
