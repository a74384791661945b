// SPDX-License-Identifier: MIT

// Package bench measures cnvmtest itself: how long a warm run takes per
// kernel and per phase, against the floor of booting the same kernel with
// the same QEMU flags and an init that only powers off; how long from
// QEMU's start to the first test event; a kernel matrix in parallel and
// one kernel after another; a cold start from empty caches; the whole
// suite per guest architecture (amd64, arm64) against a bare boot on the
// same emulator, and the harness's overhead per run on each; the echo round
// trip inside the guest through package connector and through raw system
// calls; the connector encoders on the host; and the peak memory of QEMU
// and of the harness.
//
// Every quantity is measured N times (the cold start once) and reported
// as median, minimum and maximum. Samples of different kinds are taken in
// turn (run, floor, run, floor...), so that a change in the load of a
// shared machine hits both sides of a ratio alike, and the load average is
// recorded at the start and end of each section.
//
// A Report is written as JSON; Compare prints the changes between two.
// Performance goals are reported with the results, never asserted.
//
// Runs go through harness.Run in this process, with the options the CLI
// would use (its default guest size), so Result.Phases gives the phases and the
// harness's own output gives the moments between: its -v progress lines
// mark each control record of the guest runner, and its -json events mark
// the first test. The cold start runs the CLI as a child process with
// CNVMTEST_CACHE pointing at an empty directory.
package bench
