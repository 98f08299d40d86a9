package warehouse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestHiveValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"crates.io", "crates.io"},
		{"homebrew", "homebrew"},
		{"", "__HIVE_DEFAULT_PARTITION__"},
		{"a/b", "a%2Fb"},
		{"..", "%2E."},
		{".hidden", "%2Ehidden"},
		{"x=y", "x%3Dy"},
		{"sp ace", "sp%20ace"},
		{"ünï", "%C3%BCn%C3%AF"},
		{"100%", "100%25"},
	} {
		if got := hiveValue(c.in); got != c.want {
			t.Errorf("hiveValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCell: text a spreadsheet would run as a formula is kept as text.
func TestCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"npm:left-pad", "npm:left-pad"},
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"+1", "'+1"},
		{"-2", "'-2"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"", ""},
	} {
		if got := cell(c.in); got != c.want {
			t.Errorf("cell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestParquetRoundTrip: what writeRows writes, parquet-go reads back as
// the same rows, with the documented columns.
func TestParquetRoundTrip(t *testing.T) {
	rows := []FailureRow{
		{"b-1", 1772445600000, "linux-debian-glibc-x86_64", "linux-glibc-x86_64", "linux-x86_64", "linux", "npm:a", "install_failed"},
		{"b-2", 1772532000000, "darwin-arm64", "darwin-arm64", "darwin-arm64", "darwin", "npm:\"b\",c", "timeout"},
	}
	var buf bytes.Buffer
	if err := writeRows(&buf, "parquet", rows, failRecord, failHeader); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[FailureRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rows) {
		t.Errorf("read back %v, want %v", got, rows)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range f.Schema().Fields() {
		cols = append(cols, c.Name())
	}
	if !slices.Equal(cols, failHeader) {
		t.Errorf("columns %v, want %v", cols, failHeader)
	}
	ts, ok := f.Schema().Lookup("timestamp")
	if !ok {
		t.Fatal("no timestamp column")
	}
	if lt := ts.Node.Type().LogicalType().String(); lt != "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)" {
		t.Errorf("timestamp's logical type is %s, want a UTC timestamp in milliseconds", lt)
	}
}

// FuzzReadManifest: any manifest gives a manifest or an error naming
// the file, never a panic.
func FuzzReadManifest(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"format":"csv","runs":2,"batches":["a","b"]}`))
	f.Add([]byte(`{"schema_version":2}`))
	f.Add([]byte(`{"schema_version":1,"extra":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ManifestName), b, 0o644)
		m, err := readManifest(dir)
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte(filepath.Join(dir, ManifestName))) {
				t.Errorf("error without the file: %v", err)
			}
			return
		}
		if m.SchemaVersion != SchemaVersion {
			t.Errorf("accepted schema version %d", m.SchemaVersion)
		}
	})
}

// TestArena: strings come back from their places, a long one too.
func TestArena(t *testing.T) {
	var a arena
	var locs []uint32
	var strs []string
	for i := range 100000 {
		s := fmt.Sprintf("npm:package-%d", i)
		if i == 5000 {
			s = strings.Repeat("x", 3*arenaBlock)
		}
		loc, ok := a.put(s)
		if !ok {
			t.Fatal("full")
		}
		locs, strs = append(locs, loc), append(strs, s)
	}
	for i, s := range strs {
		if got := a.get(locs[i], uint32(len(s))); got != s {
			t.Fatalf("string %d: got %.20q, want %.20q", i, got, s)
		}
	}
}
