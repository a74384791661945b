// SPDX-License-Identifier: MIT

package bisect_test

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/cnvmtest/cnvmtest/harness/bisect"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

// Bisecting Debian package versions with a fake suite that fails from
// 6.12.115-1 on and cannot build its module for 6.12.111-1.
func ExampleSearch() {
	versions := []string{"6.12.95-1", "6.12.107-1", "6.12.111-1", "6.12.113-1", "6.12.115-1", "6.12.117-1"}
	s := bisect.Search{
		Versions: versions,
		Good:     "6.12.95-1",
		Bad:      "6.12.117-1",
		Test: func(_ context.Context, v string) (bisect.Step, error) {
			o := report.Pass
			switch i := slices.Index(versions, v); {
			case v == "6.12.111-1":
				o = report.ModuleBuildFail
			case i >= 4:
				o = report.Fail
			}
			return bisect.Judge([]bisect.Attempt{{Outcome: o}}, bisect.FlakyBad), nil
		},
	}
	res, err := s.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	bisect.WriteLog(os.Stdout, res.Log)
	fmt.Println("first bad:", res.FirstBad, "last good:", res.LastGood, "found:", res.Found())
	// Output:
	//   1  6.12.111-1  skip: MODULE_BUILD_FAIL 1/1  0s
	//   2  6.12.107-1  good: PASS 1/1               0s
	//   3  6.12.113-1  good: PASS 1/1               0s
	//   4  6.12.115-1  bad: FAIL 1/1                0s
	// first bad: 6.12.115-1 last good: 6.12.113-1 found: true
}

// A step of three attempts of which one failed: flaky, and by default bad.
func ExampleJudge() {
	attempts := []bisect.Attempt{{Outcome: report.Pass}, {Outcome: report.Fail}, {Outcome: report.Pass}}
	for _, p := range []bisect.FlakyPolicy{bisect.FlakyBad, bisect.FlakySkip} {
		s := bisect.Judge(attempts, p)
		fmt.Println(s, "exit", s.Verdict.ExitCode())
	}
	// Output:
	// flaky 1/3, counted bad: PASS 2/3, FAIL 1/3 exit 1
	// flaky 1/3, counted skip: PASS 2/3, FAIL 1/3 exit 125
}
