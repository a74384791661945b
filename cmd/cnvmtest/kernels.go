// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

const kernelsUsage = `usage:
  cnvmtest kernels list [-json]                   the kernels (and build roots) in the store
  cnvmtest kernels get [-json] SPEC               fetch or build a kernel; print it as JSON
  cnvmtest kernels prune [-n] -older-than D|-all  remove kernels not used for D (30d, 12h) or all
Specs: debian:6.1, debian:6.12+deb13, debian:6.1.0-57-rt, debian-src:6.12[@debug], src:DIR[@debug],
path:IMAGE,KDIR (see the README's kernel specs).
The store is $CNVMTEST_CACHE, else ~/.cache/cnvmtest.
`

// kernelsCmd runs "cnvmtest kernels": the store of kernels.
func kernelsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" {
		fmt.Fprint(stderr, kernelsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	store, err := kernel.DefaultStore()
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest kernels: %v\n", err)
		return 1
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("cnvmtest kernels "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, kernelsUsage); fs.PrintDefaults() }
	var run func() error
	switch sub {
	case "list":
		asJSON := fs.Bool("json", false, "print the kernels as a JSON array")
		run = func() error { return kernelsList(store, *asJSON, stdout) }
	case "get":
		asJSON := fs.Bool("json", true, "print the kernel as JSON (-json=false: one line)")
		run = func() error {
			if fs.NArg() != 1 {
				return usageError("kernels get takes one spec")
			}
			return kernelsGet(ctx, store, fs.Arg(0), *asJSON, stdout, stderr)
		}
	case "prune":
		var older kernelsAge
		fs.Var(&older, "older-than", "remove kernels and build roots last used longer ago than `D` (30d, 36h)")
		all := fs.Bool("all", false, "remove every kernel and build root not in use")
		dry := fs.Bool("n", false, "only say what would be removed")
		run = func() error {
			if *all == (older != 0) {
				return usageError("kernels prune wants one of -older-than D and -all")
			}
			return kernelsPrune(ctx, store, time.Duration(older), *dry, stdout, stderr)
		}
	default:
		fmt.Fprintf(stderr, "cnvmtest kernels: unknown command %q\n%s", sub, kernelsUsage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if sub != "get" && fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cnvmtest kernels %s: unexpected arguments %q\n", sub, fs.Args())
		return 2
	}
	if err := run(); err != nil {
		fmt.Fprintf(stderr, "cnvmtest kernels %s: %v\n", sub, err)
		var u usageError
		var serr *kernel.SpecError
		if errors.As(err, &u) || errors.As(err, &serr) {
			fmt.Fprint(stderr, kernelsUsage)
			return 2
		}
		return 1
	}
	return 0
}

type usageError string

func (e usageError) Error() string { return string(e) }

func kernelsGet(ctx context.Context, store *kernel.Store, arg string, asJSON bool, stdout, stderr io.Writer) error {
	spec, err := kernel.ParseSpec(arg)
	if err != nil {
		return err
	}
	k, err := store.Get(ctx, spec, stderr)
	if err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintf(stdout, "%s %s %s\n", k.Spec, k.Release, k.Image)
		return nil
	}
	b, err := json.MarshalIndent(k, "", "\t")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

func kernelsList(store *kernel.Store, asJSON bool, stdout io.Writer) error {
	ks, err := store.List()
	if err != nil {
		return err
	}
	tcs, err := store.Toolchains()
	if err != nil {
		return err
	}
	if asJSON {
		if ks == nil {
			ks = []*kernel.Kernel{}
		}
		b, err := json.MarshalIndent(ks, "", "\t")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SPEC\tRELEASE\tVERSION/CONFIG\tCOMPILER\tSIZE\tLAST USED")
	for _, k := range ks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.NamedBy(), k.Release, k.Version(), kernelsCompiler(k),
			kernelsSize(k.Dir), kernelsAgo(k.LastUsed))
	}
	if len(tcs) > 0 {
		fmt.Fprintln(w, "\nBUILD ROOT\tSUITE\tCOMPILER\t\tSIZE\tLAST USED")
		for _, tc := range tcs {
			fmt.Fprintf(w, "%s\t%s\t%s %s\t\t%s\t%s\n", tc.Name, tc.Suite, tc.Compiler, tc.Version,
				kernelsSize(tc.Dir), kernelsAgo(tc.LastUsed))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(ks) == 0 {
		fmt.Fprintf(stdout, "(no kernels in %s)\n", store.Dir)
	}
	return nil
}

func kernelsPrune(ctx context.Context, store *kernel.Store, older time.Duration, dry bool, stdout, stderr io.Writer) error {
	keep := func(used time.Time) bool { return older != 0 && time.Since(used) < older }
	if dry {
		ks, err := store.List()
		if err != nil {
			return err
		}
		for _, k := range ks {
			if !keep(k.LastUsed) {
				fmt.Fprintf(stdout, "would remove %s (%s, %s, last used %s)\n", k.Key, k.NamedBy(), kernelsSize(k.Dir), kernelsAgo(k.LastUsed))
			}
		}
		tcs, err := store.Toolchains()
		for _, tc := range tcs {
			if !keep(tc.LastUsed) {
				fmt.Fprintf(stdout, "would remove the build root %s (%s, last used %s)\n", tc.Name, kernelsSize(tc.Dir), kernelsAgo(tc.LastUsed))
			}
		}
		return err
	}
	removed, err := store.Prune(ctx, func(k *kernel.Kernel) bool { return keep(k.LastUsed) }, stderr)
	for _, k := range removed {
		fmt.Fprintf(stdout, "removed %s (%s)\n", k.Key, k.NamedBy())
	}
	tcs, terr := store.PruneToolchains(ctx, func(tc *kernel.Toolchain) bool { return keep(tc.LastUsed) })
	for _, tc := range tcs {
		fmt.Fprintf(stdout, "removed the build root %s\n", tc.Name)
	}
	if len(removed) == 0 && len(tcs) == 0 && err == nil && terr == nil {
		fmt.Fprintln(stdout, "nothing to remove")
	}
	return errors.Join(err, terr)
}
