//go:build linux

package main

import (
	"os"
	"testing"
)

// TestNotATerminal: /dev/null is a character device, not a terminal, and
// a regular file is neither: no colour and no width from either.
func TestNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, f := range []*os.File{f, g} {
		if isTerminal(f) || terminalWidth(f) != 0 {
			t.Errorf("%s: a terminal", f.Name())
		}
	}
}
