// SPDX-License-Identifier: MIT

package lines

import (
	"fmt"
	"slices"
	"testing"
)

func TestWriter(t *testing.T) {
	var got []string
	w := &Writer{Line: func(l []byte) { got = append(got, string(l)) }}
	for _, s := range []string{"a", "b\nc", "\n\nd\ne"} {
		fmt.Fprint(w, s)
	}
	if want := []string{"ab", "c", "", "d"}; !slices.Equal(got, want) {
		t.Fatalf("lines before Flush = %q, want %q", got, want)
	}
	w.Flush()
	w.Flush() // nothing left: no empty line
	if want := []string{"ab", "c", "", "d", "e"}; !slices.Equal(got, want) {
		t.Fatalf("lines after Flush = %q, want %q", got, want)
	}
}
