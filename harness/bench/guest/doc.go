// SPDX-License-Identifier: MIT

// Package guest holds the benchmarks that cnvmtest bench runs inside a
// guest, with cn_echo loaded: the echo round trip and a window of echoes
// through package connector, against the same traffic through raw system
// calls (socket, sendto and recvfrom from golang.org/x/sys/unix, with the
// netlink and cn_msg headers written by hand), in the same guest. The
// ratio of the two is what package connector costs.
//
// Run them with
//
//	cnvmtest run -tests ./harness/bench/guest -run TestEchoPaths -bench .
//
// Outside a cnvmtest guest the test and the benchmarks skip.
//
// On a loaded host the separate benchmarks of each client drift apart;
// BenchmarkRoundTripMixed interleaves them for a steadier ratio.
// With CNVMTEST_BENCH_CPUPROFILE=HZ in the guest's environment the test
// binary prints a CPU profile on stdout (see TestMain).
//
// The raw client's socket is blocking and outside the Go poller; package
// connector's is in the poller's epoll set, so each echo it receives may
// also wake a thread parked in epoll_wait. That alone costs a few percent
// to a third of a round trip under TCG, depending on the host's load.
package guest
