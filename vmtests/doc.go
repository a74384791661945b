// SPDX-License-Identifier: MIT

// Package vmtests holds the tests that run inside a cnvmtest guest, against
// the real kernel connector and the cn_echo test module from kmod/.
//
// The package has no code of its own besides this comment: everything is in
// the _test.go files, and the test binary is what the guest runs. The
// silence checks live in the importable package vmtests/silence, which the
// harness's guest self-tests use too.
//
// # How the tests run
//
// `make vmtest` builds this package with
//
//	CGO_ENABLED=0 go test -c ./vmtests/
//
// builds kmod/cn_echo.ko against the chosen kernel, and boots that kernel in
// QEMU with an initramfs written with u-root's cpio package, whose /init is
// this test binary: TestMain first calls runner.AsInit, so the binary the
// kernel starts is the guest runner and the one the runner starts runs the
// tests. The guest runner loads the module, sets
// CNVMTEST_GUEST=1, CNVMTEST_MODULE and CNVMTEST_MODULE_PARAMS and runs the
// test binary as root in the initial namespaces with -test.v=test2json; the
// host turns the stream into go test output.
//
// Outside a guest (CNVMTEST_GUEST unset) every guest test skips and says to
// run `make vmtest`, so `go test ./...` on a workstation stays green. Inside
// a guest a missing module fails every test instead: a skip there would
// mean "not set up", and CI must not pass on a run that tested nothing. Two
// skips are deliberate and say how to run what they skip: T34, which oopses
// the kernel and needs a boot of its own, and the C client cross-check when
// out/cnclient was not shipped (a failure with CNVMTEST_CNCLIENT=required).
//
// # Other processes
//
// Rows that need another process (an unprivileged one, one in a new
// namespace, a child for cn_proc to report) run the test binary itself with
// CNVMTEST_HELPER naming a helper function; TestMain runs the helper instead
// of the tests, and the helper prints what it saw as JSON. Credentials and
// namespaces are real: SysProcAttr.Credential and Cloneflags on the re-exec.
//
// # What the tests assume
//
// cn_echo takes its ids from the module parameters idx (default 16) and val
// (default 1) under /sys/module/cn_echo/parameters/, and registers
//
//	idx:val    ECHO: unicast reply to the sender, ack = request ack + 1
//	idx:val+1  MULTICAST: sends to group idx with ack + 1, no reply;
//	           the return value lands in last_mcast_ret
//	idx:val+2  SLOW: a start notice, then sleeps slow_ms (300), then echoes
//	idx:val+3  MULTICAST_EXCL: like MULTICAST, but skips the sender
//	idx:val+4  CREDS: replies with the sender's pid, uid, gid and port
//	idx:val+5  BLOCK: echoes with GFP_KERNEL (T35)
//
// and counts what it did in the parameters received, replied and
// send_errors. The connector runs a callback synchronously inside the
// sender's sendmsg, so those counters are up to date as soon as a send
// returns.
//
// Module state (counters, last_mcast_ret, the set of sockets in group idx)
// and cn_proc's listener count are shared by all tests, so no test calls
// t.Parallel; tests that need concurrency start their own goroutines. T32
// and T33 unload and reload the module, which restarts its counters; tests
// compare counters before and after their own sends only.
//
// # Kernel versions
//
// Where 6.1 and 6.12 differ, the expectation comes from kernelBehaviours in
// kernel_linux_test.go, a table keyed by version range (≤ 6.5, ≥ 6.6)
// whose fields cite the kernel source of each difference; the running
// kernel's version comes from uname. A kernel outside every range fails the
// tests that ask.
//
// # Timing
//
// Under QEMU TCG the guest is 10 to 50 times slower than hardware. Every wait
// for something that must arrive is bounded by a 10 s context. "Nothing
// arrives" is proved rather than waited for: the connector queues every
// reply and multicast inside the sendmsg that causes it, so a receive that
// does not wait finds nothing, and the echo of a sentinel sent afterwards
// must be the next message (package silence cites the kernel source). One
// test, TestNothingArrivesLate, listens for a window instead, as the
// control of that assumption; README.md lists it and the two places where
// no sentinel can exist. The cn_proc tests assert "no ack" and "not
// delivered here" behind a marker (proc_linux_test.go explains why that is
// sound). No test sleeps to wait for the kernel.
//
// Each test names the row of the connector test oracle (docs/connector.md §7.2,
// rows T1 to T42) that it checks; README.md maps the rows to tests.
package vmtests
