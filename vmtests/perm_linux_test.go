// SPDX-License-Identifier: MIT

package vmtests

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// Permission rows, T21–T24. Each runs a helper as nobody (uid and gid
// 65534, no capabilities) that reports what the kernel let it do; the
// kernel versions differ only in T23 (kernelBehaviour.UnprivOddGroupBind).

// senderCreds is cn_echo's struct cn_echo_creds: what the connector told
// the callback about the sender, with ids mapped into the initial
// namespaces.
type senderCreds struct {
	PID    uint32 // nsp->creds.pid, in the sender's pid namespace
	UID    uint32
	GID    uint32
	PortID uint32
	TGID   uint32 // the task that ran the callback, in the initial pid namespace
}

func parseCreds(m connector.Message) (senderCreds, error) {
	if len(m.Data) != 20 {
		return senderCreds{}, fmt.Errorf("creds reply with %d data bytes, want 20", len(m.Data))
	}
	u := func(i int) uint32 { return binary.NativeEndian.Uint32(m.Data[4*i:]) }
	return senderCreds{PID: u(0), UID: u(1), GID: u(2), PortID: u(3), TGID: u(4)}, nil
}

// echoArgs and echoResult are helperEcho's input and output.
type echoArgs struct {
	Echo, Creds connector.ID
	Seq         uint32
}

type echoResult struct {
	PID, UID int // as the helper sees itself, in its namespaces

	Echo, Creds requestOutcome

	// ProcNetConnector is the error of stat("/proc/net/connector"), ""
	// if the file is there.
	ProcNetConnector string
}

type requestOutcome struct {
	Errno syscall.Errno // of the failed send or receive, 0 if none
	Err   string
	Reply *connector.Message
}

func (a echoArgs) requests() (echo, creds connector.Message) {
	echo = connector.Message{ID: a.Echo, Seq: a.Seq, Ack: 21, Flags: 0x2121, Data: []byte("from a helper")}
	creds = connector.Message{ID: a.Creds, Seq: a.Seq + 1, Ack: 29}
	return echo, creds
}

// helperEcho sends one echo and one credentials request and reports the
// replies.
func helperEcho(ctx context.Context, raw json.RawMessage) (any, error) {
	var a echoArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	c, err := connector.Dial(nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()

	res := echoResult{PID: os.Getpid(), UID: os.Getuid()}
	echo, creds := a.requests()
	res.Echo = request(ctx, c, echo)
	res.Creds = request(ctx, c, creds)
	if _, err := os.Stat("/proc/net/connector"); err != nil {
		res.ProcNetConnector = err.Error()
	}
	return res, nil
}

func request(ctx context.Context, c *connector.Conn, m connector.Message) requestOutcome {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	reply, err := c.Request(ctx, m)
	if err != nil {
		var o requestOutcome
		o.Err = err.Error()
		errors.As(err, &o.Errno)
		return o
	}
	return requestOutcome{Reply: &reply}
}

// checkEchoed checks that a helper got the echo and that the connector saw
// it as uid and gid id, with pid and tgid as the kernel numbers it.
func checkEchoed(t *testing.T, a echoArgs, res echoResult, wantCreds senderCreds) {
	t.Helper()
	echo, creds := a.requests()
	if res.Echo.Reply == nil {
		t.Errorf("no echo: %s", res.Echo.Err)
	} else if diff := diffMessage(echoOf(echo), *res.Echo.Reply); diff != "" {
		t.Errorf("unexpected echo (-want +got):\n%s", diff)
	}
	if res.Creds.Reply == nil {
		t.Fatalf("no credentials reply: %s", res.Creds.Err)
	}
	if got := res.Creds.Reply; got.Seq != creds.Seq || got.Ack != creds.Ack+1 {
		t.Errorf("credentials reply seq %d ack %d, want %d and %d", got.Seq, got.Ack, creds.Seq, creds.Ack+1)
	}
	got, err := parseCreds(*res.Creds.Reply)
	if err != nil {
		t.Fatal(err)
	}
	// The port is the helper's own, which only the kernel numbered.
	wantCreds.PortID = got.PortID
	if diff := cmp.Diff(wantCreds, got); diff != "" {
		t.Errorf("what the callback saw of the sender (-want +got):\n%s", diff)
	}
}

// T21: an unprivileged client gets its echo: the connector checks nothing
// for a unicast to the kernel (docs/connector.md §3.1), and the callback sees
// the sender's real uid.
func TestUnprivilegedEcho(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	a := echoArgs{Echo: ids.echo, Creds: ids.creds, Seq: 0x2100}
	var res echoResult
	pid := runHelperProcess(t, "echo", a, unprivileged(), &res)
	if res.UID != 65534 {
		t.Fatalf("helper ran as uid %d, want 65534", res.UID)
	}
	checkEchoed(t, a, res, senderCreds{PID: uint32(pid), UID: 65534, GID: 65534, TGID: uint32(pid)})
}

// bindArgs and bindResult are helperBind's input and output: for each
// group, bind() with its bit and NETLINK_ADD_MEMBERSHIP; for each mask,
// bind() with the mask.
type bindArgs struct {
	Groups []uint32
	Masks  []uint32
}

type bindResult struct {
	UID    int
	Groups []groupOutcome
	Masks  []maskOutcome
}

type groupOutcome struct {
	Group      uint32
	Bind, Join syscall.Errno
}

type maskOutcome struct {
	Mask uint32
	Bind syscall.Errno
}

func helperBind(_ context.Context, raw json.RawMessage) (any, error) {
	var a bindArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	res := bindResult{UID: os.Getuid()}
	for _, g := range a.Groups {
		bind, err := rawBind(1 << (g - 1))
		if err != nil {
			return nil, err
		}
		join, err := rawJoin(g)
		if err != nil {
			return nil, err
		}
		res.Groups = append(res.Groups, groupOutcome{Group: g, Bind: bind, Join: join})
	}
	for _, m := range a.Masks {
		bind, err := rawBind(m)
		if err != nil {
			return nil, err
		}
		res.Masks = append(res.Masks, maskOutcome{Mask: m, Bind: bind})
	}
	return res, nil
}

// rawBind binds a fresh connector socket with nl_groups = mask and returns
// bind's errno. err is for failures before the bind.
func rawBind(mask uint32) (syscall.Errno, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, connector.Protocol)
	if err != nil {
		return 0, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	return errnoOf(unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: mask})), nil
}

// rawJoin binds a fresh socket to no group, then joins group g with
// NETLINK_ADD_MEMBERSHIP and returns setsockopt's errno.
func rawJoin(g uint32) (syscall.Errno, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, connector.Protocol)
	if err != nil {
		return 0, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("bind: %w", err)
	}
	return errnoOf(unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(g))), nil
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if err == nil || !errors.As(err, &e) {
		return 0
	}
	return e
}

// groupsToTry are the groups docs/connector.md §3.1 tried unprivileged, odd and
// even, plus the module's own.
func groupsToTry(ids moduleIDs) []uint32 {
	gs := []uint32{1, 2, 3, 4, 5, 7, 9, 16, 17, 31, 32}
	for _, g := range gs {
		if g == ids.group {
			return gs
		}
	}
	return append(gs, ids.group)
}

// wantBind is the errno an unprivileged bind to group g gets: even groups
// are always refused; odd ones pass on kernels with the cn_bind quirk.
func wantBind(b kernelBehaviour, g uint32) syscall.Errno {
	if g%2 == 1 && b.UnprivOddGroupBind {
		return 0
	}
	return unix.EPERM
}

// wantMaskBind: netlink_bind calls cn_bind for each bit and undoes all on
// the first refusal, so one even group spoils the mask.
func wantMaskBind(b kernelBehaviour, mask uint32) syscall.Errno {
	for g := uint32(1); g <= 32; g++ {
		if mask&(1<<(g-1)) != 0 && wantBind(b, g) != 0 {
			return unix.EPERM
		}
	}
	return 0
}

// checkBinds compares a bind helper's result with the expectations.
func checkBinds(t *testing.T, b kernelBehaviour, res bindResult) {
	t.Helper()
	for _, o := range res.Groups {
		want := wantBind(b, o.Group)
		if o.Bind != want || o.Join != want {
			t.Errorf("group %d: bind %v, NETLINK_ADD_MEMBERSHIP %v; want %v for both", o.Group, errName(o.Bind), errName(o.Join), errName(want))
		}
	}
	for _, o := range res.Masks {
		if want := wantMaskBind(b, o.Mask); o.Bind != want {
			t.Errorf("bind with nl_groups %#x: %v, want %v", o.Mask, errName(o.Bind), errName(want))
		}
	}
}

func errName(e syscall.Errno) string {
	if e == 0 {
		return "OK"
	}
	return unix.ErrnoName(e)
}

// T22 (the module's even group: EPERM everywhere) and T23 (odd groups:
// EPERM before 6.6, allowed from 6.6 by the cn_bind quirk), for bind()
// and NETLINK_ADD_MEMBERSHIP, plus masks of several groups.
func TestUnprivilegedBind(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)

	a := bindArgs{Groups: groupsToTry(ids), Masks: []uint32{0x3, 0x5, 0xffffffff}}
	var res bindResult
	runHelperProcess(t, "bind", a, unprivileged(), &res)
	if res.UID != 65534 {
		t.Fatalf("helper ran as uid %d, want 65534", res.UID)
	}
	t.Logf("unprivileged: %+v", res)
	if ids.group%2 != 0 {
		t.Fatalf("cn_echo idx %d is odd; T22 needs an even group", ids.group)
	}
	checkBinds(t, b, res)
	for _, o := range res.Groups {
		if o.Group != 1 && o.Group%2 == 1 {
			bugOddGroupBind.pin(t, b.UnprivOddGroupBind, o.Bind == 0,
				fmt.Sprintf("an unprivileged bind to odd group %d: %v", o.Group, errName(o.Bind)))
			break
		}
	}

	// Root, as the control: every group is allowed.
	var root bindResult
	runHelperProcess(t, "bind", a, nil, &root)
	for _, o := range root.Groups {
		if o.Bind != 0 || o.Join != 0 {
			t.Errorf("root, group %d: bind %v, join %v; want both OK", o.Group, errName(o.Bind), errName(o.Join))
		}
	}
}

// sendtoArgs and sendtoResult are helperSendto's input and output.
type sendtoArgs struct {
	Echo  connector.ID
	Port  uint32 // another socket's port
	Group uint32
}

type sendtoResult struct {
	UID                       int
	ToKernel, ToPort, ToGroup syscall.Errno
}

// helperSendto sends an echo request to the kernel, to another port and to
// a multicast group, from one socket.
func helperSendto(_ context.Context, raw json.RawMessage) (any, error) {
	var a sendtoArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, connector.Protocol)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	b := rawRequest(24, connector.Message{ID: a.Echo, Seq: 24, Data: []byte("T24")})
	to := func(sa *unix.SockaddrNetlink) syscall.Errno {
		sa.Family = unix.AF_NETLINK
		return errnoOf(unix.Sendto(fd, b, 0, sa))
	}
	return sendtoResult{
		UID:      os.Getuid(),
		ToKernel: to(&unix.SockaddrNetlink{}),
		ToPort:   to(&unix.SockaddrNetlink{Pid: a.Port}),
		ToGroup:  to(&unix.SockaddrNetlink{Groups: groupBit(a.Group)}),
	}, nil
}

// T24: without CAP_NET_ADMIN a process may send only to the kernel: a
// destination port or group is EPERM (no NL_CFG_F_NONROOT_SEND on any
// version). Root, the control, can reach another socket, whose Conn drops
// the datagram for not coming from port 0.
func TestUnprivilegedSendto(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	target := dial(t, nil)
	a := sendtoArgs{Echo: ids.echo, Port: target.PortID(), Group: ids.group}

	t.Run("nobody", func(t *testing.T) {
		var res sendtoResult
		runHelperProcess(t, "sendto", a, unprivileged(), &res)
		if res.UID != 65534 {
			t.Fatalf("helper ran as uid %d, want 65534", res.UID)
		}
		want := sendtoResult{UID: 65534, ToKernel: 0, ToPort: unix.EPERM, ToGroup: unix.EPERM}
		if res != want {
			t.Errorf("sendto results %+v, want %+v", res, want)
		}
		// The helper's sends have returned, so anything they delivered
		// is queued on the target by now.
		expectSilence(t, target, ids, "nobody's sendto to the target's port and group was refused")
		if n := target.Stats().NotFromKernel; n != 0 {
			t.Errorf("the target got %d datagram(s) from a user port", n)
		}
	})
	t.Run("root", func(t *testing.T) {
		var res sendtoResult
		runHelperProcess(t, "sendto", a, nil, &res)
		if res.ToKernel != 0 || res.ToPort != 0 || res.ToGroup != 0 {
			t.Errorf("root sendto results %+v, want all OK", res)
		}
		before := target.Stats().NotFromKernel
		expectAlive(t, target, ids)
		if n := target.Stats().NotFromKernel - before; n != 1 {
			t.Errorf("the target dropped %d datagram(s) from a user port, want 1 (root's)", n)
		}
	})
}
