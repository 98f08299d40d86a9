package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/batchsli/batchsli/sample"
	"github.com/batchsli/batchsli/schemas"
)

// TestSchemasStrict compiles every schema with Ajv in strict mode (no
// unknown keyword, no required property without a declared type, no
// format left unchecked; schemas/strict) and validates against them what
// batchsli writes: reports of every test history at every level, validate
// on good and bad data, and the sample's records. Ajv is installed by
// .ci/run (npm ci in schemas/strict); without it the test is skipped,
// except in CI.
func TestSchemasStrict(t *testing.T) {
	node, err := exec.LookPath("node")
	check := filepath.Join("..", "..", "schemas", "strict", "check.mjs")
	if _, serr := os.Stat(filepath.Join("..", "..", "schemas", "strict", "node_modules", "ajv")); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node or Ajv is missing (.ci/run installs them)")
		}
		t.Skip("node or Ajv is missing (cd schemas/strict && npm ci)")
	}
	dir := t.TempDir()
	n := 0
	write := func(text string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("doc%03d.json", n))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var reports, inventories []string
	for _, tc := range reportCases(t) {
		for _, by := range []string{"family", "env", "job", "os"} {
			res := cli(t, append(append([]string{"report", "--format", "json"}, tc.args...), "--by", by)...)
			if res.code != 0 {
				t.Fatalf("%s --by %s: exit %d: %s", tc.name, by, res.code, res.stderr)
			}
			reports = append(reports, write(res.stdout))
		}
	}
	for _, args := range [][]string{{"--demo"}, {"--data", "../../reader/testdata/bad"}, {"--data", "../../reader/testdata/formats"}, {"--data", t.TempDir()}} {
		res := cli(t, append([]string{"validate", "--format", "json"}, args...)...)
		inventories = append(inventories, write(res.stdout))
	}
	// The sample's records, one document a line.
	records := map[string][]string{}
	fs.WalkDir(sample.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".jsonl") {
			return nil
		}
		b, _ := fs.ReadFile(sample.FS(), p)
		out := filepath.Join(dir, strings.ReplaceAll(p, "/", "_"))
		os.WriteFile(out, b, 0o644)
		switch strings.SplitN(p, "/", 2)[0] {
		case "metrics":
			records["batch-run.v2.schema.json"] = append(records["batch-run.v2.schema.json"], out)
		case "failures":
			records["failure.v2.schema.json"] = append(records["failure.v2.schema.json"], out)
		case "outcomes":
			records["outcomes.v2.schema.json"] = append(records["outcomes.v2.schema.json"], out)
		}
		return nil
	})
	entries, _ := fs.Glob(schemas.FS, "*.schema.json")
	var args []string
	for _, name := range entries {
		if len(args) > 0 {
			args = append(args, "--")
		}
		args = append(args, filepath.Join("..", "..", "schemas", name))
		switch name {
		case "report.schema.json":
			args = append(args, reports...)
		case "validate.schema.json":
			args = append(args, inventories...)
		case "config.schema.json":
			args = append(args, write(exampleConfigJSON(t)))
		default:
			if len(records[name]) == 0 {
				t.Errorf("no sample records for %s", name)
			}
			args = append(args, records[name]...)
		}
	}
	out, err := exec.Command(node, append([]string{check}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(reports) != 32 || len(entries) < 6 {
		t.Errorf("checked %d reports against %d schemas", len(reports), len(entries))
	}
}

// TestSchemasClosed: every object a schema describes by its properties
// allows no other (additionalProperties false), so a field the output
// gains must be declared.
func TestSchemasClosed(t *testing.T) {
	entries, _ := fs.Glob(schemas.FS, "*.schema.json")
	for _, name := range entries {
		b, _ := schemas.FS.ReadFile(name)
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(v any, path string)
		walk = func(v any, path string) {
			switch v := v.(type) {
			case map[string]any:
				_, props := v["properties"]
				conditional := strings.HasSuffix(path, "/if") || strings.HasSuffix(path, "/then") || strings.HasSuffix(path, "/else") ||
					strings.Contains(path, "/anyOf/") || strings.Contains(path, "/dependentSchemas/")
				if props && !conditional && v["additionalProperties"] != false {
					t.Errorf("%s%s: an object with properties that allows others", name, path)
				}
				for k, c := range v {
					walk(c, path+"/"+k)
				}
			case []any:
				for i, c := range v {
					walk(c, fmt.Sprintf("%s/%d", path, i))
				}
			}
		}
		walk(doc, "")
	}
}

// exampleConfigJSON is examples/batchsli.toml as the JSON it maps to.
func exampleConfigJSON(t *testing.T) string {
	t.Helper()
	var v map[string]any
	if _, err := toml.DecodeFile("../../examples/batchsli.toml", &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
