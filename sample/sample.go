// Package sample holds the history built into batchsli, so that its commands
// can be tried from any folder with --demo.
package sample

import (
	"embed"
	"io/fs"
)

//go:embed data
var data embed.FS

// FS returns the sample data directory (metrics/ and failures/ at its root).
func FS() fs.FS {
	sub, err := fs.Sub(data, "data")
	if err != nil {
		panic(err)
	}
	return sub
}
