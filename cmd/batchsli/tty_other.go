//go:build !linux

package main

import "os"

// isTerminal reports whether f is a character device (a terminal, most
// often).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// terminalWidth is 0 (unknown) here: COLUMNS or --width give it.
func terminalWidth(f *os.File) int { return 0 }
