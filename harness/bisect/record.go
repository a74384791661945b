// SPDX-License-Identifier: MIT

package bisect

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/cnvmtest/cnvmtest/internal/gitcmd"
)

// StepArgs are the arguments of the step process that git bisect run
// starts at each commit (cnvmtest bisect-step).
type StepArgs struct {
	Repeat int
	Policy FlakyPolicy
	// Record, if set, is a file the step appends its verdict to, as a
	// line of JSON (an Entry), for the log the bisection prints at the
	// end.
	Record string
	// Dir is the directory the bisection was started in. git bisect run
	// starts the step in the bisected tree; the step moves to Dir before
	// its runs, so that the run flags mean what they meant to the user
	// (relative paths, the defaults found from the working directory).
	Dir string
	// Run are the run flags, as the user gave them, and those the
	// bisection adds (-kmod of a module's history, -kernel src:DIR of a
	// kernel tree).
	Run []string
}

// Args returns the arguments that ParseStepArgs reads back as a.
func (a StepArgs) Args() []string {
	args := []string{"-repeat", strconv.Itoa(a.Repeat), "-flaky", a.Policy.String()}
	if a.Record != "" {
		args = append(args, "-record", a.Record)
	}
	if a.Dir != "" {
		args = append(args, "-dir", a.Dir)
	}
	return append(append(args, "--"), a.Run...)
}

// ParseStepArgs reads the arguments Args writes; usage and errors go to
// output. It returns flag.ErrHelp for -h.
func ParseStepArgs(args []string, output io.Writer) (StepArgs, error) {
	var a StepArgs
	fs := flag.NewFlagSet("cnvmtest bisect-step", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.IntVar(&a.Repeat, "repeat", 1, "run the suite `N` times")
	fs.Var(&a.Policy, "flaky", "what disagreeing runs count as: bad (the default) or skip")
	fs.StringVar(&a.Record, "record", "", "append the step's verdict, as JSON, to `FILE`")
	fs.StringVar(&a.Dir, "dir", "", "run as if started in `DIR`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cnvmtest bisect-step [flags] -- [run flags]\n\n"+
			"One step of cnvmtest bisect, run by git bisect run at each commit.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.Run = fs.Args()
	return a, nil
}

// RunStep is the step process: it runs the suite on the commit checked
// out in the working directory, records the verdict in a.Record and
// returns it; the exit status is its ExitCode. It changes the process's
// working directory to a.Dir. An error means the step could not judge the
// commit, and must stop git bisect run (ExitAbort) rather than mark it.
func RunStep(ctx context.Context, a StepArgs, run RunFunc, out io.Writer) (Verdict, error) {
	commit, err := gitcmd.Line(ctx, ".", "rev-parse", "HEAD")
	if err != nil {
		return Skip, err
	}
	if a.Dir != "" {
		if err := os.Chdir(a.Dir); err != nil {
			return Skip, err
		}
	}
	s := Stepper{Run: run, Args: a.Run, Repeat: a.Repeat, Policy: a.Policy, Out: out}
	step, err := s.Step(ctx, shortHash(commit))
	if err != nil {
		return Skip, fmt.Errorf("%s: %w", shortHash(commit), err)
	}
	if a.Record != "" {
		if err := appendRecord(a.Record, Entry{Version: commit, Step: step}); err != nil {
			return Skip, err
		}
	}
	return step.Verdict, nil
}

func appendRecord(path string, e Entry) error {
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

// readRecords reads the verdicts the steps recorded, by commit.
func readRecords(path string) (map[string]Step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	steps := map[string]Step{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		steps[e.Version] = e.Step
	}
	return steps, nil
}
