// SPDX-License-Identifier: MIT

package silence

import (
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
)

// The harness's self-test looks for "late" in TestLateReply's failure, so
// the error must say it, and name what arrived and when.
func TestLateErrorSaysLate(t *testing.T) {
	id := connector.ID{Idx: 20, Val: 8}
	e := &LateError{
		Sent:  connector.Message{ID: id, Seq: 7},
		After: 203 * time.Millisecond,
		Got:   []connector.Received{{Message: connector.Message{ID: id, Seq: 7, Ack: 71, Data: []byte("x")}}},
	}
	msg := e.Error()
	for _, want := range []string{"late message", "20:8 seq 7 ack 71 len 1", "203ms", "send to 20:8"} {
		if !strings.Contains(msg, want) {
			t.Errorf("LateError = %q, want it to contain %q", msg, want)
		}
	}
}

func TestSameComparesEveryField(t *testing.T) {
	m := Sentinel(connector.ID{Idx: 16, Val: 1})
	if !same(m, m) {
		t.Fatal("a message differs from itself")
	}
	for name, change := range map[string]func(*connector.Message){
		"id":    func(m *connector.Message) { m.ID.Val++ },
		"seq":   func(m *connector.Message) { m.Seq++ },
		"ack":   func(m *connector.Message) { m.Ack++ },
		"flags": func(m *connector.Message) { m.Flags++ },
		"data":  func(m *connector.Message) { m.Data = []byte("other") },
	} {
		o := m
		change(&o)
		if same(m, o) {
			t.Errorf("messages that differ in %s compare equal", name)
		}
	}
}
