// SPDX-License-Identifier: MIT

package harness

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"github.com/cnvmtest/cnvmtest/internal/lines"
)

// console receives the kernel console: it writes every byte to the log file
// at once (so a crash loses nothing), scans whole lines for kernel reports,
// and follows the runner's per-test markers to tell which test was running
// when each line was printed.
type console struct {
	f     *os.File
	split lines.Writer

	mu      sync.Mutex
	scan    *klog.Scanner
	lines   []string // every line, lines[i] is line i+1
	reports []klog.Report
	// active[i] is the test that was running at line i+1: the innermost
	// one, the last begun of those not yet ended.
	active  []string
	running []string
	// spans holds each test's first and last console line.
	spans map[string][2]int
}

func newConsole(path string) (*console, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	c := &console{f: f, scan: klog.NewScanner(), spans: map[string][2]int{}}
	c.split.Line = func(line []byte) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.addLine(string(bytes.TrimRight(line, "\r")))
	}
	return c, nil
}

// Write writes b to the log at once and scans the lines it completes.
func (c *console) Write(b []byte) (int, error) {
	c.f.Write(b)
	return c.split.Write(b)
}

// timestamp matches the console's "[    4.788543] " prefix.
var timestamp = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?(?:\[[TC]\d+\]\s?)?`)

func (c *console) addLine(line string) {
	c.lines = append(c.lines, line)
	n := len(c.lines)
	text := timestamp.ReplaceAllString(line, "")
	if name, ok := strings.CutPrefix(text, guest.KmsgBegin); ok {
		c.running = append(c.running, name)
		c.spans[name] = [2]int{n, 0}
	} else if name, ok := strings.CutPrefix(text, guest.KmsgEnd); ok {
		for i := len(c.running) - 1; i >= 0; i-- {
			if c.running[i] == name {
				c.running = append(c.running[:i], c.running[i+1:]...)
				break
			}
		}
		if s, ok := c.spans[name]; ok {
			c.spans[name] = [2]int{s[0], n}
		}
	}
	cur := ""
	if len(c.running) > 0 {
		cur = c.running[len(c.running)-1]
	}
	c.active = append(c.active, cur)
	c.reports = append(c.reports, c.scan.Line(line)...)
}

// attributed is a kernel report and the test running when it began ("" for
// none).
type attributed struct {
	klog.Report
	Test string
}

// finish flushes the scanner and closes the log. It returns every report
// with its test, and each test's slice of the console; a test that never
// ended gets the console up to the end.
func (c *console) finish() ([]attributed, map[string]string) {
	c.split.Flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reports = append(c.reports, c.scan.Flush()...)
	c.f.Close()

	var out []attributed
	for _, r := range c.reports {
		test := ""
		if r.StartLine >= 1 && r.StartLine <= len(c.active) {
			test = c.active[r.StartLine-1]
		}
		out = append(out, attributed{r, test})
	}
	slices := map[string]string{}
	for name, s := range c.spans {
		end := s[1]
		if end == 0 {
			end = len(c.lines)
		}
		slices[name] = strings.Join(c.lines[s[0]-1:end], "\n")
	}
	return out, slices
}

// tail returns the last n lines of the console.
func (c *console) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines[max(0, len(c.lines)-n):], "\n")
}
