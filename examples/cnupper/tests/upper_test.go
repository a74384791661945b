// SPDX-License-Identifier: MIT

// Package tests holds the example's guest tests: they run inside a VM
// booted by cnvmtest, with kmod/cn_upper.ko loaded, and talk to the
// module through the kernel connector.
package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
)

// upperID is the module's connector id with its default parameters.
var upperID = connector.ID{Idx: 18, Val: 1}

// dial connects to the kernel connector, or skips the test when the module
// is not loaded: on a development machine, outside the guest, the tests
// have nothing to talk to.
func dial(t *testing.T) *connector.Conn {
	t.Helper()
	if _, err := os.Stat("/sys/module/cn_upper"); err != nil {
		t.Skip("cn_upper is not loaded: run these tests with cnvmtest (see the README)")
	}
	c, err := connector.Dial(nil)
	if err != nil {
		t.Fatalf("connector.Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// upper sends data to the module and returns the data of its reply.
func upper(t *testing.T, c *connector.Conn, seq uint32, data []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := connector.Message{ID: upperID, Seq: seq, Ack: 100 + seq, Data: data}
	reply, err := c.Request(ctx, req)
	if err != nil {
		t.Fatalf("request %d (%q): %v", seq, data, err)
	}
	if reply.ID != req.ID || reply.Seq != req.Seq || reply.Ack != req.Ack+1 {
		t.Fatalf("reply header id %v seq %d ack %d, want id %v seq %d ack %d",
			reply.ID, reply.Seq, reply.Ack, req.ID, req.Seq, req.Ack+1)
	}
	return reply.Data
}

// TestRegistered checks that the kernel lists the module's callback.
func TestRegistered(t *testing.T) {
	dial(t)
	f, err := os.Open("/proc/net/connector")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf("%d:%d", upperID.Idx, upperID.Val)
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 2 && fields[0] == "cn_upper" {
			if fields[1] != want {
				t.Fatalf("/proc/net/connector lists cn_upper as %s, want %s", fields[1], want)
			}
			return
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("/proc/net/connector does not list cn_upper")
}

// TestUpperASCII checks what the module changes: ASCII a-z only.
func TestUpperASCII(t *testing.T) {
	c := dial(t)
	tests := []struct {
		name     string
		in, want string
	}{
		{"lower", "hello, kernel", "HELLO, KERNEL"},
		{"mixed", "MiXeD cAsE 123", "MIXED CASE 123"},
		{"already upper", "ABC XYZ", "ABC XYZ"},
		{"punctuation", "{[`@~]}", "{[`@~]}"},
		{"utf-8 kept", "€uro und grüße", "€URO UND GRüßE"},
		{"nul bytes", "a\x00b\x00", "A\x00B\x00"},
		{"empty", "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := upper(t, c, uint32(i+1), []byte(tt.in))
			if string(got) != tt.want {
				t.Errorf("upper(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestUpperLarge sends more data than one page.
func TestUpperLarge(t *testing.T) {
	c := dial(t)
	in := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789"), 300)
	got := upper(t, c, 1, in)
	if want := bytes.ToUpper(in); !bytes.Equal(got, want) {
		t.Errorf("upper of %d bytes: got %d bytes, %d differ from bytes.ToUpper",
			len(in), len(got), countDiff(got, want))
	}
}

// TestUpperInOrder sends several requests before reading any reply: the
// replies come back in order, each matching its request.
func TestUpperInOrder(t *testing.T) {
	c := dial(t)
	const n = 16
	for seq := uint32(1); seq <= n; seq++ {
		m := connector.Message{ID: upperID, Seq: seq, Ack: seq, Data: fmt.Appendf(nil, "message %d", seq)}
		if err := c.Send(m); err != nil {
			t.Fatalf("send %d: %v", seq, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for seq := uint32(1); seq <= n; {
		msgs, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("receive reply %d: %v", seq, err)
		}
		for _, m := range msgs {
			want := fmt.Sprintf("MESSAGE %d", seq)
			if m.Seq != seq || m.Ack != seq+1 || string(m.Data) != want {
				t.Fatalf("reply seq %d ack %d %q, want seq %d ack %d %q", m.Seq, m.Ack, m.Data, seq, seq+1, want)
			}
			seq++
		}
	}
}

// TestFailOnPurpose fails against a working module: it is skipped unless
// CNUPPER_FAIL_ON_PURPOSE=1, which a check of the harness sets to see
// that a failing guest test fails the run.
func TestFailOnPurpose(t *testing.T) {
	if os.Getenv("CNUPPER_FAIL_ON_PURPOSE") != "1" {
		t.Skip("set CNUPPER_FAIL_ON_PURPOSE=1 to run a test that fails")
	}
	c := dial(t)
	if got := upper(t, c, 1, []byte("hello")); string(got) != "hello" {
		t.Errorf("upper(%q) = %q, want it unchanged (this test fails on purpose)", "hello", got)
	}
}

func countDiff(a, b []byte) int {
	n := max(len(a), len(b)) - min(len(a), len(b))
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
