package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"unicode/utf8"
)

// command is one of batchsli's commands.
type command struct {
	name string
	// args is what follows the command in the global usage.
	args string
	// summary is its line in the global usage.
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// hidden commands are left out of the usage and of completion.
	hidden bool
}

// commands lists batchsli's commands in the order the usage shows them.
// It is filled in init: the help and completion commands read it.
var commands []command

func init() {
	commands = []command{
		{name: "record", args: "--data DIR --ecosystem ECO [flags] RESULTS...", summary: "append a batch's records", run: runRecord},
		{name: "report", args: "[--data DIR | --demo] [flags]", summary: "per-platform SLIs across runs", run: runReport},
		{name: "summary", args: "[--data DIR | --demo] [--batch-id ID]", summary: "one batch's job summary (markdown)", run: runSummary},
		{name: "recipe", args: "[--data DIR | --demo] ID", summary: "one recipe's history across batches", run: runRecipe},
		{name: "check", args: "[--data DIR | --demo] [--config FILE] [--now RFC3339]", summary: "gate a workflow on the macOS budget and the SLOs", run: runCheck},
		{name: "export", args: "[--data DIR | --demo] --format openmetrics|prometheus|parquet|csv", summary: "the SLIs for Prometheus, the records for warehouses", run: runExport},
		{name: "site", args: "[--data DIR | --demo] --out DIR [flags]", summary: "a static dashboard of the SLIs, for GitHub Pages", run: runSite},
		{name: "rules", args: "[--data DIR | --demo] [--config FILE] --format prometheus|grafana", summary: "Prometheus rules and a Grafana dashboard from the SLOs", run: runRules},
		{name: "validate", args: "[--data DIR | --demo] [--format text|json]", summary: "check a data directory", run: runValidate},
		{name: "compact", args: "--data DIR", summary: "rewrite the data into canonical files", run: runCompact},
		{name: "simulate", args: "--out DIR [--batches N] [--seed S]", summary: "write a realistic history", run: runSimulate},
		{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script", run: runCompletion},
		{name: "version", summary: "print the version (also --version)", run: runVersion},
		{name: "help", args: "[COMMAND]", summary: "print this help, or a command's", run: runHelp},
		{name: "__complete", run: runComplete, hidden: true},
	}
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// commandNames are the commands a user may type.
func commandNames() []string {
	var names []string
	for _, c := range commands {
		if !c.hidden {
			names = append(names, c.name)
		}
	}
	return names
}

// writeUsage writes the global usage.
func writeUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("batchsli: per-platform SLI metrics for batch recipe generation\n\n")
	b.WriteString("Usage: batchsli COMMAND [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(&b, "  %-11s %s\n", c.name, c.summary)
		}
	}
	b.WriteString(`
The commands that read a history take --data DIR (default ./data) or --demo
(a sample history built into batchsli). Run 'batchsli help COMMAND' (or
'batchsli COMMAND --help') for a command's arguments and flags.
`)
	io.WriteString(w, b.String())
}

// flagSinkKey keys a context value that collects the flag sets the
// commands define, so completion can list them without running anything.
type flagSinkKey struct{}

// newFlags returns a command's flag set. Its help goes to stdout (asked
// for, it is the output); parse errors are reported by parseFlags.
func newFlags(ctx context.Context, name, synopsis string, stdout io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every error; parseFlags writes the
	// help only when it is asked for.
	fs.Usage = func() {}
	fs.help = func() { writeFlagHelp(stdout, fs.FlagSet, synopsis) }
	if sink, ok := ctx.Value(flagSinkKey{}).(*[]*flag.FlagSet); ok {
		*sink = append(*sink, fs.FlagSet)
	}
	return fs
}

// flagSet is a command's flags and its help.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// metavars name the values of flags in help.
var metavars = map[string]string{
	"data": "DIR", "out": "DIR", "ecosystem": "ECO", "platform": "PLATFORM", "batch-id": "ID",
	"timestamp": "RFC3339", "now": "RFC3339", "start": "RFC3339", "since": "DATE", "until": "DATE",
	"format": "FORMAT", "by": "LEVEL", "last": "N", "batches": "N", "recipes": "N", "seed": "N",
	"total": "N", "generated": "N", "merged": "N", "excerpt": "BYTES", "week-budget": "MINUTES",
	"week-start": "DAY", "skip-threshold": "RATE", "job-seconds": "PLATFORM=SECONDS",
	"summary": "FILE", "output": "FILE", "color": "WHEN", "width": "COLUMNS", "config": "FILE",
}

// isBool reports whether f is a boolean flag (it takes no value).
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// helpWidth is the width help text is wrapped to.
const helpWidth = 80

// writeFlagHelp writes a command's help: its synopsis and its flags, in
// the --flag spelling the README uses, wrapped to helpWidth columns.
func writeFlagHelp(w io.Writer, fs *flag.FlagSet, synopsis string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: batchsli %s\n", synopsis)
	if c := findCommand(fs.Name()); c != nil && c.summary != "" {
		fmt.Fprintf(&b, "\n%s%s.\n", strings.ToUpper(c.summary[:1]), c.summary[1:])
	}
	type row struct{ left, text string }
	var rows []row
	fs.VisitAll(func(f *flag.Flag) {
		left := "--" + f.Name
		text := f.Usage
		if !isBool(f) {
			// A word in backquotes in the usage names the value; else
			// the table below; else the type.
			name, usage := flag.UnquoteUsage(f)
			mv := metavars[f.Name]
			if strings.Contains(f.Usage, "`") {
				mv, text = name, usage
			} else if mv == "" {
				mv = strings.ToUpper(name)
			}
			left += " " + mv
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" && !strings.Contains(text, "(default") {
			text += " (default " + d + ")"
		}
		rows = append(rows, row{left, text})
	})
	if len(rows) > 0 {
		b.WriteString("\nFlags:\n")
		col := 0
		for _, r := range rows {
			col = max(col, len(r.left))
		}
		col = min(col, 24)
		indent := 2 + col + 2
		for _, r := range rows {
			b.WriteString("  " + r.left)
			pad := col - len(r.left)
			if pad < 0 {
				b.WriteString("\n" + strings.Repeat(" ", indent))
			} else {
				b.WriteString(strings.Repeat(" ", pad+2))
			}
			for i, line := range wrapWords(r.text, helpWidth-indent) {
				if i > 0 {
					b.WriteString(strings.Repeat(" ", indent))
				}
				b.WriteString(line + "\n")
			}
		}
	}
	io.WriteString(w, b.String())
}

// wrapWords breaks text into lines of at most width columns at spaces; a
// word longer than width has a line of its own.
func wrapWords(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		wl := utf8.RuneCountInString(word)
		if n > 0 && n+1+wl > width {
			lines = append(lines, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(word)
		n += wl
	}
	if n > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// parseFlags parses args, mapping flag errors to usage errors that name
// the flag as --name and suggest the nearest one. -h and --help print the
// help on standard output (status 0). Flags may follow positional
// arguments; -- ends the flags.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return nil, &exitError{code: 0}
			}
			return nil, flagError(fs.FlagSet, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError rewords an error of the flag package.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf("'batchsli %s --help' lists its flags", fs.Name())
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		msg = fmt.Sprintf("unknown flag --%s", name)
		if s := nearest(name, names); s != "" {
			msg += fmt.Sprintf("; did you mean --%s?", s)
		}
	} else {
		for _, p := range []string{"flag -", "for -", "argument: -"} {
			msg = strings.ReplaceAll(msg, p, p[:len(p)-1]+"--")
		}
	}
	return usageError("%s: %s (%s)", fs.Name(), msg, hint)
}

// noArgs refuses positional arguments for a command that takes none, and
// points at --data when the argument names a directory-like path.
func noArgs(cmd string, pos []string) error {
	if len(pos) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: unexpected argument %q: the command takes flags only", cmd, pos[0])
	if c := findCommand(cmd); c != nil && strings.Contains(c.args, "--data") {
		msg += fmt.Sprintf(" (did you mean --data %s?)", pos[0])
	}
	return usageError("%s", msg)
}

// nearest is the candidate closest to s by edit distance (optimal string
// alignment: insertions, deletions, substitutions and transpositions), if
// it is near enough to be a typo: within a third of the longer name, and
// at least 1; or the only candidate that s is a prefix of.
func nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(s, c)
		if d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(1, max(len(s), len(best))/3) {
		return best
	}
	var prefixed []string
	for _, c := range candidates {
		if s != "" && strings.HasPrefix(c, s) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b,
// by bytes.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch len(args) {
	case 0:
		writeUsage(stdout)
		return nil
	case 1:
		c := findCommand(args[0])
		if c == nil || c.hidden {
			return unknownCommand(args[0])
		}
		if c.name == "help" {
			writeUsage(stdout)
			return nil
		}
		return c.run(ctx, []string{"--help"}, stdout, stderr)
	default:
		return usageError("help: give one command, not %d", len(args))
	}
}

func unknownCommand(name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := nearest(name, commandNames()); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	return usageError("%s ('batchsli help' lists the commands)", msg)
}

// versionString is the program's version: the -X main.version it was built
// with, else its module version, with the VCS revision and time from its
// build information.
func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "batchsli " + v
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var parts []string
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified {
			rev += ", modified"
		}
		parts = append(parts, "revision "+rev)
	}
	if at != "" {
		parts = append(parts, at)
	}
	parts = append(parts, info.GoVersion)
	return fmt.Sprintf("batchsli %s (%s)", v, strings.Join(parts, ", "))
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "version", "version", stdout)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("version", pos); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionString())
	return nil
}

// flagsOf is a command's flag set, found by asking it for its help with
// the output thrown away.
func flagsOf(name string) *flag.FlagSet {
	c := findCommand(name)
	if c == nil || c.name == "help" || c.name == "__complete" || c.name == "completion" {
		return nil
	}
	var sink []*flag.FlagSet
	ctx := context.WithValue(context.Background(), flagSinkKey{}, &sink)
	c.run(ctx, []string{"--help"}, io.Discard, io.Discard)
	if len(sink) == 0 {
		return nil
	}
	return sink[0]
}

// flagValues are the values a flag takes, for completion.
var flagValues = map[string][]string{
	"by":         {"family", "env", "job", "os"},
	"week-start": {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"},
	"color":      {"auto", "always", "never"},
}

// formatValues are each command's --format values, for completion.
var formatValues = map[string][]string{
	"report": {"text", "markdown", "json"}, "summary": {"markdown", "json"},
	"validate": {"text", "json"}, "recipe": {"text", "json"}, "check": {"text", "json"}, "export": {"openmetrics", "prometheus", "parquet", "csv"}, "rules": {"prometheus", "grafana"},
}

// runComplete prints the completions of the last of args, the words after
// "batchsli" up to the cursor, one a line. It prints nothing where a file
// name is expected: the shell scripts then complete file names.
func runComplete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{""}
	}
	cur, before := args[len(args)-1], args[:len(args)-1]
	var out []string
	add := func(cands []string, prefix string) {
		for _, c := range cands {
			if strings.HasPrefix(c, cur) {
				out = append(out, prefix+c)
			}
		}
	}
	switch {
	case len(before) == 0:
		add(commandNames(), "")
	case before[0] == "help":
		if len(before) == 1 {
			add(commandNames(), "")
		}
	case before[0] == "completion":
		if len(before) == 1 {
			add([]string{"bash", "zsh", "fish"}, "")
		}
	default:
		fs := flagsOf(before[0])
		if fs == nil {
			break
		}
		// A flag's value: after "--flag" or "--flag=" (bash splits the
		// word at "=").
		prev := before[len(before)-1]
		if prev == "=" && len(before) >= 2 {
			prev = before[len(before)-2]
		}
		if len(before) > 1 && strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") {
			name := strings.TrimLeft(prev, "-")
			if f := fs.Lookup(name); f != nil && !isBool(f) {
				vals := flagValues[name]
				if name == "format" {
					vals = formatValues[before[0]]
				}
				add(vals, "")
				break
			}
		}
		if v, ok := strings.CutPrefix(cur, "--"); ok && strings.Contains(v, "=") {
			name, val, _ := strings.Cut(v, "=")
			vals := flagValues[name]
			if name == "format" {
				vals = formatValues[before[0]]
			}
			for _, c := range vals {
				if strings.HasPrefix(c, val) {
					out = append(out, "--"+name+"="+c)
				}
			}
			break
		}
		if strings.HasPrefix(cur, "-") {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
			add(append(names, "--help"), "")
		}
	}
	slices.Sort(out)
	for _, o := range slices.Compact(out) {
		fmt.Fprintln(stdout, o)
	}
	return nil
}

// completionScripts are the shell completion scripts; each asks
// "batchsli __complete WORDS..." for the candidates and completes file
// names when it offers none.
var completionScripts = map[string]string{
	"bash": `# bash completion for batchsli: source <(batchsli completion bash)
_batchsli() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n'
    local out
    out=$(batchsli __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    if [[ -n $out ]]; then
        [[ $cur == "=" ]] && cur=
        COMPREPLY=($(compgen -W "$out" -- "$cur"))
    else
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _batchsli batchsli
`,
	"zsh": `#compdef batchsli
# zsh completion for batchsli: source <(batchsli completion zsh), or save as _batchsli on $fpath
_batchsli() {
    local -a out
    out=("${(@f)$(batchsli __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${#out} )) && [[ -n ${out[1]} ]]; then
        compadd -a out
    else
        _files
    fi
}
if [[ $funcstack[1] == _batchsli ]]; then
    _batchsli "$@"
else
    compdef _batchsli batchsli
fi
`,
	"fish": `# fish completion for batchsli: batchsli completion fish | source
function __batchsli_complete
    set -l words (commandline -opc)
    batchsli __complete $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c batchsli -a '(__batchsli_complete)'
`,
}

func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "completion", "completion bash|zsh|fish", stdout)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("completion: name one shell: bash, zsh or fish")
	}
	s, ok := completionScripts[pos[0]]
	if !ok {
		msg := fmt.Sprintf("completion: no script for %q; there are bash, zsh and fish", pos[0])
		return usageError("%s", msg)
	}
	io.WriteString(stdout, s)
	return nil
}
