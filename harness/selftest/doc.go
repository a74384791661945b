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
// CNVMTEST_KERNEL picks the kernel (default debian:6.1), CNVMTEST_ACCEL the
// accelerator, and CNVMTEST_SELFTEST_OUT, when set, keeps each case's run
// directory (console log, initramfs, QEMU command line) under it.
package selftest
