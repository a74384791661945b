// SPDX-License-Identifier: MIT

package vmtests

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"golang.org/x/sys/unix"
)

// Registration and unload rows, T30–T34. T32 and T33 unload cn_echo and
// load it again from the file and with the parameters the runner used
// (CNVMTEST_MODULE, CNVMTEST_MODULE_PARAMS), so later tests find it as
// before; only its counters start again from 0.

// registrations are the names cn_echo passes to cn_add_callback, by id.
func registrations(ids moduleIDs) []struct {
	name string
	id   connector.ID
} {
	return []struct {
		name string
		id   connector.ID
	}{
		{name: "cn_echo", id: ids.echo},
		{name: "cn_echo_mcast", id: ids.multicast},
		{name: "cn_echo_slow", id: ids.slow},
		{name: "cn_echo_mcast_excl", id: ids.multicastExcl},
		{name: "cn_echo_creds", id: ids.creds},
		{name: "cn_echo_block", id: ids.block},
	}
}

func procNetConnector(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile("/proc/net/connector")
	if err != nil {
		tb.Fatalf("reading the connector's registrations: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// T30: /proc/net/connector lists every id cn_echo registered, as
// cn_proc_show prints them: a fixed header, then "%-15s %u:%u" per
// callback, so names longer than 15 characters are not cut.
func TestProcNetConnector(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	lines := procNetConnector(t)
	if want := "Name            ID"; lines[0] != want {
		t.Errorf("header = %q, want %q", lines[0], want)
	}
	for _, r := range registrations(ids) {
		want := fmt.Sprintf("%-15s %d:%d", r.name, r.id.Idx, r.id.Val)
		if !slices.Contains(lines[1:], want) {
			t.Errorf("no line %q in /proc/net/connector:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	// cn_proc registers itself at boot (CONFIG_PROC_EVENTS=y in Debian).
	if !slices.Contains(lines[1:], fmt.Sprintf("%-15s 1:1", "cn_proc")) {
		t.Errorf("no cn_proc line in /proc/net/connector")
	}
}

// T31: registering an id twice fails with -EINVAL, not -EEXIST
// (cn_queue_add_callback). cn_echo tries it at load time and records the
// result.
func TestDuplicateRegistration(t *testing.T) {
	requireGuest(t)

	if got, want := readParam(t, "dup_add_ret"), -int64(unix.EINVAL); got != want {
		t.Errorf("second cn_add_callback for the same id returned %d, want %d (-EINVAL)", got, want)
	}
}

// moduleName is the name delete_module wants.
const moduleName = "cn_echo"

// unloadModule removes cn_echo and arranges for the test's end to load it
// again, whatever happens in between. It returns how long delete_module
// took: cn_echo's exit waits for running callbacks.
func unloadModule(tb testing.TB) time.Duration {
	tb.Helper()
	path, params := os.Getenv(guest.EnvModule), os.Getenv(guest.EnvModuleParams)
	if path == "" {
		tb.Fatalf("%s is not set: the runner must say which module file it loaded", guest.EnvModule)
	}
	tb.Cleanup(func() {
		if _, err := os.Stat(moduleDir); err == nil {
			return
		}
		if err := loadModule(path, params); err != nil {
			tb.Errorf("loading cn_echo again: %v", err)
		}
	})
	start := time.Now()
	if err := unix.DeleteModule(moduleName, unix.O_NONBLOCK); err != nil {
		tb.Fatalf("delete_module(%s): %v", moduleName, err)
	}
	return time.Since(start)
}

func loadModule(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), params, 0); err != nil {
		return fmt.Errorf("finit_module(%s, %q): %w", path, params, err)
	}
	return nil
}

// reloadModule loads cn_echo again after unloadModule.
func reloadModule(tb testing.TB) {
	tb.Helper()
	if err := loadModule(os.Getenv(guest.EnvModule), os.Getenv(guest.EnvModuleParams)); err != nil {
		tb.Fatalf("loading cn_echo again: %v", err)
	}
}

// requireWaitingUnload fails a test that unloads during a callback when
// cn_echo was loaded with nowait=1: that would oops the kernel, which only
// T34 may do.
func requireWaitingUnload(tb testing.TB) {
	tb.Helper()
	b, err := os.ReadFile(paramDir + "/nowait")
	if err != nil {
		tb.Fatalf("reading cn_echo's nowait: %v", err)
	}
	if strings.TrimSpace(string(b)) != "N" {
		tb.Fatalf("cn_echo was loaded with nowait=1, which is for T34 alone: run it with %s", t34Command)
	}
}

// T32: unloading with idle clients connected is safe: their sockets stay
// valid, sends to the gone ids succeed and are dropped, the ids leave
// /proc/net/connector, and after a new load the same socket is answered.
func TestUnloadWithIdleClients(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)
	expectAlive(t, c, ids)

	unloadModule(t)
	for _, l := range procNetConnector(t) {
		if strings.HasPrefix(l, "cn_echo") {
			t.Errorf("after unload, /proc/net/connector still has %q", l)
		}
	}
	send(t, c, connector.Message{ID: ids.echo, Seq: 32, Ack: 32, Data: []byte("anyone home?")})
	// Silent: nothing queued when the send returned (the connector drops
	// a message for an unknown id inside the send, as for T12), and after
	// the reload the sentinel's echo is the next message. The reload is
	// the sentinel's precondition: no id echoes while the module is out.
	if queuedNow(t, c) {
		t.Errorf("a send to the unloaded module's echo id queued a reply")
	}
	reloadModule(t)
	expectSilence(t, c, ids, "the module was gone when the echo id was sent to")
}

// slowRequest starts a send to the slow id, which the callback holds for
// slow_ms, and returns once the callback has said it runs. The send's
// result arrives on the channel when the callback returns.
func slowRequest(tb testing.TB, c *connector.Conn, ids moduleIDs, seq uint32) (connector.Message, <-chan error) {
	tb.Helper()
	req := connector.Message{ID: ids.slow, Seq: seq, Ack: 330, Flags: 0x33, Data: []byte("take your time")}
	sent := make(chan error, 1)
	go func() { sent <- c.Send(req) }()

	// The start notice: the request's header, ack unchanged, no data.
	notice := mustReceive(tb, c, 1)[0].Message
	want := connector.Message{ID: req.ID, Seq: req.Seq, Ack: req.Ack, Flags: req.Flags}
	if diff := diffMessage(want, notice); diff != "" {
		tb.Fatalf("unexpected start notice (-want +got):\n%s", diff)
	}
	return req, sent
}

// T33: unloading while a callback runs, with cn_echo's in-flight count
// and wait: delete_module returns only after the callback has sent its
// reply (so the reply is queued the moment delete_module returns), the
// client gets the reply, and the kernel does not oops.
func TestUnloadWaitsForCallback(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	requireWaitingUnload(t)
	slow := time.Duration(readParam(t, "slow_ms")) * time.Millisecond
	c := dial(t, nil)

	req, sent := slowRequest(t, c, ids, 33)
	// The reply must still be missing when the unload starts, or slow_ms
	// is too short for this guest to show the wait.
	if queuedNow(t, c) {
		t.Fatalf("the slow callback replied before the unload started: slow_ms=%v is too short to test the wait", slow)
	}
	took := unloadModule(t)
	queued := queuedNow(t, c)
	t.Logf("delete_module took %v during a %v callback", took, slow)
	if !queued {
		t.Errorf("when delete_module returned, the callback had not replied yet: the unload did not wait")
	}
	got := mustReceive(t, c, 1)[0].Message
	if diff := diffMessage(echoOf(req), got); diff != "" {
		t.Errorf("unexpected reply (-want +got):\n%s", diff)
	}
	select {
	case err := <-sent:
		if err != nil {
			t.Errorf("the slow send: %v", err)
		}
	case <-time.After(requestTimeout):
		t.Errorf("the slow send has not returned %v after its reply", requestTimeout)
	}

	reloadModule(t)
	expectAlive(t, c, ids)
}

// t34Died reports whether the kernel has oopsed: taint bit D, 1<<7
// (Documentation/admin-guide/tainted-kernels.rst).
func t34Died(t *testing.T) bool {
	t.Helper()
	v, err := guest.ReadTaint()
	if err != nil {
		t.Fatal(err)
	}
	return v&(1<<7) != 0
}

// t34Command runs T34 in a boot of its own.
const t34Command = "out/bin/cnvmtest run -run '^TestT34UnsafeUnloadOops$' -env CNVMTEST_T34=1 -params nowait=1"

// T34: the negative control of T33. With nowait=1 cn_echo's exit does not
// wait, delete_module returns while the callback sleeps, and the callback
// then returns into freed module text: the kernel oopses (page fault from
// cn_rx_skb) in the sender's sendmsg and kills the sending thread. The
// test says beforehand that it expects that oops (the known kernel bug
// cn-unload-oops, docs/connector.md), so the host lists the bug and the
// run passes; any other report still fails it. It breaks the guest's
// kernel, so it runs only when asked for, in a boot of its own; otherwise
// it skips and says how to run it.
//
// What the test itself can see: delete_module returns at once, no reply
// ever comes, and the send never returns.
func TestT34UnsafeUnloadOops(t *testing.T) {
	requireGuest(t)
	if os.Getenv("CNVMTEST_T34") != "1" {
		t.Skipf("T34 oopses the kernel on purpose; run it alone: %s (expect PASS with the known kernel bug cn-unload-oops listed: an oops in cn_rx_skb)", t34Command)
	}
	ids := echoIDs(t)
	if b, err := os.ReadFile(paramDir + "/nowait"); err != nil || strings.TrimSpace(string(b)) != "Y" {
		t.Fatalf("T34 needs cn_echo loaded with nowait=1 (nowait %q, %v): %s", b, err, t34Command)
	}
	slow := time.Duration(readParam(t, "slow_ms")) * time.Millisecond
	// Not closed: the poller's Close would wait for the send that the
	// oops never lets return.
	c, err := connector.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}

	_, sent := slowRequest(t, c, ids, 34)
	// The oops that follows is the known bug this test pins: its report
	// must show cn_rx_skb, which called the callback whose text is gone.
	t.Log(guest.KnownBugExpectPrefix + "cn-unload-oops: cn_rx_skb")
	start := time.Now()
	if err := unix.DeleteModule(moduleName, unix.O_NONBLOCK); err != nil {
		t.Fatalf("delete_module(%s): %v", moduleName, err)
	}
	took := time.Since(start)
	t.Logf("delete_module returned after %v during a %v callback; the callback returns into freed text next", took, slow)
	if took > slow/2 {
		t.Errorf("delete_module took %v: it waited for the callback, so nowait=1 did not take effect", took)
	}

	// The oops marks the kernel died (D); wait for that rather than for
	// the whole window, then give a reply a moment more.
	deadline := time.Now().Add(slow + requestTimeout)
	for !t34Died(t) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	wait := time.Second
	if !t34Died(t) {
		wait = max(time.Until(deadline), wait)
	}
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if got, err := receiveN(ctx, c, 1); err == nil {
		t.Fatalf("got a reply %+v: the callback survived its module", got[0].Message)
	}
	select {
	case err := <-sent:
		t.Fatalf("the send returned (%v): the callback survived its module", err)
	default:
	}
	if !t34Died(t) {
		t.Errorf("no reply and no return from sendmsg, but the kernel is not tainted D: no oops?")
	}
	t.Logf("no reply and no return from sendmsg %v after the unload, kernel tainted D: the kernel oopsed in the sending thread", time.Since(start).Round(time.Millisecond))
	// The unload took the ids off the connector's list before the oops
	// (drivers/connector/cn_queue.c cn_queue_del_callback), so the module
	// loads again; the runner's final unload then finds it, with no
	// callback in flight.
	reloadModule(t)
}
