// SPDX-License-Identifier: MIT

package klog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzScanner feeds arbitrary console output to the scanner: it must not
// panic, and what it returns must be consistent, whether read line by line
// or at once.
func FuzzScanner(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "kmemleak.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, log string) {
		if len(log) > 256<<10 {
			t.Skip("a console log of a test is smaller; huge inputs only slow the fuzzer")
		}
		s := NewScanner()
		var got []Report
		lines := strings.SplitAfter(log, "\n")
		n := 0
		for _, l := range lines {
			if l == "" {
				continue
			}
			n++
			got = append(got, s.Line(l)...)
		}
		got = append(got, s.Flush()...)

		last := 0
		for _, r := range got {
			switch {
			case r.StartLine <= last || r.EndLine < r.StartLine || r.EndLine > n:
				t.Fatalf("%s spans lines %d-%d after line %d of %d", r.Kind, r.StartLine, r.EndLine, last, n)
			case len(r.Lines) != r.EndLine-r.StartLine+1:
				t.Fatalf("%s has %d lines for lines %d-%d", r.Kind, len(r.Lines), r.StartLine, r.EndLine)
			case !strings.HasPrefix(r.Fingerprint, string(r.Kind)+"|"):
				t.Fatalf("fingerprint %q of a %s", r.Fingerprint, r.Kind)
			case len(r.Frames) != len(r.Trace) || len(r.Lines) > maxLines:
				t.Fatalf("%s: %d frames, %d trace entries, %d lines", r.Kind, len(r.Frames), len(r.Trace), len(r.Lines))
			}
			last = r.EndLine
		}
		if n == len(lines) || strings.HasSuffix(log, "\n") {
			// Parse splits the same way when the input ends with a newline.
			if p := Parse(log); len(p) != len(got) {
				t.Fatalf("Parse found %d reports, the scanner %d", len(p), len(got))
			}
		}
	})
}
