// SPDX-License-Identifier: MIT

package report

// Outcome says what happened to a test or to a whole run.
// The values are the words printed in reports and used by bisection.
type Outcome string

// The outcomes, from the best to the worst. See the package documentation
// for their exit codes.
const (
	Pass            Outcome = "PASS"              // the test passed; every test that ran passed
	Skip            Outcome = "SKIP"              // the test skipped; the run tested nothing
	Fail            Outcome = "FAIL"              // the test, or the test binary, failed
	KernelSplat     Outcome = "KERNEL_SPLAT"      // the kernel warned, and lived
	Timeout         Outcome = "TIMEOUT"           // the guest hung and was stopped
	KernelPanic     Outcome = "KERNEL_PANIC"      // the kernel panicked
	ModuleLoadFail  Outcome = "MODULE_LOAD_FAIL"  // the test module did not load
	BootFail        Outcome = "BOOT_FAIL"         // the kernel did not boot to the guest runner
	ModuleBuildFail Outcome = "MODULE_BUILD_FAIL" // the test module does not build for the kernel
	Infra           Outcome = "INFRA"             // QEMU or the host failed
)

// Outcomes lists every outcome from the best to the worst.
var Outcomes = []Outcome{Pass, Skip, Fail, KernelSplat, Timeout, KernelPanic, ModuleLoadFail, BootFail, ModuleBuildFail, Infra}

// ExitUsage is the exit status of a usage error (a bad flag, spec or path,
// found before anything ran), as the flag package and the go command use
// it. No outcome has it.
const ExitUsage = 2

// ExitCode returns the process exit code documented for o.
// An unknown outcome returns the code of INFRA: the harness produced
// something it does not understand.
func (o Outcome) ExitCode() int {
	switch o {
	case Pass:
		return 0
	case Fail:
		return 1
	case Skip:
		return 10
	case ModuleBuildFail:
		return 3
	case ModuleLoadFail:
		return 4
	case BootFail:
		return 5
	case KernelPanic:
		return 6
	case KernelSplat:
		return 7
	case Timeout:
		return 8
	default:
		return 9
	}
}

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	for _, v := range Outcomes {
		if o == v {
			return true
		}
	}
	return false
}

// Failed reports whether o counts as a failure for a single test:
// anything but PASS and SKIP. The empty outcome (still running) is not a failure.
func (o Outcome) Failed() bool {
	return o != "" && o != Pass && o != Skip
}

// severity orders outcomes when several apply to one run: the higher one wins.
// Setup outcomes outrank run-time ones because they mean the tests did not
// run as intended; a panic outranks a timeout because it explains the hang.
func (o Outcome) severity() int {
	for i, v := range Outcomes {
		if o == v {
			return i
		}
	}
	if o == "" {
		return -1
	}
	return len(Outcomes) // unknown: worse than anything
}

// worse returns the more severe of a and b, preferring a on a tie.
func worse(a, b Outcome) Outcome {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// isError reports whether o means the test could not complete (JUnit <error>)
// rather than that it ran and found a problem (JUnit <failure>).
func (o Outcome) isError() bool {
	switch o {
	case Fail, KernelSplat, Pass, Skip, "":
		return false
	}
	return true
}
