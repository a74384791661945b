// SPDX-License-Identifier: MIT

// Package lines splits what is written to an io.Writer into lines.
package lines

import (
	"bytes"
	"sync"
)

// Writer calls Line with each complete line written to it, without its
// newline, in the order written. It is safe for concurrent use; Line is
// called with Writer's lock held, so calls never overlap.
type Writer struct {
	Line func(line []byte)

	mu  sync.Mutex
	buf []byte
}

// Write buffers b and hands every line it completes to Line.
func (w *Writer) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.Line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// Flush hands a last line that has no newline yet to Line, if there is one.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.Line(w.buf)
		w.buf = nil
	}
}
