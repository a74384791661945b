package harness

import (
	"bytes"
	"os"
	"sync"

	"github.com/cnvmtest/cnvmtest/harness/klog"
)

// console receives the kernel console: it writes every byte to the log file
// at once (so a crash loses nothing) and scans whole lines for kernel
// reports.
type console struct {
	f *os.File

	mu      sync.Mutex
	partial []byte
	scan    *klog.Scanner
	reports []klog.Report
	text    bytes.Buffer
}

func newConsole(path string) (*console, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &console{f: f, scan: klog.NewScanner()}, nil
}

func (c *console) Write(b []byte) (int, error) {
	c.f.Write(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text.Write(b)
	c.partial = append(c.partial, b...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := string(bytes.TrimRight(c.partial[:i], "\r"))
		c.partial = c.partial[i+1:]
		c.reports = append(c.reports, c.scan.Line(line)...)
	}
	return len(b), nil
}

// finish flushes the scanner and closes the log; it returns every report.
func (c *console) finish() []klog.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 {
		c.reports = append(c.reports, c.scan.Line(string(c.partial))...)
		c.partial = nil
	}
	c.reports = append(c.reports, c.scan.Flush()...)
	c.f.Close()
	return c.reports
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text.String()
}
