// SPDX-License-Identifier: MIT

package vmtests

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/cnvmtest/cnvmtest/vmtests/silence"
	"golang.org/x/sys/unix"
)

// Receive-queue rows: T18 (reading late), T19 and T20 (overrun with a
// GFP_ATOMIC reply), T35 (the GFP_KERNEL reply that blocks its sender) and
// T36 (a buffer too small for the datagram). docs/connector.md §2.5 and §1.5.

// T18: 200 sends, then 200 reads: all replies, in order. The receive
// buffer is raised so that 200 replies fit on any kernel; overrunning it
// is T19's subject.
func TestSendAllThenReadAll(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, &connector.Config{ReadBuffer: 1 << 20})

	const n = 200
	want := make([]connector.Message, n)
	for i := range want {
		m := connector.Message{ID: ids.echo, Seq: 18<<16 | uint32(i), Ack: uint32(i), Data: binary.NativeEndian.AppendUint32(nil, uint32(i))}
		send(t, c, m)
		want[i] = echoOf(m)
	}
	if diff := diffInOrder(want, messagesOf(mustReceive(t, c, n))); diff != "" {
		t.Fatalf("unexpected replies: %s", diff)
	}
}

// drainOutcome is what a socket held after a flood.
type drainOutcome struct {
	seqs    []uint32 // of the replies, in arrival order
	enobufs []int    // positions in seqs at which a receive failed with ENOBUFS
}

// drain reads what is queued on c now, without waiting: the replies to a
// flood are queued inside the sends (or dropped there), so when the last
// send has returned the queue holds all there will be. The caller's
// expectSilence then shows that nothing follows them.
func drain(tb testing.TB, c *connector.Conn) drainOutcome {
	tb.Helper()
	var d drainOutcome
	for {
		// The peek reports a pending ENOBUFS, and clears it, before the
		// queue (sock_error in __skb_try_recv_datagram).
		q, err := silence.Queued(c)
		switch {
		case errors.Is(err, unix.ENOBUFS):
			d.enobufs = append(d.enobufs, len(d.seqs))
			continue
		case err != nil:
			tb.Fatalf("draining after %d replies: %v", len(d.seqs), err)
		case !q:
			return d
		}
		ctx, cancel := context.WithTimeout(tb.Context(), requestTimeout)
		rs, err := c.ReceiveFrom(ctx)
		cancel()
		switch {
		case err == nil:
			for _, r := range rs {
				d.seqs = append(d.seqs, r.Seq)
			}
		case errors.Is(err, unix.ENOBUFS):
			d.enobufs = append(d.enobufs, len(d.seqs))
		default:
			tb.Fatalf("draining after %d replies: %v", len(d.seqs), err)
		}
	}
}

// inOrderFrom reports the first i with seqs[i] != first+i, or -1.
func inOrderFrom(seqs []uint32, first uint32) int {
	for i, s := range seqs {
		if s != first+uint32(i) {
			return i
		}
	}
	return -1
}

// floodSends is T19's and T20's flood. The socket holds k replies (k = 277
// on 6.1 and 221 on 6.12 with 8-byte data and the default receive
// buffer); the flood must overrun it by at least twice that, which the
// test checks, so that "nothing after the first k" is shown on many more
// replies than were kept.
const floodSends = 1200

// T19 and T20: floodSends echoes sent without reading. Every send succeeds (the
// callback's reply fails, not the request). The socket keeps the first k
// replies; the first reply that does not fit sets the socket congested,
// so every later one is dropped too, until the queue is read empty.
// Without NETLINK_NO_ENOBUFS the loss is reported once, as ENOBUFS, on the
// first receive (sock_error comes before the queue in
// __skb_try_recv_datagram); with it, silently. k depends on the kernel's
// skb truesize, so it is logged, not expected.
func TestFloodWithoutReading(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	tests := []struct {
		name      string
		noENOBUFS bool
	}{
		{name: "T19 ENOBUFS once", noENOBUFS: false},
		{name: "T20 NETLINK_NO_ENOBUFS", noENOBUFS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, &connector.Config{NoENOBUFS: tt.noENOBUFS})
			const n = floodSends
			before := readCounters(t)
			for i := range n {
				send(t, c, connector.Message{ID: ids.echo, Seq: uint32(i), Ack: uint32(i), Data: []byte("flooding")})
			}
			after := readCounters(t)

			d := drain(t, c)
			k := len(d.seqs)
			t.Logf("%d of %d replies queued, ENOBUFS before replies %v", k, n, d.enobufs)
			if k == 0 || k >= n {
				t.Errorf("%d replies queued, want some but not all %d", k, n)
			}
			if n-k < 2*k {
				t.Errorf("the flood of %d overran a queue of %d replies by only %d, want at least %d: raise floodSends", n, k, n-k, 2*k)
			}
			if i := inOrderFrom(d.seqs, 0); i >= 0 {
				t.Errorf("reply %d has seq %d, want %d: the queued replies are the first ones, in order", i, d.seqs[i], i)
			}
			wantENOBUFS := []int{0}
			if tt.noENOBUFS {
				wantENOBUFS = nil
			}
			if fmt.Sprint(d.enobufs) != fmt.Sprint(wantENOBUFS) {
				t.Errorf("ENOBUFS at reply positions %v, want %v", d.enobufs, wantENOBUFS)
			}
			// The module saw each reply fail (-EAGAIN) or succeed.
			if got := after.Replied - before.Replied; got != int64(k) {
				t.Errorf("replied went up by %d, want %d (the queued replies)", got, k)
			}
			if got := after.SendErrors - before.SendErrors; got != int64(n-k) {
				t.Errorf("send_errors went up by %d, want %d (the dropped replies)", got, n-k)
			}
			expectSilence(t, c, ids, "nothing follows the queued replies")
		})
	}
}

// T36: a datagram longer than the receive buffer is cut (MSG_TRUNC) and
// its rest is lost: the next receive returns the next datagram.
func TestTruncatedReceive(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, &connector.Config{RecvBufSize: 64})

	big := connector.Message{ID: ids.echo, Seq: 36, Ack: 1, Data: pattern(100, 36)} // 136-byte echo
	send(t, c, big)
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	_, err := c.ReceiveFrom(ctx)
	if !errors.Is(err, connector.ErrTruncated) || !strings.Contains(err.Error(), "136-byte datagram") {
		t.Fatalf("receiving a 136-byte echo into 64 bytes: %v, want ErrTruncated for 136 bytes", err)
	}
	expectAlive(t, c, ids)
}

// blockArgs and blockResult are helperBlock's input and output.
type blockArgs struct {
	Block, Echo connector.ID
	Max         int           // sends to try before giving up
	SignalAfter time.Duration // how long a send may take before SIGALRM
}

type blockResult struct {
	Blocked    int // index of the send that blocked; -1 if none did
	BlockedFor time.Duration
	BlockedErr string // what that send returned
	Signals    int
	Queued     []uint32 // seqs of the replies read afterwards
	RecvErrs   []string
	Silence    string // why nothing-after-them was not proved; "" if it was
}

// helperBlock sends to the GFP_KERNEL echo id without reading, on a socket
// with the smallest receive buffer, until one send blocks; a SIGALRM sent
// to that thread after SignalAfter ends the wait. It runs in its own
// process with GODEBUG=asyncpreemptoff=1, so that no runtime preemption
// signal reaches the thread and ends the wait early; the signal is aimed
// at the sending thread (tgkill), since a process-wide signal may wake
// another thread and leave the send blocked.
func helperBlock(ctx context.Context, raw json.RawMessage) (any, error) {
	var a blockArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	pid, tid := unix.Getpid(), unix.Gettid()
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGALRM)

	// SO_RCVBUF 1 becomes the kernel's minimum: a few replies fill it.
	c, err := connector.Dial(&connector.Config{ReadBuffer: 1})
	if err != nil {
		return nil, err
	}
	defer c.Close()

	res := blockResult{Blocked: -1}
	for i := 0; i < a.Max && res.Blocked < 0; i++ {
		var fired atomic.Bool
		timer := time.AfterFunc(a.SignalAfter, func() {
			fired.Store(true)
			_ = unix.Tgkill(pid, tid, unix.SIGALRM)
		})
		start := time.Now()
		err := c.Send(connector.Message{ID: a.Block, Seq: uint32(i), Ack: uint32(i), Data: []byte("blocking")})
		took := time.Since(start)
		timer.Stop()
		if fired.Load() {
			res.Blocked, res.BlockedFor = i, took
			if err != nil {
				res.BlockedErr = err.Error()
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("send %d: %w", i, err)
		}
	}
	signal.Stop(sigs)
	res.Signals = len(sigs)

	// Every reply that will come is queued by now: the sends have
	// returned (package silence). Read them without waiting, then prove
	// that nothing follows with a sentinel.
	for {
		q, err := silence.Queued(c)
		if err != nil {
			res.RecvErrs = append(res.RecvErrs, err.Error())
			if !errors.Is(err, unix.ENOBUFS) {
				break
			}
			continue
		}
		if !q {
			break
		}
		rs, err := c.ReceiveFrom(ctx)
		if err != nil {
			res.RecvErrs = append(res.RecvErrs, err.Error())
			continue
		}
		for _, r := range rs {
			res.Queued = append(res.Queued, r.Seq)
		}
	}
	if err := silence.Prove(ctx, c, a.Echo); err != nil {
		res.Silence = err.Error()
	}
	return res, nil
}

// T35 (optional in docs/connector.md, done): with GFP_KERNEL the reply waits
// for room in the sender's own queue, so a client that sends without
// reading blocks in its sendmsg until a signal. sendmsg then returns
// success, the module's cn_netlink_send returns -ERESTARTSYS (-512) and the
// reply is lost; no overrun is flagged, so no ENOBUFS.
func TestBlockingReplyWaitsForSignal(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	// Long enough that a send that does not block (well under a
	// millisecond, even under TCG) never sees the signal; a send that
	// did see it and returned -ERESTARTSYS was blocked, whatever the
	// length.
	const signalAfter = 200 * time.Millisecond
	a := blockArgs{Block: ids.block, Echo: ids.echo, Max: 64, SignalAfter: signalAfter}
	before := readCounters(t)
	var res blockResult
	runHelperProcess(t, "block", a, nil, &res, "GODEBUG=asyncpreemptoff=1")
	t.Logf("helper: %+v", res)

	if res.Blocked < 1 {
		t.Fatalf("blocked at send %d, want a send after at least one that returned at once", res.Blocked)
	}
	if res.BlockedFor > signalAfter+5*time.Second {
		t.Errorf("the blocked send returned %v after it started, long after the signal at %v", res.BlockedFor, signalAfter)
	}
	if res.BlockedErr != "" {
		t.Errorf("the interrupted send failed (%s), want success: the error stays in the callback", res.BlockedErr)
	}
	if res.Signals < 1 {
		t.Errorf("the helper saw no SIGALRM")
	}
	if i := inOrderFrom(res.Queued, 0); i >= 0 || len(res.Queued) != res.Blocked {
		t.Errorf("replies read afterwards %v, want seqs 0..%d: the replies before the blocked send, not its own", res.Queued, res.Blocked-1)
	}
	if len(res.RecvErrs) != 0 {
		t.Errorf("receive errors %v, want none (a signal is not an overrun)", res.RecvErrs)
	}
	if res.Silence != "" {
		t.Errorf("after the queued replies: %s", res.Silence)
	}
	if got := readParam(t, "last_block_ret"); got != -512 {
		t.Errorf("last_block_ret = %d, want -512 (-ERESTARTSYS)", got)
	}
	after := readCounters(t)
	if got := after.SendErrors - before.SendErrors; got != 1 {
		t.Errorf("send_errors went up by %d, want 1", got)
	}
}
