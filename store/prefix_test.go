//go:build linux

package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestKnownPrefix: a prefix noted is known while the file keeps the
// identity noted, for the same length and CRC-32C only, in the same data
// directory only; any write after the note makes it unknown.
func TestKnownPrefix(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.jsonl")
	os.WriteFile(p, []byte("{}\n{}\n"), 0o644)
	fsys := os.DirFS(dir)
	id, ok := StableIdentity(fsys, "f.jsonl")
	if !ok {
		t.Skip("no file identities here")
	}
	NotePrefix(dir, "f.jsonl", 3, 7, id)
	if !KnownPrefix(fsys, dir, "f.jsonl", 3, 7) {
		t.Fatal("the prefix noted is not known")
	}
	for _, c := range []struct {
		dir  string
		end  int64
		crc  uint32
		name string
	}{{dir, 4, 7, "another length"}, {dir, 3, 8, "another CRC"}, {dir + "/", 3, 7, "another directory name"}} {
		if KnownPrefix(fsys, c.dir, "f.jsonl", c.end, c.crc) {
			t.Errorf("known for %s", c.name)
		}
	}
	time.Sleep(IdentityTick)
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteAt([]byte("{"), 0) // same length, same times' tick or not
	f.Close()
	if KnownPrefix(fsys, dir, "f.jsonl", 3, 7) {
		t.Error("known after the file was written to")
	}
}
