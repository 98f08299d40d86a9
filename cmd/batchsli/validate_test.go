package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/internal/golden"
)

func TestValidateGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"formats-text", []string{"--data", "../../reader/testdata/formats"}, 0},
		{"formats-json", []string{"--data", "../../reader/testdata/formats", "--format", "json"}, 0},
		{"tsuku-text", []string{"--data", "../../reader/testdata/tsuku"}, 0},
		{"bad-text", []string{"--data", "../../reader/testdata/bad"}, 1},
		{"bad-json", []string{"--data", "../../reader/testdata/bad", "--format", "json"}, 1},
		{"demo", []string{"--demo"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := cli(t, append([]string{"validate"}, tt.args...)...)
			if res.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", res.code, tt.code, res.stderr)
			}
			golden.Check(t, "testdata/validate/"+tt.name+".golden", []byte(fmt.Sprintf("$ batchsli validate %s\n%s", strings.Join(tt.args, " "), res.stdout)))
		})
	}
}

func TestValidateJSONShape(t *testing.T) {
	res := cli(t, "validate", "--data", "../../reader/testdata/bad", "--format", "json")
	var v struct {
		BatchRuns      *int `json:"batch_runs"`
		FailureRecords *int `json:"failure_records"`
		Problems       []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v.BatchRuns == nil || *v.BatchRuns != 4 || v.FailureRecords == nil || *v.FailureRecords != 2 || len(v.Problems) != 19 {
		t.Fatalf("got %+v", v)
	}
	for _, p := range v.Problems {
		if p.File == "" || p.Line < 1 || p.Message == "" {
			t.Errorf("incomplete problem %+v", p)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"validate", "--format", "xml"}, 2, "--format must be text or json"},
		{[]string{"validate", "--data", "/does/not/exist"}, 2, "there is no data directory /does/not/exist; check the path given to --data, or try --demo"},
		{[]string{"record", "x.json"}, 2, "--ecosystem is required"},
		{[]string{"record", "--ecosystem", "cargo"}, 2, "name at least one results file"},
		{[]string{"record", "--bogus"}, 2, "record: unknown flag --bogus ('batchsli record --help' lists its flags)"},
	}
	for _, tt := range tests {
		res := cli(t, tt.args...)
		if res.code != tt.code || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, res.code, res.stderr, tt.code, tt.want)
		}
	}
}

func TestHelpGolden(t *testing.T) {
	var all strings.Builder
	var cmds [][]string
	cmds = append(cmds, []string{"help"})
	for _, c := range commandNames() {
		if c != "help" {
			cmds = append(cmds, []string{c, "--help"})
		}
	}
	for _, args := range cmds {
		res := cli(t, args...)
		if res.code != 0 || res.stderr != "" || res.stdout == "" {
			t.Errorf("%v: exit %d, stderr %q, %d bytes of help on stdout; want 0, none and the help", args, res.code, res.stderr, len(res.stdout))
		}
		fmt.Fprintf(&all, "$ batchsli %s\n%s%s\n", strings.Join(args, " "), res.stdout, res.stderr)
	}
	golden.Check(t, "testdata/help.golden", []byte(all.String()))
}
