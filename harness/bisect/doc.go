// SPDX-License-Identifier: MIT

// Package bisect finds the first version that breaks the guest suite: the
// commit of a kernel tree or of a module's history, or the Debian package of
// a kernel series. It runs no VM of its own: a step runs the suite through
// a RunFunc, which the cnvmtest command supplies (it parses the run flags
// and calls harness.Run) and tests fake.
//
// # Drivers
//
// Git bisects commits with git bisect run, whose command is the step
// process (cnvmtest bisect-step): StepArgs are its arguments, the run
// flags as the user gave them among them, and RunStep its body, which
// appends the step's verdict to a record file that Git reads back for the
// log. Debian bisects the package versions of a Debian kernel series in
// this process with Search; a version whose kernel cannot be fetched (its
// linux-kbuild gone from the archive) is skipped, the reason in the log.
//
// # Verdicts
//
// Each run's outcome says good, bad or "cannot test", with the exit codes
// git bisect run reads:
//
//	PASS                                       good  0
//	FAIL, KERNEL_SPLAT, TIMEOUT, KERNEL_PANIC  bad   1
//	SKIP, MODULE_BUILD_FAIL, MODULE_LOAD_FAIL,  skip  125
//	BOOT_FAIL, INFRA
//
// A step that cannot run at all (bad flags, an interrupt) exits with
// ExitAbort, which stops git bisect run instead of marking the commit.
//
// # Flakes
//
// A step runs the suite N times (Repeat). All N pass: good. All N bad: bad.
// Some of each: the version is flaky, k of N bad, and the FlakyPolicy
// decides: bad (the default: a regression that shows now and then is still
// a regression) or skip. Attempts that cannot test the version do not count
// either way; when the first attempt cannot test it, the step stops there,
// since a module or kernel that does not build will not build the next time
// either.
//
// # Versions
//
// Search bisects an ordered list of versions, such as the Debian package
// versions of a kernel series, the way git bisect bisects commits: it tests
// the untested version nearest the middle of the range still in doubt, and
// tries its neighbours when a version cannot be tested. When only untestable
// versions separate the last good from the first bad, the result names
// them all as suspects rather than guessing.
//
// ParseGitLog reads the log of git bisect for the same answer from git.
package bisect
