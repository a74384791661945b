// SPDX-License-Identifier: MIT

package kernel

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes human progress lines, each naming the spec.
type progress struct {
	mu     sync.Mutex // lines come from tickers too
	w      io.Writer
	prefix string
}

func newProgress(w io.Writer, spec Spec) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, prefix: "kernel " + spec.String() + ": "}
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, p.prefix+format+"\n", args...)
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// every prints what status returns every interval, until stop is called.
func (p *progress) every(interval time.Duration, status func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.printf("%s", status())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
