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
package guest
