// SPDX-License-Identifier: MIT

package guest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []Record{
		{Event: EvBoot, Kernel: "6.1.0-57-amd64", Taint: 0},
		{Event: EvModule, Error: "finit_module: exec format error", Taint: 12288},
		{Event: EvExit, Status: 3, Elapsed: 1500 * time.Millisecond},
		{Event: EvDone},
	}
	for _, want := range tests {
		t.Run(want.Event, func(t *testing.T) {
			line := want.Encode()
			if line[len(line)-1] != '\n' {
				t.Fatalf("record %q does not end its line", line)
			}
			got, ok := Decode(line)
			if !ok {
				t.Fatalf("Decode(%q) did not recognise a record", line)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("unexpected record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejectsOtherLines(t *testing.T) {
	for _, line := range []string{
		"",
		"=== RUN   TestEcho\n",
		"\x16=== RUN   TestEcho\n",
		"cnvmtest {\"event\":\"exit\"}\n",    // no record separator
		"\x1ecnvmtest not json\n",            // marker but no JSON
		"  \x1ecnvmtest {\"event\":\"x\"}\n", // marker not at the start
	} {
		if r, ok := Decode([]byte(line)); ok {
			t.Errorf("Decode(%q) = %+v, want no record", line, r)
		}
	}
}

func TestDecodeToleratesCRLF(t *testing.T) {
	line := append(Record{Event: EvDone}.Encode()[:0:0], Record{Event: EvDone}.Encode()...)
	line = append(line[:len(line)-1], '\r', '\n')
	if _, ok := Decode(line); !ok {
		t.Fatalf("Decode(%q) failed on a CRLF line", line)
	}
}
