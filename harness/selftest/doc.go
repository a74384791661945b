// SPDX-License-Identifier: MIT

// Package selftest holds the harness's fault-injection self-tests: host
// tests that boot real kernels with a module that breaks them on request
// (faultmod/cn_fault.c) and guest tests that trigger each fault
// (guest/), and check that harness.Run turns every fault into the right
// outcome, blames the right test and keeps the results that came before.
//
// They boot one guest per case, so they run only when asked:
//
//	CNVMTEST_SELFTEST=1 go test -timeout 30m ./harness/selftest
//
// Each fault case (the faultCases table) checks the run's outcome, the
// guest test's, and the kernel report it planted: kind, first line and
// the top frames of its fingerprint; a failure found only through the
// kernel's taint does not count.
//
// The cases that need detectors Debian kernels lack or leave off
// (kmemleak, KASAN, lockdep, SLUB debugging) run only with
// CNVMTEST_DEBUG=1, on the kernel CNVMTEST_DEBUG_KERNEL names (make
// selftest-debug: debian-src:6.12@debug), instead of the others. A case
// whose detector a kernel is built without is skipped on it, saying so
// (the soft lockup on s390x, which cannot have
// CONFIG_SOFTLOCKUP_DETECTOR). Kernel thresholds a case would wait for
// are shortened on the kernel command line (watchdog_thresh=1,
// rcupdate.rcu_cpu_stall_timeout=3).
//
// CNVMTEST_KERNEL picks the kernels, a comma-separated list on each of
// which every fault case runs (make selftest KERNEL=debian:6.1,debian:7.2;
// default debian:6.1; the host-side cases use the first), CNVMTEST_ACCEL the
// accelerator, and CNVMTEST_SELFTEST_OUT, when set, keeps each case's run
// directory (console log, initramfs, QEMU command line) under it.
package selftest
