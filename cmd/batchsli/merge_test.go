//go:build unix

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestTwoClonesMerge: two runners that cannot see each other's files
// record a batch of the same ecosystem on the same day, concurrently, each
// in its own clone, with the README's set-up (--per-run, automatic IDs);
// both commit, and git merges without a conflict. The merged data holds
// both batches. The same holds for two CI runs (IDs from the run identity),
// and for shared files with the README's merge=union attributes.
func TestTwoClonesMerge(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, tc := range []struct {
		name   string
		perRun bool
		env    [2][]string
	}{
		{"per-run, random IDs", true, [2][]string{nil, nil}},
		{"per-run, CI run IDs", true, [2][]string{{"GITHUB_RUN_ID=1001", "GITHUB_RUN_ATTEMPT=1"}, {"GITHUB_RUN_ID=1002", "GITHUB_RUN_ATTEMPT=1"}}},
		{"shared files, merge=union", false, [2][]string{nil, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			origin := filepath.Join(work, "origin.git")
			git(t, work, "init", "-q", "--bare", "-b", "main", origin)
			seed := filepath.Join(work, "seed")
			git(t, work, "clone", "-q", origin, seed)
			writeFile(t, seed, "data/.gitignore", ".batchsli.*\n")
			writeFile(t, seed, ".gitattributes", "data/metrics/*.jsonl merge=union\ndata/failures/*.jsonl merge=union\ndata/outcomes/*.jsonl merge=union\n")
			git(t, seed, "add", "-A")
			git(t, seed, "commit", "-q", "-m", "start")
			git(t, seed, "push", "-q", "origin", "main")
			var clones [2]string
			for i := range clones {
				clones[i] = filepath.Join(work, "runner"+string(rune('a'+i)))
				git(t, work, "clone", "-q", origin, clones[i])
			}
			var wg sync.WaitGroup
			outs := make([][]byte, 2)
			errs := make([]error, 2)
			for i := range clones {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					results, ts, _ := crashBatch(t, t.TempDir(), 100+i)
					ts = "2026-03-02T1" + string(rune('0'+i)) + ":00:00Z"
					args := []string{"record", "--data", filepath.Join(clones[i], "data"), "--ecosystem", "cargo", "--timestamp", ts}
					if tc.perRun {
						args = append(args, "--per-run")
					}
					cmd := testBinary(append(args, results)...)
					cmd.Env = append(cmd.Env, tc.env[i]...)
					outs[i], errs[i] = cmd.CombinedOutput()
				}(i)
			}
			wg.Wait()
			for i := range clones {
				if errs[i] != nil {
					t.Fatalf("runner %d: %v\n%s", i, errs[i], outs[i])
				}
				git(t, clones[i], "add", "-A")
				git(t, clones[i], "commit", "-q", "-m", "batch")
			}
			git(t, clones[0], "push", "-q", "origin", "main")
			git(t, clones[1], "pull", "-q", "--no-rebase", "--no-edit", "origin", "main") // fails on a conflict
			res := cli(t, "validate", "--data", filepath.Join(clones[1], "data"), "--format", "json")
			var inv struct {
				BatchRuns int `json:"batch_runs"`
				Problems  []any
			}
			if err := json.Unmarshal([]byte(res.stdout), &inv); err != nil || res.code != 0 || inv.BatchRuns != 2 {
				t.Errorf("merged data: exit %d, %d batch runs, %v\n%s", res.code, inv.BatchRuns, err, res.stdout)
			}
		})
	}
}
