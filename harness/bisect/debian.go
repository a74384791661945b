// SPDX-License-Identifier: MIT

package bisect

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

// Kernels is what a bisection of Debian's kernels needs of a kernel store.
type Kernels interface {
	// Versions lists the package versions of a Debian kernel series
	// (6.12, 6.12+deb13), oldest first.
	Versions(ctx context.Context, series string) ([]string, error)
	// Fetch gets the kernel of one package version ready to run. An error
	// means the version cannot be tested.
	Fetch(ctx context.Context, version string) error
}

// StoreKernels are the Debian kernels of a kernel store.
type StoreKernels struct {
	// Store is the kernel store; nil means kernel.DefaultStore, the
	// one a run without Options.Store uses.
	Store *kernel.Store
	// Log gets the store's progress.
	Log io.Writer
}

func (k StoreKernels) store() (*kernel.Store, error) {
	if k.Store != nil {
		return k.Store, nil
	}
	return kernel.DefaultStore()
}

// Versions returns the versions kernel.Store.Versions lists for the
// series, each one a kernel that debian:VERSION names.
func (k StoreKernels) Versions(ctx context.Context, series string) ([]string, error) {
	spec, err := kernel.ParseSpec("debian:" + series)
	if err != nil || spec.Series == "" {
		return nil, fmt.Errorf("-debian %s: want a series such as 6.12 or 6.12+deb13", series)
	}
	store, err := k.store()
	if err != nil {
		return nil, err
	}
	return store.Versions(ctx, spec, k.Log)
}

// Fetch gets debian:version into the store, where the run then finds it.
// Any error, such as packages gone from the archive, makes the version
// untestable.
func (k StoreKernels) Fetch(ctx context.Context, version string) error {
	spec, err := kernel.ParseSpec("debian:" + version)
	if err != nil {
		return err
	}
	store, err := k.store()
	if err != nil {
		return err
	}
	_, err = store.Get(ctx, spec, k.Log)
	return err
}

// Debian bisects the package versions of a Debian kernel series, each
// run as kernel debian:VERSION.
type Debian struct {
	Series string
	// Good and Bad are package versions of the series; either may be
	// empty for the oldest and the newest, which are then tested first.
	Good, Bad string
	Kernels   Kernels
	// Step runs the suite on a version; it gets the run flag
	// -kernel debian:VERSION after its Args.
	Step Stepper
	// LogFile, if set, also gets the log.
	LogFile string
	// Stdout gets the log; Stderr progress.
	Stdout, Stderr io.Writer
}

// Run bisects and prints the log. It reports whether one first bad
// version was found; an error means the bisection could not start (no
// such series, an endpoint not in it) or its log could not be written.
// A version whose kernel cannot be fetched is skipped, the reason in the
// log.
func (d *Debian) Run(ctx context.Context) (found bool, err error) {
	versions, err := d.Kernels.Versions(ctx, d.Series)
	if err != nil {
		return false, err
	}
	if len(versions) < 2 {
		return false, fmt.Errorf("the archive has %d Debian %s kernel(s) (%s): nothing to bisect", len(versions), d.Series, strings.Join(versions, " "))
	}
	fmt.Fprintf(d.Stderr, "cnvmtest bisect: %d versions of Debian's %s kernels: %s\n", len(versions), d.Series, strings.Join(versions, " "))
	s := Search{
		Versions:  versions,
		Good:      cmp.Or(d.Good, versions[0]),
		Bad:       cmp.Or(d.Bad, versions[len(versions)-1]),
		CheckGood: d.Good == "",
		CheckBad:  d.Bad == "",
		Test:      d.test,
	}
	for _, v := range []string{s.Good, s.Bad} {
		if !slices.Contains(versions, v) {
			return false, fmt.Errorf("%s is not a version of the %s series in Debian's archive; there are: %s", v, d.Series, strings.Join(versions, " "))
		}
	}
	res, err := s.Run(ctx)

	var out bytes.Buffer
	fmt.Fprintf(&out, "\nbisect log (Debian %s kernels, %d versions; good %s, bad %s):\n", d.Series, len(versions), s.Good, s.Bad)
	WriteLog(&out, res.Log)
	switch {
	case err != nil:
		fmt.Fprintf(&out, "no first bad version: %v\n", err)
	case res.Found():
		fmt.Fprintf(&out, "first bad version: %s (last good: %s)\n", res.FirstBad, res.LastGood)
		if !slices.ContainsFunc(res.Log, func(e Entry) bool { return e.Version == res.FirstBad }) {
			fmt.Fprintf(&out, "(not tested: it is the -bad version, taken as bad)\n")
		}
	default:
		fmt.Fprintf(&out, "the first bad version is hidden by skipped versions (untestable, or flaky with -flaky skip); it is one of: %s (last good: %s)\n",
			strings.Join(res.Suspects, " "), res.LastGood)
	}
	d.Stdout.Write(out.Bytes())
	if d.LogFile != "" {
		if werr := os.WriteFile(d.LogFile, out.Bytes(), 0o644); werr != nil {
			return false, werr
		}
	}
	return err == nil && res.Found(), nil
}

// test fetches a version's kernel, then runs the suite on it. A kernel
// that cannot be fetched makes the version untestable, as git bisect run's
// exit status 125 would.
func (d *Debian) test(ctx context.Context, v string) (Step, error) {
	if err := d.Kernels.Fetch(ctx, v); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Step{}, cerr
		}
		return d.Step.untestable(v, err.Error()), nil
	}
	return d.Step.Step(ctx, v, "-kernel", "debian:"+v)
}
