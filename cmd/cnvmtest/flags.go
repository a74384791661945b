// SPDX-License-Identifier: MIT

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness"
)

// runFlags are the flags of cnvmtest run, shared by run, exec, shell and
// the bisection (which passes them to each step as the user gave them).
// They parse into harness.Options.
type runFlags struct {
	o        harness.Options
	tests    string
	repo     string
	markdown string
}

func (r *runFlags) register(fs *flag.FlagSet) {
	o := &r.o
	o.Accel = harness.AccelMode(envOr("CNVMTEST_ACCEL", string(harness.AccelAuto)))
	o.Init = harness.Init(envOr("CNVMTEST_INIT", string(harness.InitRunner)))
	fs.StringVar(&o.Kernel, "kernel", envOr("CNVMTEST_KERNEL", ""), "kernel spec, e.g. debian:6.1, or a comma-separated list for a matrix (default debian:6.1; env CNVMTEST_KERNEL)")
	fs.StringVar(&o.KmodDir, "kmod", "", "module source directory (default kmod/ of the cnvmtest tree, else the cn_echo sources built into cnvmtest)")
	fs.StringVar(&o.ModuleParams, "params", "", "module parameters")
	fs.StringVar(&r.tests, "tests", "", "Go test package (a directory, or an import path of the module in the working directory) to run in the guest (default vmtests/ of the cnvmtest tree)")
	fs.StringVar(&o.Run, "run", "", "run only tests matching this regexp")
	fs.IntVar(&o.Count, "count", 0, "run each test this many times")
	fs.DurationVar(&o.Timeout, "timeout", 0, "kill the guest after this long (env VMTEST_TIMEOUT)")
	fs.DurationVar(&o.TestTimeout, "test-timeout", 0, "treat the tests as hung when none starts or ends for this long")
	fs.Var(&o.Accel, "accel", "accelerator: auto, kvm or tcg (env CNVMTEST_ACCEL)")
	fs.Var(&o.Init, "init", "the guest's init: "+string(harness.InitRunner)+
		" (the runner is /init: fastest) or "+string(harness.InitURoot)+" (u-root's init starts the runner, with u-root's commands in the guest; env CNVMTEST_INIT)")
	fs.BoolVar(&o.Verbose, "v", false, "verbose: every test's output, progress and phase timings")
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
	fs.Func("append", "`ARGS` added to the kernel command line, separated by blanks (repeatable)", func(v string) error {
		o.KernelArgs = append(o.KernelArgs, strings.Fields(v)...)
		return nil
	})
	fs.Func("file", "host `FILE` copied into the guest's /cnvm directory (repeatable)", func(v string) error {
		o.Files = append(o.Files, v)
		return nil
	})
	fs.StringVar(&r.repo, "repo", "", "cnvmtest source tree to build the guest runner from (default: the tree around the working directory, if any)")
	fs.StringVar(&r.markdown, "markdown", "", "append a Markdown table of the results to `FILE` (e.g. $GITHUB_STEP_SUMMARY)")
}

// options returns the harness options the flags give. Paths stay as given:
// harness.Options.Check makes them absolute and checks them.
func (r *runFlags) options(stdout, stderr io.Writer) (harness.Options, error) {
	o := r.o
	o.Stdout, o.Stderr = stdout, stderr
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
		if st, err := os.Stat(r.tests); err == nil && st.IsDir() {
			if o.TestsDir, err = filepath.Abs(r.tests); err != nil {
				return o, err
			}
			o.TestsPkg = "."
		} else {
			o.TestsPkg = r.tests
		}
	}
	return o, nil
}
