package sample

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/batchsli/batchsli/simulate"
)

// TestSampleIsTheSimulation checks that the embedded sample is exactly what
// the simulator writes for Options, so the demo shows the current model.
func TestSampleIsTheSimulation(t *testing.T) {
	dir := t.TempDir()
	last, err := simulate.Write(dir, Options)
	if err != nil {
		t.Fatal(err)
	}
	if !Clock.After(last) || Clock.Sub(last).Hours() > 24 {
		t.Errorf("Clock %v is not just after the last batch %v", Clock, last)
	}
	n := 0
	err = fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".jsonl" {
			return err
		}
		n++
		got, _ := fs.ReadFile(FS(), p)
		want, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the simulation (run go generate ./sample)", p)
		}
		return nil
	})
	if err != nil || n < 2 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}
