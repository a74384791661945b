package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness"
)

// runFlags are the flags of cnvmtest run, shared by run, exec, shell and
// the bisection (which passes them to each step). They parse into
// harness.Options.
type runFlags struct {
	o     harness.Options
	tests string
	repo  string
}

func (r *runFlags) register(fs *flag.FlagSet) {
	o := &r.o
	fs.StringVar(&o.Kernel, "kernel", envOr("CNVMTEST_KERNEL", ""), "kernel spec, e.g. debian:6.1, or a comma-separated list for a matrix (default debian:6.1; env CNVMTEST_KERNEL)")
	fs.StringVar(&o.KmodDir, "kmod", "", "module source directory (default ./kmod)")
	fs.StringVar(&o.ModuleParams, "params", "", "module parameters")
	fs.StringVar(&r.tests, "tests", "", "Go test package or directory to run in the guest (default ./vmtests); with -module-repo, a directory of the repository")
	fs.StringVar(&o.Run, "run", "", "run only tests matching this regexp")
	fs.IntVar(&o.Count, "count", 0, "run each test this many times")
	fs.DurationVar(&o.Timeout, "timeout", 0, "kill the guest after this long (env VMTEST_TIMEOUT)")
	fs.DurationVar(&o.TestTimeout, "test-timeout", 0, "treat the tests as hung when none starts or ends for this long")
	fs.StringVar(&o.Accel, "accel", envOr("CNVMTEST_ACCEL", "auto"), "accelerator: auto, kvm or tcg")
	fs.StringVar(&o.Init, "init", envOr("CNVMTEST_INIT", harness.InitRunner), "the guest's init: "+harness.InitRunner+
		" (the runner is /init: fastest) or "+harness.InitURoot+" (u-root's init starts the runner, with u-root's commands in the guest)")
	fs.BoolVar(&o.Verbose, "v", false, "verbose")
	fs.StringVar(&o.OutDir, "out", "", "directory for run directories (default ./out)")
	fs.IntVar(&o.CPUs, "cpus", 0, "guest CPUs (default 1 under TCG, where a second vCPU costs more than it gives, 2 under KVM; 1 each in a parallel matrix)")
	fs.IntVar(&o.MemoryMB, "mem", 0, "guest memory in MiB (default 512, 1024 for a debug kernel)")
	fs.Func("env", "`K=V` added to the guest program's environment (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want K=V, got %q", v)
		}
		o.Env = append(o.Env, v)
		return nil
	})
	fs.Func("file", "host `FILE` copied into the guest's /cnvm directory (repeatable)", func(v string) error {
		o.Files = append(o.Files, v)
		return nil
	})
	fs.StringVar(&r.repo, "repo", "", "cnvmtest source tree (default: found from the working directory)")
}

// options returns the harness options the flags give, with every path
// absolute: steps run in another directory.
func (r *runFlags) options(stdout, stderr io.Writer) (harness.Options, error) {
	o := r.o
	o.Stdout, o.Stderr = stdout, stderr
	switch o.Accel {
	case "auto", "kvm", "tcg":
	default:
		return o, fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", o.Accel)
	}
	if o.Init != harness.InitRunner && o.Init != harness.InitURoot {
		return o, fmt.Errorf("unknown -init %q: want %s or %s", o.Init, harness.InitRunner, harness.InitURoot)
	}
	if o.Timeout == 0 {
		d, err := envDuration("VMTEST_TIMEOUT")
		if err != nil {
			return o, err
		}
		o.Timeout = d
	}
	var err error
	if o.Repo, err = findRepo(r.repo); err != nil {
		return o, err
	}
	if r.tests != "" {
		if st, err := os.Stat(r.tests); err == nil && st.IsDir() && !strings.HasPrefix(r.tests, "./") {
			if o.TestsDir, err = filepath.Abs(r.tests); err != nil {
				return o, err
			}
			o.TestsPkg = "."
		} else {
			o.TestsPkg = r.tests
		}
	}
	abs := func(p *string) {
		if *p != "" && err == nil {
			*p, err = filepath.Abs(*p)
		}
	}
	abs(&o.KmodDir)
	abs(&o.OutDir)
	o.Files = slices.Clone(o.Files)
	for i := range o.Files {
		abs(&o.Files[i])
	}
	return o, err
}
