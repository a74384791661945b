package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/bisect"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
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
                debian:VERSION; an endpoint not given is tested first
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

func bisectCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnvmtest bisect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var b bisectFlags
	b.register(fs)
	var rf runFlags
	rf.register(fs)
	fs.Usage = func() {
		// The two sets of flags apart: fresh sets print the defaults.
		fmt.Fprint(fs.Output(), bisectUsage)
		bfs := flag.NewFlagSet("", flag.ContinueOnError)
		bfs.SetOutput(fs.Output())
		new(bisectFlags).register(bfs)
		bfs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nrun flags, passed to each step as cnvmtest run takes them:\n")
		rfs := flag.NewFlagSet("", flag.ContinueOnError)
		rfs.SetOutput(fs.Output())
		new(runFlags).register(rfs)
		rfs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cnvmtest bisect: "+format+"\n", a...)
		return 2
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
	o, err := rf.options(stdout, stderr)
	if err == nil && len(kernel.SplitSpecs(o.Kernel)) > 1 {
		err = fmt.Errorf("-kernel %s: a bisection runs one kernel at a time", o.Kernel)
	}
	if err != nil {
		return usageErr("%v", err)
	}
	st := stepper{repeat: b.repeat, policy: policy, out: stdout}

	if b.debian != "" {
		if set["kernel"] {
			return usageErr("-debian picks the kernels; -kernel does not go with it")
		}
		return bisectDebian(ctx, b, o, st, stdout, stderr)
	}
	g, err := b.gitBisect(o, set, rf.tests)
	if err != nil {
		return usageErr("%v", err)
	}
	g.stdout, g.stderr = stdout, stderr
	return g.run(ctx)
}

// gitBisect sets up the bisection of commits, of a kernel tree or of a
// module's history; set holds the flags given.
func (b *bisectFlags) gitBisect(o harness.Options, set map[string]bool, tests string) (*gitBisect, error) {
	if b.good == "" || b.bad == "" {
		return nil, errors.New("bisecting commits needs -good REV and -bad REV")
	}
	g := &gitBisect{good: b.good, bad: b.bad, logFile: b.logFile}
	var err error
	if b.kernelTree != "" {
		if set["kernel"] {
			return nil, errors.New("-kernel-tree builds the kernel; -kernel does not go with it")
		}
		if g.dir, err = filepath.Abs(b.kernelTree); err != nil {
			return nil, err
		}
		spec := "src:" + g.dir
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
		o.Kernel = spec
		g.what = "kernel tree " + g.dir
	} else {
		if set["kmod"] {
			return nil, errors.New("-module-repo takes the module from the repository (-kmod-path); -kmod does not go with it")
		}
		if g.dir, err = filepath.Abs(b.moduleRepo); err != nil {
			return nil, err
		}
		o.KmodDir = filepath.Join(g.dir, b.kmodPath)
		if tests != "" && !filepath.IsAbs(tests) {
			// Tests kept with the module follow its history.
			if fi, err := os.Stat(filepath.Join(g.dir, tests)); err == nil && fi.IsDir() {
				o.TestsDir, o.TestsPkg = filepath.Join(g.dir, tests), "."
			}
		}
		g.what = "module history of " + o.KmodDir
	}
	g.step = append([]string{"bisect-step", "-repeat", strconv.Itoa(b.repeat), "-flaky", b.flaky}, stepArgs(o)...)
	return g, nil
}

// bisectStepCmd is what git bisect run runs at each commit: the suite,
// -repeat times, judged into git's exit codes. It appends its verdict to
// the -record file for the log cnvmtest bisect prints at the end.
func bisectStepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnvmtest bisect-step", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repeat := fs.Int("repeat", 1, "run the suite `N` times")
	flaky := fs.String("flaky", "bad", "what disagreeing runs count as: bad or skip")
	record := fs.String("record", "", "append the step's verdict, as JSON, to `FILE`")
	var rf runFlags
	rf.register(fs)
	// Exit codes 1 to 127 would tell git the commit is bad: any problem
	// of the step's own aborts the bisection instead.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return bisect.ExitAbort
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cnvmtest bisect-step: "+format+"\n", a...)
		return bisect.ExitAbort
	}
	policy, err := bisect.ParseFlakyPolicy(*flaky)
	if err != nil {
		return fail("%v", err)
	}
	o, err := rf.options(stdout, stderr)
	if err == nil && len(kernel.SplitSpecs(o.Kernel)) > 1 {
		err = fmt.Errorf("-kernel %s: a bisection runs one kernel at a time", o.Kernel)
	}
	if err != nil {
		return fail("%v", err)
	}
	commit, err := gitOutput(ctx, ".", "rev-parse", "HEAD")
	if err != nil {
		return fail("%v", err)
	}
	st := stepper{repeat: *repeat, policy: policy, out: stdout}
	step, err := st.run(ctx, o, shortHash(commit))
	if err != nil {
		return fail("%s: %v", shortHash(commit), err)
	}
	if *record != "" {
		if err := appendRecord(*record, bisect.Entry{Version: commit, Step: step}); err != nil {
			return fail("%v", err)
		}
	}
	return step.Verdict.ExitCode()
}

// stepper runs one bisection step in this process.
type stepper struct {
	repeat int
	policy bisect.FlakyPolicy
	out    io.Writer
}

// run runs the suite on one version up to repeat times, one line per
// attempt, and judges it.
func (s stepper) run(ctx context.Context, o harness.Options, label string) (bisect.Step, error) {
	step, err := bisect.Repeat(ctx, s.repeat, s.policy, func(ctx context.Context, i int) bisect.Attempt {
		start := time.Now()
		res, err := harness.Run(ctx, o)
		a := bisect.Attempt{Elapsed: time.Since(start)}
		if err != nil {
			a.Outcome, a.Reason = report.Infra, err.Error()
		} else {
			a.Outcome, a.Reason = res.Outcome, res.Reason
		}
		fmt.Fprintf(s.out, "cnvmtest bisect: %s: attempt %d/%d: %s\n", label, i+1, s.repeat, a)
		return a
	})
	if err == nil {
		fmt.Fprintf(s.out, "cnvmtest bisect: %s: %s\n", label, step)
	}
	return step, err
}

func appendRecord(path string, e bisect.Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readRecords(path string) (map[string]bisect.Step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	steps := map[string]bisect.Step{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e bisect.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		steps[e.Version] = e.Step
	}
	return steps, nil
}

// gitBisect is a bisection of commits by git bisect run.
type gitBisect struct {
	dir       string
	what      string   // for the log's heading
	good, bad string   // as given
	step      []string // bisect-step and its arguments
	logFile   string
	stdout    io.Writer
	stderr    io.Writer
}

func (g *gitBisect) run(ctx context.Context) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(g.stderr, "cnvmtest bisect: "+format+"\n", a...)
		return 1
	}
	good, bad, err := g.check(ctx)
	if err != nil {
		return fail("%v", err)
	}
	// Checkouts may rebuild or remove this binary (out/bin/cnvmtest in the
	// repository bisected): every step runs the one the user started.
	self, err := copyExecutable()
	if err != nil {
		return fail("copying this binary for the steps: %v", err)
	}
	defer os.Remove(self)
	rec, err := os.CreateTemp("", "cnvmtest-bisect-*.jsonl")
	if err != nil {
		return fail("%v", err)
	}
	rec.Close()
	defer os.Remove(rec.Name())

	if err := g.git(ctx, "bisect", "start", bad, good); err != nil {
		return fail("%v", err)
	}
	defer func() {
		// Back to where the user was, even after ^C.
		if err := g.git(context.WithoutCancel(ctx), "bisect", "reset"); err != nil {
			fmt.Fprintf(g.stderr, "cnvmtest bisect: %v; run git bisect reset in %s\n", err, g.dir)
		}
	}()
	args := append([]string{"bisect", "run", self}, g.step...)
	args = append(args, "-record", rec.Name())
	fmt.Fprintf(g.stderr, "cnvmtest bisect: in %s: git %s\n", g.dir, strings.Join(args, " "))
	runErr := g.git(ctx, args...)

	logText, err := gitOutput(context.WithoutCancel(ctx), g.dir, "bisect", "log")
	if err != nil {
		return fail("%v", err)
	}
	log, err := bisect.ParseGitLog(strings.NewReader(logText))
	if err != nil {
		return fail("reading git bisect log: %v", err)
	}
	steps, err := readRecords(rec.Name())
	if err != nil {
		return fail("%v", err)
	}
	var out bytes.Buffer
	found := g.writeLog(&out, log, steps, good, bad)
	if runErr != nil && !found {
		fmt.Fprintf(&out, "git bisect run did not finish: %v\n", runErr)
	}
	g.stdout.Write(out.Bytes())
	if g.logFile != "" {
		fmt.Fprintf(&out, "\ngit bisect log (for git bisect replay):\n%s\n", logText)
		if err := os.WriteFile(g.logFile, out.Bytes(), 0o644); err != nil {
			return fail("%v", err)
		}
	}
	if !found {
		return 1
	}
	return 0
}

// check makes sure git bisect can start in dir without harm, and returns
// the endpoints as commit hashes.
func (g *gitBisect) check(ctx context.Context) (good, bad string, err error) {
	if _, err := gitOutput(ctx, g.dir, "rev-parse", "--show-toplevel"); err != nil {
		return "", "", fmt.Errorf("%s is not in a git repository: %w", g.dir, err)
	}
	dirty, err := gitOutput(ctx, g.dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", "", err
	}
	if dirty != "" {
		return "", "", fmt.Errorf("%s has uncommitted changes, which git bisect would carry into every commit tested: commit or stash them\n%s", g.dir, dirty)
	}
	started, err := gitOutput(ctx, g.dir, "rev-parse", "--git-path", "BISECT_START")
	if err != nil {
		return "", "", err
	}
	if !filepath.IsAbs(started) {
		started = filepath.Join(g.dir, started)
	}
	if _, err := os.Stat(started); err == nil {
		return "", "", fmt.Errorf("a bisection is already going on in %s: finish it, or end it with git bisect reset", g.dir)
	}
	if good, err = gitOutput(ctx, g.dir, "rev-parse", "--verify", "--end-of-options", g.good+"^{commit}"); err != nil {
		return "", "", fmt.Errorf("-good %s: %w", g.good, err)
	}
	if bad, err = gitOutput(ctx, g.dir, "rev-parse", "--verify", "--end-of-options", g.bad+"^{commit}"); err != nil {
		return "", "", fmt.Errorf("-bad %s: %w", g.bad, err)
	}
	return good, bad, nil
}

// writeLog prints the commits tested with their steps' verdicts and the
// answer, and reports whether there is one.
func (g *gitBisect) writeLog(w io.Writer, log *bisect.GitLog, steps map[string]bisect.Step, good, bad string) bool {
	var entries []bisect.Entry
	tested := map[string]bool{}
	for _, s := range log.Steps {
		if s.Start {
			continue
		}
		st, ok := steps[s.Commit]
		if !ok { // judged by hand, or the step did not finish
			st = bisect.Step{Verdict: s.Verdict}
		}
		tested[s.Commit] = true
		entries = append(entries, bisect.Entry{Version: shortHash(s.Commit), Title: s.Subject, Step: st})
	}
	fmt.Fprintf(w, "\nbisect log (%s; good %s, bad %s):\n", g.what, shortHash(good), shortHash(bad))
	bisect.WriteLog(w, entries)
	switch {
	case log.FirstBad != nil:
		fmt.Fprintf(w, "first bad commit: %s %s\n", log.FirstBad.Commit, log.FirstBad.Subject)
		if !tested[log.FirstBad.Commit] {
			fmt.Fprintf(w, "(not tested: it is the -bad commit, taken as bad)\n")
		}
		return true
	case len(log.Suspects) > 0:
		fmt.Fprintf(w, "the first bad commit is hidden by skipped commits (untestable, or flaky with -flaky skip); it is one of:\n")
		for _, s := range log.Suspects {
			fmt.Fprintf(w, "  %s %s\n", s.Commit, s.Subject)
		}
	default:
		fmt.Fprintf(w, "no first bad commit found\n")
	}
	return false
}

// git runs git in the bisected tree with its output passed on. On ^C git
// gets SIGTERM; its step, in the same terminal, sees the ^C itself.
func (g *gitBisect) git(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.dir
	cmd.Stdout, cmd.Stderr = g.stdout, g.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w", args[0]+" "+args[1], err)
	}
	return nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// copyExecutable copies the running binary to a temporary file.
func copyExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	src, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dst, err := os.CreateTemp("", "cnvmtest-bisect-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst.Name(), 0o755)
	}
	if err != nil {
		os.Remove(dst.Name())
		return "", err
	}
	return dst.Name(), nil
}

// bisectDebian bisects the package versions of a Debian kernel series.
func bisectDebian(ctx context.Context, b bisectFlags, o harness.Options, st stepper, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cnvmtest bisect: "+format+"\n", a...)
		return 1
	}
	store := o.Store
	if store == nil {
		var err error
		if store, err = kernel.DefaultStore(); err != nil {
			return fail("%v", err)
		}
		o.Store = store
	}
	versions, err := debianVersions(ctx, store, b.debian, stderr)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stderr, "cnvmtest bisect: %d versions of Debian's %s kernels: %s\n", len(versions), b.debian, strings.Join(versions, " "))
	s := bisect.Search{
		Versions:  versions,
		Good:      cmp.Or(b.good, versions[0]),
		Bad:       cmp.Or(b.bad, versions[len(versions)-1]),
		CheckGood: b.good == "",
		CheckBad:  b.bad == "",
		Test: func(ctx context.Context, v string) (bisect.Step, error) {
			vo := o
			vo.Kernel = "debian:" + v
			return st.run(ctx, vo, v)
		},
	}
	for _, v := range []string{s.Good, s.Bad} {
		if !slices.Contains(versions, v) {
			return fail("%s is not a version of the %s series in Debian's archive; there are: %s", v, b.debian, strings.Join(versions, " "))
		}
	}
	res, err := s.Run(ctx)

	var out bytes.Buffer
	fmt.Fprintf(&out, "\nbisect log (Debian %s kernels, %d versions; good %s, bad %s):\n", b.debian, len(versions), s.Good, s.Bad)
	bisect.WriteLog(&out, res.Log)
	switch {
	case err != nil:
		fmt.Fprintf(&out, "no first bad version: %v\n", err)
	case res.Found():
		fmt.Fprintf(&out, "first bad version: %s (last good: %s)\n", res.FirstBad, res.LastGood)
		if !slices.ContainsFunc(res.Log, func(e bisect.Entry) bool { return e.Version == res.FirstBad }) {
			fmt.Fprintf(&out, "(not tested: it is the -bad version, taken as bad)\n")
		}
	default:
		fmt.Fprintf(&out, "the first bad version is hidden by skipped versions (untestable, or flaky with -flaky skip); it is one of: %s (last good: %s)\n",
			strings.Join(res.Suspects, " "), res.LastGood)
	}
	stdout.Write(out.Bytes())
	if b.logFile != "" {
		if err := os.WriteFile(b.logFile, out.Bytes(), 0o644); err != nil {
			return fail("%v", err)
		}
	}
	if err != nil || !res.Found() {
		return 1
	}
	return 0
}

// debianVersions lists the package versions of a Debian kernel series in
// the archive, oldest first, each one a kernel that debian:VERSION names.
func debianVersions(ctx context.Context, store *kernel.Store, series string, log io.Writer) ([]string, error) {
	spec, err := kernel.ParseSpec("debian:" + series)
	if err != nil || spec.Series == "" {
		return nil, fmt.Errorf("-debian %s: want a series such as 6.12 or 6.12+deb13", series)
	}
	versions, err := store.Versions(ctx, spec, log)
	if err != nil {
		return nil, err
	}
	if len(versions) < 2 {
		return nil, fmt.Errorf("the archive has %d Debian %s kernel(s) (%s): nothing to bisect", len(versions), series, strings.Join(versions, " "))
	}
	return versions, nil
}

// stepArgs returns the run flags that give o to bisect-step.
func stepArgs(o harness.Options) []string {
	args := []string{"-repo", o.Repo, "-accel", string(o.Accel), "-cpus", strconv.Itoa(o.CPUs), "-mem", strconv.Itoa(o.MemoryMB)}
	add := func(name, value string) {
		if value != "" {
			args = append(args, "-"+name, value)
		}
	}
	add("kernel", o.Kernel)
	add("init", string(o.Init))
	add("kmod", o.KmodDir)
	add("params", o.ModuleParams)
	if o.TestsDir != "" {
		add("tests", o.TestsDir)
	} else {
		add("tests", o.TestsPkg)
	}
	add("run", o.Run)
	if o.Count > 0 {
		add("count", strconv.Itoa(o.Count))
	}
	if o.Timeout > 0 {
		add("timeout", o.Timeout.String())
	}
	if o.TestTimeout > 0 {
		add("test-timeout", o.TestTimeout.String())
	}
	if o.Verbose {
		args = append(args, "-v")
	}
	add("out", o.OutDir)
	for _, e := range o.Env {
		add("env", e)
	}
	for _, f := range o.Files {
		add("file", f)
	}
	return args
}
