//go:build linux

package connector

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// silentID is registered by no module, so the kernel drops messages to it.
var silentID = ID{Idx: 31, Val: 0xdeadbeef}

func dialSocket(t *testing.T) (*Conn, *socketTransport) {
	t.Helper()
	c, err := Dial(nil)
	if err != nil {
		t.Skipf("skipping: cannot open a NETLINK_CONNECTOR socket here: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	st, ok := c.t.(*socketTransport)
	if !ok {
		t.Fatalf("Dial made a %T, want a *socketTransport", c.t)
	}
	return c, st
}

// TestSendWhileSending covers the sends that find the transport's own
// sender busy, as when a slow callback holds another Send inside sendto:
// they use a sender of their own instead of waiting.
func TestSendWhileSending(t *testing.T) {
	c, st := dialSocket(t)

	st.wmu.Lock()
	done := make(chan error, 2)
	go func() { done <- c.Send(Message{ID: silentID, Data: []byte("x")}) }()
	go func() {
		_, err := c.SendRaw(make([]byte, 8))
		done <- err
	}()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("send while the sender is busy: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a send waited for the busy sender")
		}
	}
	st.wmu.Unlock()

	// Many senders at once, for the race detector.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				if err := c.Send(Message{ID: silentID, Seq: uint32(i*100 + j), Data: make([]byte, j)}); err != nil {
					t.Errorf("concurrent send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	// Nothing came back, and Receive still waits and times out.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if ms, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, %v; want context.DeadlineExceeded", ms, err)
	}
}
