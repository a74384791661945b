// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/cnvmtest/cnvmtest/harness/bisect"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

const bisectUsage = `usage:
  cnvmtest bisect -kernel-tree DIR -good REV -bad REV [flags] [run flags]
  cnvmtest bisect -debian SERIES [-good VERSION] [-bad VERSION] [flags] [run flags]
  cnvmtest bisect -module-repo DIR [-kmod-path PATH] -good REV -bad REV [-kernel SPEC] [flags] [run flags]

Finds the first version that fails the guest suite:
  -kernel-tree  commits of a kernel git tree, each built as kernel src:DIR
                (a kernel that does not build is skipped)
  -debian       the package versions of a Debian kernel series in the archive,
                e.g. 6.12 or 6.12+deb13, oldest to newest, each run as
                debian:VERSION; an endpoint not given is tested first; a
                version whose kernel cannot be fetched (its packages gone
                from the archive) is skipped, the reason in the log
  -module-repo  commits of the module's history, each run with -kmod DIR/PATH
                against one kernel (-kernel, default debian:6.1)

The git modes run git bisect in DIR, which must have no uncommitted changes,
with 'cnvmtest bisect-step' as the command, and reset it at the end.
Each step runs the suite -repeat times: all pass is good, all fail is bad,
a mix is flaky and counts as -flaky says. PASS is good; FAIL, KERNEL_SPLAT,
TIMEOUT and KERNEL_PANIC are bad; other outcomes cannot test the version
(git bisect skip). The log and the first bad version are printed at the
end; the exit status is 0 when one first bad version was found, 1 when not,
2 for bad usage.

bisect flags:
`

// bisectFlags are the flags of cnvmtest bisect beyond those of run.
type bisectFlags struct {
	kernelTree, debian, moduleRepo string
	kmodPath, flavour              string
	good, bad                      string
	repeat                         int
	flaky                          string
	logFile                        string
}

func (b *bisectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.kernelTree, "kernel-tree", "", "bisect the commits of the kernel git tree in `DIR`")
	fs.StringVar(&b.debian, "debian", "", "bisect the package versions of a Debian kernel `SERIES` (6.12, 6.12+deb13)")
	fs.StringVar(&b.moduleRepo, "module-repo", "", "bisect the commits of the module's git repository in `DIR`")
	fs.StringVar(&b.kmodPath, "kmod-path", "kmod", "with -module-repo: the module's directory in the repository")
	fs.StringVar(&b.flavour, "flavour", "minimal", "with -kernel-tree: the kernel configuration, minimal or debug")
	fs.StringVar(&b.good, "good", "", "a good commit, or Debian package version (default: the oldest)")
	fs.StringVar(&b.bad, "bad", "", "a bad commit, or Debian package version (default: the newest)")
	fs.IntVar(&b.repeat, "repeat", 1, "run the suite `N` times per step, to tell a flake from a regression")
	fs.StringVar(&b.flaky, "flaky", "bad", "what a step whose runs disagree counts as: bad or skip")
	fs.StringVar(&b.logFile, "log", "", "also write the bisect log to `FILE`")
}

// bisection is a bisection ready to run: *bisect.Git or *bisect.Debian.
type bisection interface {
	Run(ctx context.Context) (found bool, err error)
}

func bisectCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	b, code := parseBisect(args, stdout, stderr)
	if b == nil {
		return code
	}
	found, err := b.Run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bisect: %v\n", err)
		return 1
	}
	if !found {
		return 1
	}
	return 0
}

// parseBisect reads the command line of cnvmtest bisect. A nil bisection
// comes with the exit status: 0 for -h, 2 for bad usage.
func parseBisect(args []string, stdout, stderr io.Writer) (bisection, int) {
	fs := flag.NewFlagSet("cnvmtest bisect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var b bisectFlags
	b.register(fs)
	var rf runFlags
	rf.register(fs)
	given := givenRunFlags(fs)
	fs.Usage = func() { bisectUsageFunc(fs.Output()) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
	}
	usageErr := func(format string, a ...any) (bisection, int) {
		fmt.Fprintf(stderr, "cnvmtest bisect: "+format+"\n", a...)
		return nil, 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	policy, err := bisect.ParseFlakyPolicy(b.flaky)
	if err != nil {
		return usageErr("-flaky: %v", err)
	}
	if b.repeat < 1 {
		return usageErr("-repeat %d: want at least 1", b.repeat)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	modes := 0
	for _, m := range []string{"kernel-tree", "debian", "module-repo"} {
		if set[m] {
			modes++
		}
	}
	if modes != 1 {
		return usageErr("give one of -kernel-tree DIR, -debian SERIES or -module-repo DIR (see -h)")
	}
	// The steps get the run flags as given: check them as they will.
	runArgs := given()
	if _, err := parseRunFlags(runArgs, stdout, stderr); err != nil {
		return usageErr("%v", err)
	}
	st := bisect.Stepper{Run: runSuite(stdout, stderr), Args: runArgs, Repeat: b.repeat, Policy: policy, Out: stdout}

	if b.debian != "" {
		if set["kernel"] {
			return usageErr("-debian picks the kernels; -kernel does not go with it")
		}
		return &bisect.Debian{Series: b.debian, Good: b.good, Bad: b.bad, Kernels: bisect.StoreKernels{Log: stderr},
			Step: st, LogFile: b.logFile, Stdout: stdout, Stderr: stderr}, 0
	}
	g, err := b.gitBisect(st, set, rf.tests)
	if err != nil {
		return usageErr("%v", err)
	}
	g.Stdout, g.Stderr = stdout, stderr
	return g, 0
}

// gitBisect sets up the bisection of commits, of a kernel tree or of a
// module's history; set holds the flags given. Each step gets st's run
// flags and those that put the commit checked out into the run.
func (b *bisectFlags) gitBisect(st bisect.Stepper, set map[string]bool, tests string) (*bisect.Git, error) {
	if b.good == "" || b.bad == "" {
		return nil, errors.New("bisecting commits needs -good REV and -bad REV")
	}
	g := &bisect.Git{Good: b.good, Bad: b.bad, LogFile: b.logFile}
	var extra []string
	var err error
	if b.kernelTree != "" {
		if set["kernel"] {
			return nil, errors.New("-kernel-tree builds the kernel; -kernel does not go with it")
		}
		if g.Dir, err = filepath.Abs(b.kernelTree); err != nil {
			return nil, err
		}
		spec := "src:" + g.Dir
		switch b.flavour {
		case "minimal":
		case "debug":
			spec += "@debug"
		default:
			return nil, fmt.Errorf("-flavour %q: want minimal or debug", b.flavour)
		}
		if _, err := kernel.ParseSpec(spec); err != nil {
			return nil, fmt.Errorf("-kernel-tree: %w", err)
		}
		extra = []string{"-kernel", spec}
		g.What = "kernel tree " + g.Dir
	} else {
		if set["kmod"] {
			return nil, errors.New("-module-repo takes the module from the repository (-kmod-path); -kmod does not go with it")
		}
		if g.Dir, err = filepath.Abs(b.moduleRepo); err != nil {
			return nil, err
		}
		kmod := filepath.Join(g.Dir, b.kmodPath)
		extra = []string{"-kmod", kmod}
		if tests != "" && !filepath.IsAbs(tests) {
			// Tests kept with the module follow its history.
			if fi, err := os.Stat(filepath.Join(g.Dir, tests)); err == nil && fi.IsDir() {
				extra = append(extra, "-tests", filepath.Join(g.Dir, tests))
			}
		}
		g.What = "module history of " + kmod
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	g.Command = []string{self, "bisect-step"}
	g.Args = bisect.StepArgs{Repeat: st.Repeat, Policy: st.Policy, Dir: wd, Run: slices.Concat(st.Args, extra)}
	return g, nil
}

// bisectStepCmd is what git bisect run runs at each commit: the suite,
// -repeat times, judged into git's exit codes. It appends its verdict to
// the -record file for the log cnvmtest bisect prints at the end. Exit
// codes 1 to 127 would tell git the commit is bad: any problem of the
// step's own aborts the bisection instead.
func bisectStepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a, err := bisect.ParseStepArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return bisect.ExitAbort // the flag package said why
	}
	v, err := bisect.RunStep(ctx, a, runSuite(stdout, stderr), stdout)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bisect-step: %v\n", err)
		return bisect.ExitAbort
	}
	return v.ExitCode()
}
