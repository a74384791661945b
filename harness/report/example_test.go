// SPDX-License-Identifier: MIT

package report_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/report"
)

// The guest died in the middle of TestEcho: the recorder closes it with
// the outcome the harness found, and the run exits with that outcome's code.
func ExampleRecorder() {
	stream := `{"Action":"start","Package":"example.com/vmtests"}
{"Action":"run","Package":"example.com/vmtests","Test":"TestProc"}
{"Action":"output","Package":"example.com/vmtests","Test":"TestProc","Output":"=== RUN   TestProc\n"}
{"Action":"output","Package":"example.com/vmtests","Test":"TestProc","Output":"--- PASS: TestProc (0.25s)\n"}
{"Action":"pass","Package":"example.com/vmtests","Test":"TestProc","Elapsed":0.25}
{"Action":"run","Package":"example.com/vmtests","Test":"TestEcho"}
{"Action":"output","Package":"example.com/vmtests","Test":"TestEcho","Output":"=== RUN   TestEcho\n"}
`
	r := report.NewRecorder(report.Options{Out: os.Stdout, Verbose: true})
	if err := report.Decode(strings.NewReader(stream), r.Event); err != nil {
		fmt.Println(err)
		return
	}
	r.Finish(report.KernelPanic, "kernel panic while running")

	s := r.Summary()
	fmt.Println(s.Outcome, s.ExitCode(), s.Unfinished)
	// Output:
	// === RUN   TestProc
	// --- PASS: TestProc (0.25s)
	// === RUN   TestEcho
	//     cnvmtest: KERNEL_PANIC: kernel panic while running
	// --- FAIL: TestEcho (0.00s)
	// FAIL	example.com/vmtests	0.000s
	// KERNEL_PANIC 6 [TestEcho]
}
