// SPDX-License-Identifier: MIT

package bench

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/internal/lines"
)

// lineWriter calls fn with each complete line written to it and the time
// the line was completed.
func lineWriter(fn func(at time.Time, line string)) *lines.Writer {
	return &lines.Writer{Line: func(line []byte) { fn(time.Now(), string(line)) }}
}

// runClock reads a run's output as the harness writes it, with -json and
// -v: go test -json events on stdout, progress lines ("cnvmtest: guest
// start", one per control record of the guest runner) on stderr, each
// stamped with the time it arrived.
type runClock struct {
	mu          sync.Mutex
	guest       map[string]time.Time // first "cnvmtest: guest EVENT" line of each event
	firstRun    time.Time            // first test's "run" event
	firstResult time.Time            // first test's pass, fail or skip
	pkgAction   string               // the package's pass or fail
	output      strings.Builder      // every Output, for benchmark lines
	log         io.Writer            // stderr is copied here
}

func newRunClock(log io.Writer) *runClock {
	return &runClock{guest: map[string]time.Time{}, log: log}
}

func (c *runClock) stdout() io.Writer { return lineWriter(c.event) }
func (c *runClock) stderr() io.Writer { return lineWriter(c.progress) }

func (c *runClock) event(at time.Time, line string) {
	var e report.Event
	if json.Unmarshal([]byte(line), &e) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.output.WriteString(e.Output)
	switch {
	case e.Test == "" && (e.Action == "pass" || e.Action == "fail"):
		c.pkgAction = e.Action
	case e.Test == "":
	case e.Action == "run" && c.firstRun.IsZero():
		c.firstRun = at
	case (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") && c.firstResult.IsZero():
		c.firstResult = at
	}
}

func (c *runClock) progress(at time.Time, line string) {
	if c.log != nil {
		io.WriteString(c.log, line+"\n")
	}
	rest, ok := strings.CutPrefix(line, "cnvmtest: guest ")
	if !ok {
		return
	}
	ev, _, _ := strings.Cut(rest, ":")
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.guest[ev]; !seen {
		c.guest[ev] = at
	}
}

func (c *runClock) guestAt(ev string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.guest[ev]
}
