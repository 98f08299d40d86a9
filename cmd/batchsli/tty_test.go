//go:build linux

package main

import (
	"os"
	"testing"
)

// TestColorNotOnDevNull: /dev/null is a character device, not a terminal.
func TestColorNotOnDevNull(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if colorOK(f) {
		t.Fatal("colour on /dev/null")
	}
}
