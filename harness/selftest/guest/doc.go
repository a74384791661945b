// SPDX-License-Identifier: MIT

// Package guest holds the guest side of the harness self-tests: Go tests
// that run inside a cnvmtest guest with the fault module
// (harness/selftest/faultmod) loaded, and break the kernel, the Go runtime
// or themselves on purpose.
//
// The package has no code besides this comment; the tests are in the
// _test.go files and the test binary is what the guest runs. The host
// tests in harness/selftest boot one guest per fault, select the fault's
// test with -run "^(TestBefore|TestX)$" and check what the harness makes
// of it:
//
//	TestBefore        passes; it runs first and must stay PASS whatever follows
//	TestWarn          WARN_ON(1) in the module; the test passes, the harness
//	                  must report KERNEL_SPLAT
//	TestOops          NULL pointer dereference in a helper process's sendmsg()
//	TestPanic         panic(); the guest dies
//	TestHang          the sender blocks in TASK_UNINTERRUPTIBLE for good
//	TestLeak          a lost kmalloc(); skips where the kernel lacks kmemleak
//	TestLateReply     the guest suite's late-reply control on the module's
//	                  late id (a reply from a workqueue after delay_ms): the
//	                  test must FAIL with "late message"
//	TestSoftLockup    a spin with preemption off: a soft lockup report
//	TestRCUStall      a spin in an RCU read-side section: an RCU stall report
//	TestLockdep       two locks taken in both orders: a lockdep report
//	TestDoubleFree    kfree() twice: a SLUB debug (or KASAN) report
//	TestGoCrash       a nil map write in a goroutine kills the test binary
//	TestNeverReturns  select{}: a hang in user space, the kernel is fine
//
// Every test skips outside a guest (CNVMTEST_GUEST unset), and the fault
// tests also skip unless the -run pattern names them, so `go test ./...`
// on a workstation and a guest run of everything stay harmless.
package guest
