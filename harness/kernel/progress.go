package kernel

import (
	"fmt"
	"io"
)

// progress writes human progress lines, each naming the spec.
type progress struct {
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
	fmt.Fprintf(p.w, p.prefix+format+"\n", args...)
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
