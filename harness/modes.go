// SPDX-License-Identifier: MIT

package harness

import (
	"fmt"
	"strings"
)

// AccelMode is the accelerator a caller asks for: [AccelAuto] probes KVM
// and falls back to TCG; [AccelKVM] fails when KVM does not work. It is a
// flag.Value.
type AccelMode string

// The accelerator modes.
const (
	AccelAuto AccelMode = "auto"
	AccelKVM  AccelMode = "kvm"
	AccelTCG  AccelMode = "tcg"
)

// AccelModes lists the valid accelerator modes.
var AccelModes = []AccelMode{AccelAuto, AccelKVM, AccelTCG}

// Valid reports whether a is one of [AccelModes]; the empty mode is not
// valid (Options fills in [AccelAuto]).
func (a AccelMode) Valid() bool { return oneOf(a, AccelModes) }

func (a AccelMode) String() string { return string(a) }

// Set parses a mode, for flag.Value.
func (a *AccelMode) Set(s string) error { return set(a, s, AccelModes, "accelerator") }

// Init is the guest's first process. It is a flag.Value.
type Init string

// The guest's first process.
const (
	// InitRunner boots the runner as /init on an image of its own: no
	// u-root base to unpack and no second init to start, the fastest way
	// to the tests (make bench). A test binary that is its own runner
	// (runner.AsInit) is /init itself.
	InitRunner Init = "runner"
	// InitURoot boots the u-root base image, whose init sets the guest up
	// and starts the runner as /bin/uinit; its commands and shell are
	// then in the guest too. It needs the cnvmtest source tree, whose
	// go.mod pins u-root.
	InitURoot Init = "u-root"
)

// Inits lists the valid inits.
var Inits = []Init{InitRunner, InitURoot}

// Valid reports whether i is one of [Inits].
func (i Init) Valid() bool { return oneOf(i, Inits) }

func (i Init) String() string { return string(i) }

// Set parses an init, for flag.Value.
func (i *Init) Set(s string) error { return set(i, s, Inits, "init") }

func oneOf[T ~string](v T, valid []T) bool {
	for _, w := range valid {
		if v == w {
			return true
		}
	}
	return false
}

func set[T ~string](p *T, s string, valid []T, what string) error {
	if !oneOf(T(s), valid) {
		return fmt.Errorf("unknown %s %q: want %s", what, s, join(valid))
	}
	*p = T(s)
	return nil
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
