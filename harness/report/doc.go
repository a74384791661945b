// SPDX-License-Identifier: MIT

// Package report turns the test events a guest streams to the host into
// what people and CI read: go test style text or go test -json events
// while the run goes on, per-test results, a run outcome with its exit
// code, and JUnit XML.
//
// The guest runs the test binary with -test.v=test2json and the host
// converts its stream with go tool test2json -t, so a [Recorder] sees the
// events go test -json prints. It prints each one as it comes: when the
// guest dies, everything before is already on the screen and in the
// results.
//
// # Text output
//
// In verbose mode the text is that of go test -v: "=== RUN", the tests'
// output, "=== NAME" where parallel tests interleave, "--- PASS" lines with
// subtests' results indented under their parent, then "PASS" or "FAIL" and
// the "ok  \tpkg\t1.234s" or "FAIL\tpkg\t1.234s" line that go test adds.
// Otherwise it is that of go test without -v: only failing tests, each
// with its log, nested as the testing package nests them. Lines a test
// writes to stdout directly, rather than through t.Log, cannot be told
// from log lines when they are indented; they are kept with the test.
//
// The harness' own lines start with "cnvmtest: ": a verdict changed by
// [Recorder.Attach] (with the kernel log that caused it, indented), a
// test closed by [Recorder.Finish], a failure of the run itself.
//
// # Outcomes and exit codes
//
// Every test and every run ends with one [Outcome]. A run's outcome is the
// worst that applies, in this order from the best; the exit code of the
// harness is the run outcome's:
//
//	PASS               0  every test that ran passed
//	SKIP              10  nothing was tested: no test ran, or every test skipped
//	FAIL               1  a test failed, or the test binary did
//	KERNEL_SPLAT       7  the kernel warned (WARNING, KASAN, lockdep...) or
//	                      the taint changed while a test ran; the kernel lived
//	TIMEOUT            8  the guest stopped making progress and was killed
//	KERNEL_PANIC       6  the kernel panicked
//	MODULE_LOAD_FAIL   4  the test module was built but did not load
//	BOOT_FAIL          5  the kernel did not boot to the guest runner
//	MODULE_BUILD_FAIL  3  the test module does not build for the kernel
//	INFRA              9  QEMU or the host failed; says nothing of the kernel
//
// Status 2 is left to usage errors ([ExitUsage]): a bad flag, kernel spec
// or path, found before anything is downloaded or run. PASS and FAIL keep
// go test's codes. SKIP is not a pass: a run that tested
// nothing must not turn CI green, so individual skipped tests are fine but
// an all-skipped run is not. Setup outcomes rank above run-time ones because
// after them the tests did not run as intended; INFRA ranks highest because
// it makes every other verdict untrustworthy. For git bisect run, PASS is
// good, FAIL, KERNEL_SPLAT, TIMEOUT and KERNEL_PANIC are bad, and the rest
// mean "cannot test this commit".
//
// # JUnit
//
// [WriteJUnit] writes one test case per test and subtest, with the test's
// output in <system-out> (in the <failure> itself when it failed, where CI
// viewers look) and the kernel log attached to it in <system-err>, so a CI
// viewer shows each failure next to what the kernel said meanwhile.
package report
