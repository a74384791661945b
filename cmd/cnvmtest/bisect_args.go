// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/bisect"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

// bisectUsageFunc prints the usage of cnvmtest bisect: its own flags and
// the run flags apart, each from a fresh set so the defaults print.
func bisectUsageFunc(w io.Writer) {
	fmt.Fprint(w, bisectUsage)
	bfs := flag.NewFlagSet("", flag.ContinueOnError)
	bfs.SetOutput(w)
	new(bisectFlags).register(bfs)
	bfs.PrintDefaults()
	fmt.Fprint(w, "\nrun flags, passed to each step as cnvmtest run takes them:\n")
	rfs := flag.NewFlagSet("", flag.ContinueOnError)
	rfs.SetOutput(w)
	new(runFlags).register(rfs)
	rfs.PrintDefaults()
}

// givenRunFlags makes the run flags registered on fs (those
// runFlags.register defines) remember every value given to them, and
// returns a function that lists, after fs is parsed, the run flags
// fs.Visit reports set, each value as given: "-env A=1 -env B=2" stays two
// flags. Bool flags are written -name=value.
func givenRunFlags(fs *flag.FlagSet) func() []string {
	run := flag.NewFlagSet("", flag.ContinueOnError)
	new(runFlags).register(run)
	values := map[string]*givenValue{}
	run.VisitAll(func(f *flag.Flag) {
		if ours := fs.Lookup(f.Name); ours != nil {
			v := &givenValue{Value: ours.Value}
			ours.Value = v
			values[f.Name] = v
		}
	})
	return func() []string {
		var args []string
		fs.Visit(func(f *flag.Flag) {
			v := values[f.Name]
			if v == nil {
				return
			}
			for _, s := range v.given {
				if v.IsBoolFlag() {
					args = append(args, "-"+f.Name+"="+s)
				} else {
					args = append(args, "-"+f.Name, s)
				}
			}
		})
		return args
	}
}

// givenValue is a flag's value that remembers what it was set to.
type givenValue struct {
	flag.Value
	given []string
}

func (v *givenValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	v.given = append(v.given, s)
	return nil
}

func (v *givenValue) String() string {
	if v == nil || v.Value == nil {
		return ""
	}
	return v.Value.String()
}

// IsBoolFlag is the flag package's test for flags that take no value.
func (v *givenValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// runSuite runs the suite once with the run flags it is given.
func runSuite(stdout, stderr io.Writer) bisect.RunFunc {
	return func(ctx context.Context, args []string) (report.Outcome, string, error) {
		o, err := parseRunFlags(args, stdout, stderr)
		if err != nil {
			return "", "", err
		}
		res, err := harness.Run(ctx, o)
		if err != nil {
			return report.Infra, err.Error(), nil
		}
		return res.Outcome, res.Reason, nil
	}
}

// parseRunFlags reads run flags into the options of one run of one kernel.
func parseRunFlags(args []string, stdout, stderr io.Writer) (harness.Options, error) {
	fs := flag.NewFlagSet("run flags", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var rf runFlags
	rf.register(fs)
	if err := fs.Parse(args); err != nil {
		return harness.Options{}, fmt.Errorf("run flags %q: %w", args, err)
	}
	if fs.NArg() > 0 {
		return harness.Options{}, fmt.Errorf("run flags %q: unexpected arguments %q", args, fs.Args())
	}
	o, err := rf.options(stdout, stderr)
	if err == nil && len(kernel.SplitSpecs(o.Kernel)) > 1 {
		err = fmt.Errorf("-kernel %s: a bisection runs one kernel at a time", o.Kernel)
	}
	return o, err
}
