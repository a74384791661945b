// SPDX-License-Identifier: MIT

package bisect

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteLog prints a bisection's log, one tested version a line: the order,
// the version, the verdict with the attempts' outcomes, the time spent and
// the title.
//
//	1  6.12.95-1~bpo12+1  good: PASS 3/3                              1m2s
//	2  6.12.111-1         flaky 1/3, counted bad: PASS 2/3, FAIL 1/3  1m4s
func WriteLog(w io.Writer, log []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i, e := range log {
		var spent time.Duration
		for _, a := range e.Step.Attempts {
			spent += a.Elapsed
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s", i+1, e.Version, e.Step, spent.Round(time.Second))
		if e.Title != "" {
			fmt.Fprintf(tw, "\t%s", e.Title)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
