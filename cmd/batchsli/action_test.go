package main

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// actionMeta is a composite action's metadata, as the emulation reads it.
type actionMeta struct {
	Inputs map[string]struct {
		Default  string `yaml:"default"`
		Required bool   `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name  string            `yaml:"name"`
			ID    string            `yaml:"id"`
			If    string            `yaml:"if"`
			Uses  string            `yaml:"uses"`
			With  map[string]string `yaml:"with"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

var exprRe = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// emulateAction runs a composite action's steps as a runner would: each
// run step in bash with the runner's variables (RUNNER_TEMP,
// GITHUB_OUTPUT per step, GITHUB_STEP_SUMMARY, GITHUB_ACTIONS), its env
// expressions (inputs, github.action_path, steps' outputs) evaluated, and
// its if: condition (inputs.X == 'v') honoured. A uses: step is not run:
// setup-go's inputs are checked instead (Go is already here). It returns
// the action's outputs and the steps' combined log.
func emulateAction(t *testing.T, dir, actionPath string, inputs map[string]string) (map[string]string, string, error) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(actionPath, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionMeta
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q", a.Runs.Using)
	}
	in := map[string]string{}
	for name, spec := range a.Inputs {
		in[name] = spec.Default
	}
	for name, v := range inputs {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("no input %q", name)
		}
		in[name] = v
	}
	for name, spec := range a.Inputs {
		if spec.Required && in[name] == "" {
			t.Fatalf("required input %s not given", name)
		}
	}
	abs, _ := filepath.Abs(actionPath)
	temp := t.TempDir()
	if emulatePrepare != nil {
		emulatePrepare(temp)
	}
	summary := filepath.Join(temp, "step-summary.md")
	stepOut := map[string]map[string]string{}
	eval := func(s string) string {
		return exprRe.ReplaceAllStringFunc(s, func(m string) string {
			e := exprRe.FindStringSubmatch(m)[1]
			switch {
			case strings.HasPrefix(e, "inputs."):
				return in[strings.TrimPrefix(e, "inputs.")]
			case e == "github.action_path":
				return abs
			case strings.HasPrefix(e, "steps."):
				parts := strings.Split(e, ".")
				if len(parts) == 4 && parts[2] == "outputs" {
					return stepOut[parts[1]][parts[3]]
				}
			}
			t.Fatalf("expression %q not emulated", e)
			return ""
		})
	}
	cond := regexp.MustCompile(`^inputs\.([a-z-]+) == '([^']*)'$`)
	stepCond := regexp.MustCompile(`^steps\.([a-z-]+)\.outputs\.([a-z_-]+) != ''$`)
	var log strings.Builder
	for _, s := range a.Runs.Steps {
		if s.If != "" {
			run := true
			for _, term := range strings.Split(s.If, " && ") {
				if m := cond.FindStringSubmatch(term); m != nil {
					run = run && in[m[1]] == m[2]
				} else if m := stepCond.FindStringSubmatch(term); m != nil {
					run = run && stepOut[m[1]][m[2]] != ""
				} else {
					t.Fatalf("step %s: condition %q not emulated", s.Name, s.If)
				}
			}
			if !run {
				continue
			}
		}
		if s.Uses != "" {
			if strings.HasPrefix(s.Uses, "actions/setup-go@") {
				if gv := eval(s.With["go-version-file"]); !fileExists(gv) || !strings.HasPrefix(gv, abs) && !strings.HasPrefix(filepath.Clean(gv), filepath.Dir(abs)) {
					t.Errorf("setup-go reads %s, not the action's own go.mod", gv)
				}
				if gs := eval(s.With["cache-dependency-path"]); !fileExists(gs) {
					t.Errorf("setup-go's cache-dependency-path %s does not exist", gs)
				}
				continue
			}
			if strings.HasPrefix(s.Uses, "actions/upload-pages-artifact@") {
				// What it would upload: a folder with an index page
				// and no symbolic link (the action refuses those).
				dir := eval(s.With["path"])
				if !fileExists(filepath.Join(dir, "index.html")) {
					t.Errorf("upload-pages-artifact's path %q holds no index.html", dir)
				}
				filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err == nil && d.Type()&fs.ModeSymlink != 0 {
						t.Errorf("the site holds a symbolic link: %s", p)
					}
					return err
				})
				log.WriteString("## " + s.Name + "\nuploaded " + dir + "\n")
				continue
			}
			t.Fatalf("step %s uses %s: not emulated", s.Name, s.Uses)
		}
		if s.Shell != "bash" {
			t.Fatalf("step %s: shell %q", s.Name, s.Shell)
		}
		out := filepath.Join(temp, "output-"+s.ID+strconv.Itoa(len(stepOut)))
		env := append(os.Environ(), "RUNNER_TEMP="+temp, "GITHUB_OUTPUT="+out, "GITHUB_STEP_SUMMARY="+summary,
			"GITHUB_ACTIONS=true", "GITHUB_ACTION_PATH="+abs, "BATCHSLI_CACHE=")
		for k, v := range s.Env {
			env = append(env, k+"="+eval(v))
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", s.Run)
		cmd.Dir, cmd.Env = dir, env
		b, err := cmd.CombinedOutput()
		log.WriteString("## " + s.Name + "\n" + string(b))
		if err != nil {
			return nil, log.String(), err
		}
		if s.ID != "" {
			stepOut[s.ID] = readOutputs(t, out)
		}
	}
	outs := map[string]string{}
	for name, o := range a.Outputs {
		outs[name] = eval(o.Value)
	}
	return outs, log.String(), nil
}

// emulatePrepare, when set, sees the runner's temporary folder before the
// steps run.
var emulatePrepare func(runnerTemp string)

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// readOutputs reads a $GITHUB_OUTPUT file of name=value lines.
func readOutputs(t *testing.T, path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestActionEmulated runs action.yml's steps with a runner's environment
// on a results folder, and checks every output, the gate, the lock files
// kept out of git, and job times that are not glob-expanded.
func TestActionEmulated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds batchsli")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	work := t.TempDir()
	results, _ := filepath.Abs(batch1)
	outs, log, err := emulateAction(t, work, "../..", map[string]string{
		"results": results, "ecosystem": "cargo", "batch-id": "gh-7",
		"job-seconds": "linux-x86_64=840\ndarwin-arm64=1260", "week-budget": "10", "site": "true",
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	want := map[string]*regexp.Regexp{
		"batch-id": regexp.MustCompile(`^gh-7$`), "tested": regexp.MustCompile(`^[1-9][0-9]*$`),
		"passed": regexp.MustCompile(`^[0-9]+$`), "pass-rate": regexp.MustCompile(`^0\.[0-9]{4}$|^1\.0000$`),
		"failed": regexp.MustCompile(`^[0-9]+$`), "warnings": regexp.MustCompile(`^[0-9]+$`),
		"macos-minutes-week": regexp.MustCompile(`^[0-9]+$`), "macos": regexp.MustCompile(`^pause$`),
		"slo": regexp.MustCompile(`^ok$`), "site-path": regexp.MustCompile(`/batchsli-site$`),
	}
	for name, re := range want {
		if !re.MatchString(outs[name]) {
			t.Errorf("output %s = %q, want %s", name, outs[name], re)
		}
	}
	for name := range outs {
		if want[name] == nil {
			t.Errorf("output %s is not checked", name)
		}
	}
	if !strings.Contains(log, "uploaded "+outs["site-path"]+"\n") {
		t.Errorf("the site was not uploaded:\n%s", log)
	}
	if !strings.Contains(log, "::warning title=macOS pause::") {
		t.Errorf("no annotation for the paused macOS gate:\n%s", log)
	}
	// The records are in git's view; the lock files are not.
	if git, err := exec.LookPath("git"); err == nil {
		exec.Command(git, "init", "-q", work).Run()
		cmd := exec.Command(git, "add", "--dry-run", "data")
		cmd.Dir = work
		b, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(b), ".batchsli") || !strings.Contains(string(b), "metrics/") {
			t.Errorf("git add data would add:\n%s (%v)", b, err)
		}
	}

	// A site that cannot be built (its folder holds someone else's file)
	// is a warning: the batch is recorded and nothing is uploaded.
	emulatePrepare = func(temp string) {
		os.MkdirAll(filepath.Join(temp, "batchsli-site"), 0o755)
		os.WriteFile(filepath.Join(temp, "batchsli-site", "notes.txt"), []byte("mine"), 0o644)
	}
	outs, log, err = emulateAction(t, t.TempDir(), "../..", map[string]string{"results": results, "ecosystem": "cargo", "site": "true"})
	emulatePrepare = nil
	if err != nil || outs["batch-id"] == "" || outs["site-path"] != "" || strings.Contains(log, "uploaded") ||
		!strings.Contains(log, "::warning title=batchsli site::the site could not be built") {
		t.Errorf("a site that cannot be built: %v %v\n%s", outs, err, log)
	}

	// Without the check, its outputs are empty.
	outs, log, err = emulateAction(t, t.TempDir(), "../..", map[string]string{"results": results, "ecosystem": "cargo", "check": "false"})
	if err != nil || outs["macos"] != "" || outs["slo"] != "" || outs["batch-id"] == "" || outs["site-path"] != "" || strings.Contains(log, "uploaded") {
		t.Errorf("check false: %v %v\n%s", outs, err, log)
	}

	// A job time is never a file name the shell found.
	glob := t.TempDir()
	os.WriteFile(filepath.Join(glob, "linux-x86_64=5"), nil, 0o644)
	_, log, err = emulateAction(t, glob, "../..", map[string]string{"results": results, "ecosystem": "cargo", "job-seconds": "linux-x86_64=*"})
	if err == nil || !strings.Contains(log, `"linux-x86_64=*": seconds must be a non-negative number`) {
		t.Errorf("job-seconds was glob-expanded: %v\n%s", err, log)
	}
}

// TestCheckActionEmulated runs check/action.yml on the sample-like
// history a record left.
func TestCheckActionEmulated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds batchsli")
	}
	work := t.TempDir()
	if res := cli(t, "simulate", "--out", filepath.Join(work, "data"), "--batches", "30"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	os.WriteFile(filepath.Join(work, "batchsli.toml"), []byte("[macos]\nweekly_budget_minutes = 1000000\n"), 0o644)
	outs, log, err := emulateAction(t, work, "../../check", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if outs["macos"] != "run" || outs["slo"] != "ok" || !regexp.MustCompile(`^0\.[0-9]{4}$`).MatchString(outs["macos-used-share"]) {
		t.Errorf("outputs %v\n%s", outs, log)
	}
}

// TestActionlint runs actionlint on every example workflow, with the
// actions they use (batchsli/batchsli and its check) resolved to this
// repository's action.yml files, so their inputs and outputs are checked
// against the metadata; a workflow that names an input the action lacks
// fails it. CI installs actionlint (.ci/run); elsewhere the test is
// skipped without it.
func TestActionlint(t *testing.T) {
	bin, err := exec.LookPath("actionlint")
	if err != nil {
		if home, herr := os.UserHomeDir(); herr == nil && fileExists(filepath.Join(home, "go", "bin", "actionlint")) {
			bin, err = filepath.Join(home, "go", "bin", "actionlint"), nil
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("actionlint is not installed (.ci/run installs it)")
		}
		t.Skip("actionlint is not installed")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	if out, err := exec.Command(git, "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(to), 0o755)
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("../../action.yml", filepath.Join(repo, "action.yml"))
	copyFile("../../check/action.yml", filepath.Join(repo, "check", "action.yml"))
	flows, _ := filepath.Glob("../../examples/workflows/*.yml")
	if len(flows) < 2 {
		t.Fatalf("example workflows: %v", flows)
	}
	local := strings.NewReplacer("batchsli/batchsli/check@v1", "./check", "batchsli/batchsli@v1", "./")
	var args []string
	for _, f := range flows {
		b, _ := os.ReadFile(f)
		if !strings.Contains(string(b), "batchsli/batchsli") {
			t.Errorf("%s does not use the action", f)
		}
		p := filepath.Join(repo, ".github", "workflows", filepath.Base(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(local.Replace(string(b))), 0o644)
		args = append(args, p)
	}
	run := func() (string, error) {
		cmd := exec.Command(bin, append([]string{"-no-color"}, args...)...)
		cmd.Dir = repo
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := run(); err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
	// The test can fail: an input the action does not define.
	p := args[0]
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "per-run: 'true'", "per-run: 'true'\n          no-such-input: x", 1)), 0o644)
	if out, err := run(); err == nil || !strings.Contains(out, `input "no-such-input" is not defined`) {
		t.Errorf("actionlint accepted an unknown input: %v\n%s", err, out)
	}
}
