// SPDX-License-Identifier: MIT

// Package klog finds kernel splats in console output: panics, oopses,
// KASAN, KFENCE, KMSAN, KCSAN and UBSAN reports, SLUB debug reports,
// warnings (both forms of the WARN banner), lockdep reports, hung tasks,
// lockups, RCU stalls, kmemleak leaks and refcount_t warnings. It also
// decodes the kernel's taint mask.
//
// The harness feeds a [Scanner] each console line as it arrives and gets
// each report back as soon as it is complete, with its line numbers, so it
// can attribute the report to the test whose markers enclose it.
//
// # Reading the console
//
// Lines may carry a timestamp ("[    1.234567] ") and a caller id ("[T123]",
// "[C1]"); the scanner strips them for matching and keeps them in
// [Report.Lines]. A report starts at a header line (see [Kind] for the
// headers of each kind), together with the "------------[ cut here ]"
// line or "=====" rule and the WARN message printed just before it. It ends:
//
//   - at its end marker: "---[ end trace" for warnings and oopses (and
//     newer UBSAN, and SLUB reports that end in a WARN_ON), the closing
//     "=====" rule for KASAN, KFENCE, KMSAN, KCSAN and older UBSAN,
//     "---[ end Kernel panic" for a panic;
//   - after its call trace, for the reports that have no end marker
//     (lockdep, hung task, lockups, RCU stalls, BUG: reports that do not
//     die): at "</TASK>", or at the first line that cannot be part of a
//     stack on kernels that print no "<TASK>" (before 5.16) and on
//     arm64 and s390 (whose "Last Breaking-Event-Address:" and the
//     address after it still belong to the report);
//   - at the first line that is not indented, for kmemleak;
//   - when another report starts.
//
// Lines that belong to no report (boot messages, the register summary x86
// prints after an oops' end marker) are ignored. A panic with panic=-1
// restarts the machine before its end marker: it ends with the input, at
// [Scanner.Flush].
//
// # Fingerprints
//
// A report's fingerprint names its kind and the top frames that locate the
// bug, so that the same bug hit by two runs, or on two kernels, has the same
// fingerprint: baselines of known issues are lists of fingerprints. See
// [Report.Fingerprint].
package klog
