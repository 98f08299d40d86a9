package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/simulate"
)

// outcomesHistory writes a simulated history with outcome records, retests
// and flaky recipes, so that the report has transitions and flaky recipes.
func outcomesHistory(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, err := simulate.Write(dir, simulate.Options{Batches: 60, Seed: 3, Start: simulate.DefaultOptions.Start,
		Retests: true, Flaky: 0.05, FlakeRate: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// schemaValue turns a decoded JSON value into the form the schema validator
// takes (numbers as json.Number).
func schemaValue(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeObject decodes one JSON object, keeping numbers exact.
func decodeObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// mutated returns a deep copy of m changed by fn.
func mutated(t *testing.T, m map[string]any, fn func(map[string]any)) map[string]any {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c := decodeObject(t, data)
	fn(c)
	return c
}

// setCode replaces byte 0 of the code string of a recipe of r that failed
// somewhere (any recipe when none did).
func setCode(r map[string]any, b byte) {
	recipes := r["recipes"].(map[string]any)
	var id string
	for k, v := range recipes {
		if id == "" || strings.Trim(v.(string), "PpS") != "" {
			id = k
		}
	}
	c := []byte(recipes[id].(string))
	c[0] = b
	recipes[id] = string(c)
}

func TestOutcomesSchema(t *testing.T) {
	dir := outcomesHistory(t)
	sch := compileSchema(t, "outcomes.v2.schema.json")
	files, err := filepath.Glob(filepath.Join(dir, "outcomes", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var sample map[string]any // a record with failures and room for more categories
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
			if err != nil {
				t.Fatalf("%s:%d: %v", f, i+1, err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s:%d does not fit outcomes.v2.schema.json: %v", f, i+1, err)
			}
			n++
			if sample == nil {
				m := decodeObject(t, []byte(line))
				if cats, _ := m["categories"].([]any); len(cats) > 0 && len(cats) < len(model.FailureCodes) {
					sample = m
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no outcome record was checked against the schema")
	}
	if sample == nil {
		t.Fatal("no outcome record with failures to build bad records from")
	}
	if err := sch.Validate(schemaValue(t, mutated(t, sample, func(map[string]any) {}))); err != nil {
		t.Fatalf("a copy of a good record does not fit the schema: %v", err)
	}

	// The schema is not vacuous.
	ncats := len(sample["categories"].([]any))
	bad := []struct {
		name string
		fn   func(map[string]any)
	}{
		{"code byte '#'", func(r map[string]any) { setCode(r, '#') }},
		{"code byte '-'", func(r map[string]any) { setCode(r, '-') }},
		{"code byte ' '", func(r map[string]any) { setCode(r, ' ') }},
		{"schema_version 1", func(r map[string]any) { r["schema_version"] = 1 }},
		{"empty platforms", func(r map[string]any) { r["platforms"] = []any{} }},
		{"unknown top-level key", func(r map[string]any) { r["note"] = "x" }},
		{"no recipes", func(r map[string]any) { delete(r, "recipes") }},
		{"no timestamp", func(r map[string]any) { delete(r, "timestamp") }},
		{"bad timestamp", func(r map[string]any) { r["timestamp"] = "2026-03-02 04:15" }},
		{"bad batch_id", func(r map[string]any) { r["batch_id"] = "-x" }},
		{"upper-case platform", func(r map[string]any) { r["platforms"].([]any)[0] = "Linux-x86_64" }},
		{"platform listed twice", func(r map[string]any) {
			ps := r["platforms"].([]any)
			ps[1] = ps[0]
		}},
		{"category listed twice", func(r map[string]any) {
			r["categories"] = append(r["categories"].([]any), r["categories"].([]any)[0])
		}},
		{"empty category", func(r map[string]any) { r["categories"].([]any)[0] = "" }},
		{"too many categories", func(r map[string]any) {
			cats := make([]any, len(model.FailureCodes)+1)
			for i := range cats {
				cats[i] = "c" + string(model.FailureCodes[i%len(model.FailureCodes)]) + strings.Repeat("x", i/len(model.FailureCodes))
			}
			r["categories"] = cats
		}},
		{"failure code of no listed category", func(r map[string]any) { setCode(r, model.FailureCodes[ncats]) }},
		{"too many platforms", func(r map[string]any) {
			ps := make([]any, model.MaxOutcomePlatforms+1)
			for i := range ps {
				ps[i] = fmt.Sprintf("linux-p%d", i)
			}
			r["platforms"] = ps
			for k := range r["recipes"].(map[string]any) {
				r["recipes"].(map[string]any)[k] = strings.Repeat("P", len(ps))
			}
		}},
		{"failure codes without categories", func(r map[string]any) { delete(r, "categories") }},
		{"empty version", func(r map[string]any) {
			for k := range r["recipes"].(map[string]any) {
				r["versions"] = map[string]any{k: ""}
				break
			}
		}},
		{"recipe ID with a control character", func(r map[string]any) {
			r["recipes"].(map[string]any)["pypi:a\x01b"] = strings.Repeat("P", len(r["platforms"].([]any)))
		}},
	}
	for _, b := range bad {
		if err := sch.Validate(schemaValue(t, mutated(t, sample, b.fn))); err == nil {
			t.Errorf("the outcome schema accepted a record with %s", b.name)
		}
	}

	// The report over that history fits its schema, new parts included.
	res := cli(t, "report", "--data", dir, "--format", "json", "--now", simNow)
	if res.code != 0 {
		t.Fatalf("report: exit %d: %s", res.code, res.stderr)
	}
	rsch := compileSchema(t, "report.schema.json")
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(res.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if err := rsch.Validate(v); err != nil {
		t.Errorf("report does not fit report.schema.json: %v", err)
	}
	rep := decodeObject(t, []byte(res.stdout))
	for _, k := range []string{"transitions", "flaky", "paired"} {
		if a, _ := rep[k].([]any); len(a) == 0 {
			t.Errorf("the report has no %s: the schema's part for them is not exercised", k)
		}
	}
	flakes := 0
	for _, p := range rep["platforms"].([]any) {
		if p.(map[string]any)["flakes"] != nil {
			flakes++
		}
	}
	if flakes == 0 {
		t.Error("no platform of the report has flakes: the schema's part for them is not exercised")
	}
	if cov, _ := rep["outcomes"].(map[string]any); cov == nil || cov["with_outcomes"] != json.Number("60") {
		t.Errorf("outcomes = %v, want 60 batches with outcome records", rep["outcomes"])
	}

	first := func(r map[string]any, k string) map[string]any {
		a, _ := r[k].([]any)
		if len(a) == 0 {
			t.Fatalf("no %s to change", k)
		}
		return a[0].(map[string]any)
	}
	badReports := []struct {
		name string
		fn   func(map[string]any)
	}{
		{"report_version 3", func(r map[string]any) { r["report_version"] = 3 }},
		{"unknown top-level key", func(r map[string]any) { r["extra"] = true }},
		{"no transitions", func(r map[string]any) { delete(r, "transitions") }},
		{"a transition of kind flipped", func(r map[string]any) { first(r, "transitions")["kind"] = "flipped" }},
		{"a transition with an unknown key", func(r map[string]any) { first(r, "transitions")["note"] = "x" }},
		{"a still_failing transition without since", func(r map[string]any) {
			for _, x := range r["transitions"].([]any) {
				if tr := x.(map[string]any); tr["kind"] == "still_failing" {
					delete(tr, "since")
					return
				}
			}
			t.Fatal("no still_failing transition")
		}},
		{"a flaky recipe without flips", func(r map[string]any) { delete(first(r, "flaky"), "flips") }},
		{"a flaky recipe with an unknown key", func(r map[string]any) { first(r, "flaky")["note"] = "x" }},
		{"a comparable pair without a p-value", func(r map[string]any) {
			for _, x := range r["paired"].([]any) {
				if pc := x.(map[string]any); pc["comparable"] == true {
					pc["p_value"] = nil
					return
				}
			}
			t.Fatal("no comparable pair")
		}},
		{"flakes with an unknown key", func(r map[string]any) {
			for _, p := range r["platforms"].([]any) {
				if f, ok := p.(map[string]any)["flakes"].(map[string]any); ok {
					f["note"] = "x"
					return
				}
			}
		}},
		{"a platform without flakes", func(r map[string]any) { delete(first(r, "platforms"), "flakes") }},
		{"outcomes without with_outcomes", func(r map[string]any) { delete(r["outcomes"].(map[string]any), "with_outcomes") }},
		{"an insight with unlocked that is not capability_gap_closed", func(r map[string]any) {
			first(r, "insights")["unlocked"] = 1
		}},
	}
	for _, b := range badReports {
		if err := rsch.Validate(schemaValue(t, mutated(t, rep, b.fn))); err == nil {
			t.Errorf("the report schema accepted a report with %s", b.name)
		}
	}
}
