// SPDX-License-Identifier: MIT

package vmtests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"github.com/cnvmtest/cnvmtest/vmtests/silence"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Waits sized for a guest under QEMU TCG.
const (
	// requestTimeout bounds every wait for something that must arrive.
	requestTimeout = 10 * time.Second
	// silenceWindow is how long the few "nothing arrives" checks that
	// no sentinel can end listen (README.md lists them; docs/connector.md
	// §7.2 asks for at least 300 ms under TCG). Every other silence
	// check is proved by a sentinel (expectSilence).
	silenceWindow = silence.ControlWindow
)

const (
	moduleDir = "/sys/module/cn_echo"
	paramDir  = moduleDir + "/parameters"
)

// Sizes on the wire (docs/connector.md §1.1).
const (
	nlmsgHeaderLen = 16
	cnMsgLen       = connector.HeaderLen
)

// requireGuest skips the test outside a cnvmtest guest and fails it inside a
// guest whose runner did not load cn_echo.
func requireGuest(tb testing.TB) {
	tb.Helper()
	if os.Getenv(guest.EnvGuest) != "1" {
		tb.Skip("not in a cnvmtest guest: run `make vmtest`")
	}
	if _, err := os.Stat(moduleDir); err != nil {
		// The runner loads cn_echo before it starts the tests, so a missing
		// module is a broken run, not a reason to skip.
		tb.Fatalf("%s=1 but cn_echo is not loaded: %v", guest.EnvGuest, err)
	}
}

// moduleIDs are the connector ids cn_echo registers.
type moduleIDs struct {
	group         uint32 // multicast group of every id: idx
	echo          connector.ID
	multicast     connector.ID
	slow          connector.ID
	multicastExcl connector.ID
	creds         connector.ID
	block         connector.ID
}

// echoIDs derives the module's ids from its idx and val parameters.
func echoIDs(tb testing.TB) moduleIDs {
	tb.Helper()
	idx := uint32(readParam(tb, "idx"))
	val := uint32(readParam(tb, "val"))
	if idx < 1 || idx > 32 {
		// netlink has 32 groups (docs/connector.md §2.3): the multicast tests
		// could not listen to a larger idx.
		tb.Fatalf("cn_echo idx=%d: the multicast group must be in 1..32", idx)
	}
	return moduleIDs{
		group:         idx,
		echo:          connector.ID{Idx: idx, Val: val},
		multicast:     connector.ID{Idx: idx, Val: val + 1},
		slow:          connector.ID{Idx: idx, Val: val + 2},
		multicastExcl: connector.ID{Idx: idx, Val: val + 3},
		creds:         connector.ID{Idx: idx, Val: val + 4},
		block:         connector.ID{Idx: idx, Val: val + 5},
	}
}

// readParam reads an integer parameter of cn_echo from sysfs.
func readParam(tb testing.TB, name string) int64 {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(paramDir, name))
	if err != nil {
		tb.Fatalf("reading cn_echo parameter: %v", err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		tb.Fatalf("parsing cn_echo parameter %s: %v", name, err)
	}
	return v
}

// counters are cn_echo's statistics.
type counters struct {
	Received   int64 // callback invocations
	Replied    int64 // successful echoes
	SendErrors int64 // failed cn_netlink_send calls
}

func readCounters(tb testing.TB) counters {
	tb.Helper()
	return counters{
		Received:   readParam(tb, "received"),
		Replied:    readParam(tb, "replied"),
		SendErrors: readParam(tb, "send_errors"),
	}
}

// groupBit is the nl_groups bit recvfrom reports for a multicast to group g
// (docs/connector.md §1.2: group 16 gives 0x8000).
func groupBit(g uint32) uint32 { return 1 << (g - 1) }

// dial opens a connector socket that is closed when the test ends.
func dial(tb testing.TB, cfg *connector.Config) *connector.Conn {
	tb.Helper()
	if cfg == nil {
		cfg = &connector.Config{}
	}
	c, err := connector.Dial(cfg)
	if err != nil {
		tb.Fatalf("dialing the connector: %v", err)
	}
	// Tests that close a socket on purpose check that Close; this one may
	// then fail for closing twice, which is not under test.
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func send(tb testing.TB, c *connector.Conn, m connector.Message) {
	tb.Helper()
	if err := c.Send(m); err != nil {
		tb.Fatalf("sending to %d:%d seq %d: %v", m.ID.Idx, m.ID.Val, m.Seq, err)
	}
}

// receiveN reads until n messages have arrived. More than n is an error:
// the kernel sends one connector message per datagram.
func receiveN(ctx context.Context, c *connector.Conn, n int) ([]connector.Received, error) {
	var got []connector.Received
	for len(got) < n {
		rs, err := c.ReceiveFrom(ctx)
		if err != nil {
			return got, fmt.Errorf("receiving message %d of %d: %w", len(got)+1, n, err)
		}
		got = append(got, rs...)
	}
	if len(got) > n {
		return got, fmt.Errorf("received %d messages, want %d", len(got), n)
	}
	return got, nil
}

// mustReceive returns the next n messages on c, waiting at most
// requestTimeout.
func mustReceive(tb testing.TB, c *connector.Conn, n int) []connector.Received {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), requestTimeout)
	defer cancel()
	got, err := receiveN(ctx, c, n)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func messagesOf(rs []connector.Received) []connector.Message {
	ms := make([]connector.Message, len(rs))
	for i, r := range rs {
		ms[i] = r.Message
	}
	return ms
}

// expectSilence asserts that the requests sent on c so far caused nothing
// on c: nothing is queued now, and the echo of a sentinel sent now is the
// next message. The connector queues every reply and multicast inside the
// sendmsg that causes it (package silence cites the kernel source), so
// this needs no waiting; TestNothingArrivesLate checks that assumption.
// It also shows that c still works, so silence cannot come from a dead
// socket.
func expectSilence(tb testing.TB, c *connector.Conn, ids moduleIDs, why string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), requestTimeout)
	defer cancel()
	if err := silence.Prove(ctx, c, ids.echo); err != nil {
		tb.Fatalf("%s, but: %v", why, err)
	}
}

// queuedNow reports whether c's socket holds a datagram at this instant,
// without taking it.
func queuedNow(tb testing.TB, c *connector.Conn) bool {
	tb.Helper()
	q, err := silence.Queued(c)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &te) && te.Timeout())
}

// sameMessage is cmp.Equal(a, b, cmpopts.EquateEmpty()) for two messages,
// field by field: go-cmp's reflection, run for each of the thousands of
// messages the echo, order and flood tests compare, was most of their time
// under TCG. TestSameMessageSeesEveryField keeps it in step with the type.
func sameMessage(a, b connector.Message) bool {
	return a.ID == b.ID && a.Seq == b.Seq && a.Ack == b.Ack && a.Flags == b.Flags && bytes.Equal(a.Data, b.Data)
}

// diffMessage is cmp.Diff(want, got, cmpopts.EquateEmpty()) for two
// messages, which costs go-cmp's reflection only when they differ.
func diffMessage(want, got connector.Message) string {
	if sameMessage(want, got) {
		return ""
	}
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

// diffInOrder compares replies one by one and shows only the first that
// differs: a systematic error would otherwise print every message.
func diffInOrder(want, got []connector.Message) string {
	if len(want) != len(got) {
		return fmt.Sprintf("got %d messages, want %d", len(got), len(want))
	}
	first, bad := -1, 0
	for i := range want {
		if !sameMessage(want[i], got[i]) {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d messages differ; the first, message %d (-want +got):\n%s",
		bad, len(want), first, cmp.Diff(want[first], got[first], cmpopts.EquateEmpty()))
}

// expectAlive checks that c still gets echoes and that nothing is queued
// before them, without requiring the queue to be empty now (expectSilence
// does): for sockets that got a datagram the client drops.
func expectAlive(tb testing.TB, c *connector.Conn, ids moduleIDs) {
	tb.Helper()
	probe := connector.Message{ID: ids.echo, Seq: 0x0A11_7E57, Ack: 7, Data: []byte("still there?")}
	send(tb, c, probe)
	got := mustReceive(tb, c, 1)[0].Message
	if diff := diffMessage(echoOf(probe), got); diff != "" {
		tb.Fatalf("the next message after the silence is not the probe's echo (-want +got):\n%s", diff)
	}
}

// echoOf is what cn_echo sends back for m: the same message with ack + 1.
// The ack arithmetic wraps like the module's u32.
func echoOf(m connector.Message) connector.Message {
	m.Ack++
	return m
}

// pattern returns n bytes that differ at every offset modulo 251, a prime,
// so a shifted, truncated or reordered copy never matches.
func pattern(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) ^ salt
	}
	return b
}

// rawRequest encodes m into one datagram by hand, with the offsets of
// docs/connector.md §1.1 and no padding, so that a test can send what the client
// refuses (data longer than the kernel accepts) and choose the nlmsg_seq
// the client would set itself.
func rawRequest(nlSeq uint32, m connector.Message) []byte {
	b := make([]byte, nlmsgHeaderLen+cnMsgLen+len(m.Data))
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], 3) // NLMSG_DONE, as the client sends; the kernel ignores it
	ne.PutUint16(b[6:], 0)
	ne.PutUint32(b[8:], nlSeq)
	ne.PutUint32(b[12:], 0)
	ne.PutUint32(b[16:], m.ID.Idx)
	ne.PutUint32(b[20:], m.ID.Val)
	ne.PutUint32(b[24:], m.Seq)
	ne.PutUint32(b[28:], m.Ack)
	ne.PutUint16(b[32:], uint16(len(m.Data)))
	ne.PutUint16(b[34:], m.Flags)
	copy(b[36:], m.Data)
	return b
}

// groupMembers lists the connector sockets in /proc/net/netlink that are in
// group g, to explain a multicast test that found an unexpected listener.
func groupMembers(g uint32) string {
	f, err := os.ReadFile("/proc/net/netlink")
	if err != nil {
		return fmt.Sprintf("(cannot list netlink sockets: %v)", err)
	}
	var members []string
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		// sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode; Groups is
		// the first 32 group bits in hex.
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || fs[1] != strconv.Itoa(connector.Protocol) {
			continue
		}
		groups, err := strconv.ParseUint(fs[3], 16, 32)
		if err == nil && uint32(groups)&groupBit(g) != 0 {
			members = append(members, "portid "+fs[2])
		}
	}
	if len(members) == 0 {
		return "(no connector socket is in the group now)"
	}
	return "(in the group now: " + strings.Join(members, ", ") + ")"
}
