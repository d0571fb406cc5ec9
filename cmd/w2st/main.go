// Command w2st trains weak and strong GPT-NeoX classifiers and measures whether
// trustworthiness transfers from a weak model to a strong model trained on its
// labels. Run `w2st help` for the commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/internal/cleanup"
)

// command is one `w2st` subcommand (or a group of them).
type command struct {
	name    string
	summary string
	args    string // synopsis of positional arguments, e.g. "<dir|preset>"
	long    string // optional extra help text
	// setup declares the command's flags on fs and returns the function that
	// runs it with the positional arguments.
	setup func(fs *pflag.FlagSet, env *cliEnv) func(args []string) error
	// sub holds the subcommands of a group such as `w2st data`.
	sub []*command
}

// cliEnv is what a command writes to.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commands is the table of top-level commands; add new ones here.
func commands() []*command {
	return []*command{
		devicesCommand(),
		dataCommand(),
		tokenizeCommand(),
		modelCommand(),
		predictCommand(),
		w2sCommand(),
		reportCommand(),
		demoCommand(),
		trainCommand(),
		evalCommand(),
	}
}

// usageError marks an error in how a command was called (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

func main() {
	// An interrupted command removes the temporary files of its unfinished outputs.
	cleanup.HandleSignals(os.Stderr, os.Exit)
	os.Exit(run(os.Args[1:], &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// run executes the command line and returns the process exit code:
// 0 success, 1 runtime error, 2 usage error.
func run(args []string, env *cliEnv) int {
	root := &command{name: "w2st", summary: "weak-to-strong trustworthiness experiments", sub: commands()}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		fmt.Fprintln(env.stdout, versionString())
		return 0
	}
	return dispatch(root, []string{"w2st"}, args, env)
}

func dispatch(group *command, path []string, args []string, env *cliEnv) int {
	if len(args) == 0 {
		printGroupUsage(env.stderr, group, path)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" {
		printGroupUsage(env.stdout, group, path)
		return 0
	}
	if name == "help" {
		return helpCommand(group, path, args[1:], env)
	}
	cmd := findCommand(group.sub, name)
	if cmd == nil {
		fmt.Fprintf(env.stderr, "%s: unknown command %q\n\n", strings.Join(path, " "), name)
		printGroupUsage(env.stderr, group, path)
		return 2
	}
	path = append(path, cmd.name)
	if cmd.sub != nil {
		return dispatch(cmd, path, args[1:], env)
	}
	fs := pflag.NewFlagSet(strings.Join(path, " "), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	runFn := cmd.setup(fs, env)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printCommandUsage(env.stdout, cmd, path, fs)
			return 0
		}
		fmt.Fprintf(env.stderr, "%s: %v\n\n", strings.Join(path, " "), err)
		printCommandUsage(env.stderr, cmd, path, fs)
		return 2
	}
	if err := runFn(fs.Args()); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(env.stderr, "%s: %v\n\n", strings.Join(path, " "), err)
			printCommandUsage(env.stderr, cmd, path, fs)
			return 2
		}
		fmt.Fprintf(env.stderr, "%s: %s\n", strings.Join(path, " "), oneLine(err.Error()))
		return 1
	}
	return 0
}

// oneLine folds a multi-line error message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

func helpCommand(group *command, path []string, args []string, env *cliEnv) int {
	cur := group
	for _, a := range args {
		next := findCommand(cur.sub, a)
		if next == nil {
			fmt.Fprintf(env.stderr, "%s help: unknown command %q\n", strings.Join(path, " "), a)
			return 2
		}
		path = append(path, next.name)
		cur = next
	}
	if cur.sub != nil {
		printGroupUsage(env.stdout, cur, path)
		return 0
	}
	fs := pflag.NewFlagSet(strings.Join(path, " "), pflag.ContinueOnError)
	fs.SortFlags = false
	cur.setup(fs, env)
	printCommandUsage(env.stdout, cur, path, fs)
	return 0
}

func printGroupUsage(w io.Writer, group *command, path []string) {
	fmt.Fprintf(w, "%s — %s\n\nUsage: %s <command> [flags]\n\nCommands:\n", strings.Join(path, " "), group.summary, strings.Join(path, " "))
	subs := append([]*command(nil), group.sub...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, c := range subs {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s help <command>' for a command's flags.\n", strings.Join(path, " "))
	if len(path) == 1 {
		fmt.Fprintf(w, "Run 'w2st --version' for the version.\n")
	}
}

func printCommandUsage(w io.Writer, cmd *command, path []string, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags] %s\n\n%s\n", strings.Join(path, " "), cmd.args, cmd.summary)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.long))
	}
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
}

// revision is set by the Makefile (-ldflags -X main.revision=…) when the
// build has no VCS stamp.
var revision string

func versionString() string {
	version, rev, modified := "(devel)", revision, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	out := "w2st " + version
	if rev != "" {
		out += " revision " + rev + modified
	}
	return out
}
