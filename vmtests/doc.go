// Package vmtests holds the tests that run inside a cnvmtest guest, against
// the real kernel connector and the cn_echo test module from kmod/.
//
// The package has no code of its own besides this comment: everything is in
// the _test.go files, and the test binary is what the guest runs.
//
// # How the tests run
//
// `make vmtest` builds this package with
//
//	CGO_ENABLED=0 go test -c ./vmtests/
//
// builds kmod/cn_echo.ko against the chosen kernel, and boots that kernel in
// QEMU with a u-root initramfs. The guest runner loads the module, sets
// CNVMTEST_GUEST=1 and runs the test binary as root in the initial network
// namespace with -test.v=test2json; the host turns the stream into go test
// output.
//
// Outside a guest (CNVMTEST_GUEST unset) every test skips and says to run
// `make vmtest`, so `go test ./...` on a workstation stays green. Inside a
// guest a missing module fails every test instead: a skip there would mean
// "not set up", and CI must not pass on a run that tested nothing.
//
// # What the tests assume
//
// cn_echo takes its ids from the module parameters idx (default 16) and val
// (default 1) under /sys/module/cn_echo/parameters/, and registers
//
//	idx:val    ECHO: unicast reply to the sender, ack = request ack + 1
//	idx:val+1  MULTICAST: sends to group idx with ack + 1, no reply;
//	           the return value lands in last_mcast_ret
//	idx:val+2  SLOW: sleeps slow_ms, then echoes
//	idx:val+3  MULTICAST_EXCL: like MULTICAST, but skips the sender
//
// and counts what it did in the parameters received, replied and
// send_errors. The connector runs a callback synchronously inside the
// sender's sendmsg, so those counters are up to date as soon as a send
// returns.
//
// Module state (counters, last_mcast_ret, the set of sockets in group idx)
// is shared by all tests, so no test calls t.Parallel; tests that need
// concurrency start their own goroutines.
//
// # Timing
//
// Under QEMU TCG the guest is 10 to 50 times slower than hardware. Every wait
// for something that must arrive is bounded by a 10 s context; every
// "nothing arrives" assertion listens for 500 ms (the design asks for at
// least 300 ms) and is followed by an echo that must be the very next
// message, so silence cannot come from a dead socket. No test sleeps to wait
// for the kernel.
//
// Each test names the row of the connector test oracle (connector.md §7.2,
// rows T1 to T42) that it checks; README.md maps the rows to tests.
package vmtests
