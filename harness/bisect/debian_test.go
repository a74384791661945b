// SPDX-License-Identifier: MIT

package bisect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/report"
)

// fakeKernels are Debian kernels of which some cannot be fetched.
type fakeKernels struct {
	versions []string
	gone     map[string]string // version: why it cannot be fetched
	fetched  []string
}

func (k *fakeKernels) Versions(context.Context, string) ([]string, error) { return k.versions, nil }

func (k *fakeKernels) Fetch(_ context.Context, v string) error {
	k.fetched = append(k.fetched, v)
	if why, ok := k.gone[v]; ok {
		return errors.New(why)
	}
	return nil
}

// A version whose kernel cannot be fetched is skipped with the reason in
// the log, and the search steps around it; it is never run.
func TestDebianUntestable(t *testing.T) {
	versions := []string{"6.1.150-1", "6.1.160-1", "6.1.170-1", "6.1.172-1", "6.1.180-1", "6.1.190-1", "6.1.192-1"}
	const why = "kernel debian:6.1.172-1: Version '6.1.172-1~deb11u1' for 'linux-kbuild-6.1' was not found"
	k := &fakeKernels{versions: versions, gone: map[string]string{"6.1.172-1": why}}
	var ran []string
	run := func(_ context.Context, args []string) (report.Outcome, string, error) {
		if len(args) != 4 || args[0] != "-run" || args[2] != "-kernel" {
			return "", "", fmt.Errorf("run flags %q, want -run X -kernel SPEC", args)
		}
		v := strings.TrimPrefix(args[3], "debian:")
		ran = append(ran, v)
		if slices.Index(versions, v) >= 5 {
			return report.Fail, "1 test(s) failed", nil
		}
		return report.Pass, "", nil
	}
	var stdout, stderr bytes.Buffer
	d := &Debian{Series: "6.1", Kernels: k, Step: Stepper{Run: run, Args: []string{"-run", "^TestEcho$"}, Repeat: 1, Out: &stdout},
		Stdout: &stdout, Stderr: &stderr}
	found, err := d.Run(context.Background())
	if err != nil || !found {
		t.Fatalf("Run() = %v, %v, want found; stdout:\n%s", found, err, stdout.String())
	}
	if slices.Contains(ran, "6.1.172-1") {
		t.Errorf("the untestable 6.1.172-1 was run: %q", ran)
	}
	if !slices.Contains(k.fetched, "6.1.172-1") {
		t.Errorf("fetched %q: the search never came to 6.1.172-1, so this test tests nothing", k.fetched)
	}
	for _, want := range []string{
		"6.1.172-1  skip: untestable: " + why,
		"first bad version: 6.1.190-1 (last good: 6.1.180-1)",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the output does not say %q:\n%s", want, stdout.String())
		}
	}
}

// With only untestable versions between the last good and the first bad,
// the search names them as suspects rather than guessing.
func TestDebianUntestableSuspects(t *testing.T) {
	versions := []string{"6.1.150-1", "6.1.160-1", "6.1.170-1"}
	k := &fakeKernels{versions: versions, gone: map[string]string{"6.1.160-1": "no kbuild"}}
	run := func(_ context.Context, args []string) (report.Outcome, string, error) {
		if args[len(args)-1] == "debian:6.1.170-1" {
			return report.Fail, "", nil
		}
		return report.Pass, "", nil
	}
	var stdout bytes.Buffer
	d := &Debian{Series: "6.1", Kernels: k, Step: Stepper{Run: run}, Stdout: &stdout, Stderr: &stdout}
	found, err := d.Run(context.Background())
	if err != nil || found {
		t.Fatalf("Run() = %v, %v, want not found; output:\n%s", found, err, stdout.String())
	}
	if want := "it is one of: 6.1.160-1 6.1.170-1 (last good: 6.1.150-1)"; !strings.Contains(stdout.String(), want) {
		t.Errorf("the output does not say %q:\n%s", want, stdout.String())
	}
}

// A fetch cut short by the end of the bisection stops it: it says nothing
// about the version.
func TestDebianFetchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := &fakeKernels{versions: []string{"a", "b", "c"}, gone: map[string]string{"b": "interrupted"}}
	var out bytes.Buffer
	d := &Debian{Series: "6.1", Good: "a", Bad: "c", Kernels: k, Stdout: &out, Stderr: &out}
	found, err := d.Run(ctx)
	if found || err != nil {
		t.Fatalf("Run() = %v, %v, want not found and the search's error in the log", found, err)
	}
	if !strings.Contains(out.String(), "no first bad version: testing b: context canceled") || strings.Contains(out.String(), "untestable") {
		t.Errorf("the log should say the search stopped, not that b is untestable:\n%s", out.String())
	}
}

func TestDebianBadEndpoints(t *testing.T) {
	k := &fakeKernels{versions: []string{"a", "b", "c"}}
	for _, d := range []*Debian{
		{Series: "6.1", Good: "z", Kernels: k},
		{Series: "6.1", Bad: "z", Kernels: k},
		{Series: "6.1", Kernels: &fakeKernels{versions: []string{"a"}}},
	} {
		d.Stdout, d.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
		if _, err := d.Run(context.Background()); err == nil {
			t.Errorf("Run() of %+v succeeded", d)
		}
	}
}
