// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeSource is a source added the way a real one is: this one file, and
// one registerSource call (here in the test, so other tests do not see it).
type fakeSource struct{}

func (fakeSource) name() string { return "fake" }
func (fakeSource) built() bool  { return true }

func (fakeSource) parse(spec *Spec, arg string) error {
	if arg == "" {
		return errors.New("want fake:NAME")
	}
	spec.Exact = arg
	return nil
}

func (fakeSource) argument(spec Spec) string { return spec.Exact }

func (fakeSource) get(_ context.Context, _ *Store, spec Spec, _ *progress) (*Kernel, error) {
	return &Kernel{Source: "fake", Release: spec.Exact, Flavour: spec.Flavour, Image: "/fake/" + spec.Exact}, nil
}

func (fakeSource) describe(k *Kernel) (summary, version string) {
	return fmt.Sprintf("%s (fake, %s)", k.Release, k.Flavour), "fake " + k.Flavour
}

func (fakeSource) named(k *Kernel) Spec {
	return Spec{Source: "fake", Exact: k.Release, Flavour: k.Flavour}
}

func (fakeSource) matches(spec Spec, k *Kernel) bool { return k.Release == spec.Exact }

func TestFakeSource(t *testing.T) {
	if _, err := ParseSpec("fake:one"); err == nil {
		t.Fatal("fake: parses before it is registered")
	}
	t.Cleanup(registerSource(fakeSource{}))

	spec, err := ParseSpec("fake:one@debug@amd64")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Spec{Source: "fake", Exact: "one", Flavour: "debug", Arch: "amd64"}); spec != want {
		t.Fatalf("ParseSpec = %+v, want %+v", spec, want)
	}
	if s := spec.String(); s != "fake:one@debug@amd64" {
		t.Errorf("String() = %q", s)
	}
	if _, err := ParseSpec("fake:"); err == nil || !strings.Contains(err.Error(), "want fake:NAME") {
		t.Errorf("the source's own parse error is lost: %v", err)
	}

	store := &Store{Dir: t.TempDir()}
	k, err := store.Get(context.Background(), mustSpec(t, "fake:two"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Get fills in the defaults: a built source gets the minimal flavour.
	if k.Spec != "fake:two@minimal" || k.Summary() != "two (fake, minimal)" || k.Version() != "fake minimal" {
		t.Errorf("Get = spec %q, summary %q, version %q", k.Spec, k.Summary(), k.Version())
	}
	k.Spec = ""
	if got := k.NamedBy().String(); got != "fake:two@minimal" {
		t.Errorf("NamedBy() = %q, want fake:two@minimal", got)
	}
	if !matches(mustSpec(t, "fake:two"), k) || matches(mustSpec(t, "debian:6.1"), k) {
		t.Error("matches does not go by the source")
	}
	if _, err := store.Versions(context.Background(), spec, nil); err == nil || !strings.Contains(err.Error(), "only debian: and debian-src:") {
		t.Errorf("Versions of a source without packages = %v", err)
	}
}
