// SPDX-License-Identifier: MIT

package vmtests

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"golang.org/x/sys/unix"
)

// Fault injection (Documentation/fault-injection/fault-injection.rst):
// the allocations of one sending thread are made to fail, the n-th
// counted one through /proc/thread-self/fail-nth, so that nothing else in
// the guest is touched. The connector runs the callback inside the
// sender's sendmsg (vmtests/silence), so the reply's allocations are the
// sender thread's: cn_echo's kmemdup of the reply (GFP_KERNEL) and the
// connector's nlmsg_new in cn_netlink_send_mult (GFP_ATOMIC here,
// drivers/connector/connector.c).
//
// Only kernels built with CONFIG_FAULT_INJECTION and CONFIG_FAILSLAB
// (debian-src:6.12@coverage) have the files; Debian's kernels do not, and
// the tests skip there.
const (
	failNth     = "/proc/thread-self/fail-nth"
	failslabDir = "/sys/kernel/debug/failslab"
)

// requireFailslab skips on a kernel without fault injection, and sets
// failslab up for the test: no stack dump per injected failure (the
// harness would take it for a kernel report), and GFP_KERNEL allocations
// (which may sleep) counted too unless atomicOnly. The settings are put
// back when the test ends.
func requireFailslab(t *testing.T, atomicOnly bool) {
	t.Helper()
	requireGuest(t)
	if _, err := os.Stat(failNth); err != nil {
		t.Skipf("the kernel has no fault injection (%s: %v): it needs CONFIG_FAULT_INJECTION, as debian-src:6.12@coverage has", failNth, err)
	}
	if _, err := os.Stat(failslabDir); err != nil {
		// With fault injection built in, a missing failslab is the
		// kernel's only if debugfs is there to hold it; without debugfs
		// the guest is not set up, which must not pass as a skip.
		var fs unix.Statfs_t
		if serr := unix.Statfs("/sys/kernel/debug", &fs); serr != nil || fs.Type != unix.DEBUGFS_MAGIC {
			t.Fatalf("%s is missing and debugfs is not mounted at /sys/kernel/debug (statfs: %v, type %#x): the guest is not set up for fault injection", failslabDir, serr, fs.Type)
		}
		t.Skipf("the kernel has no failslab (%v): it needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS, as debian-src:6.12@coverage has", err)
	}
	ignoreWait := "N"
	if atomicOnly {
		ignoreWait = "Y"
	}
	setKnob(t, filepath.Join(failslabDir, "verbose"), "0")
	setKnob(t, filepath.Join(failslabDir, "ignore-gfp-wait"), ignoreWait)
}

// setKnob writes a fault-injection setting and restores it at cleanup.
func setKnob(t *testing.T, path, value string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		t.Fatalf("writing %s to %s: %v", value, path, err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, []byte(strings.TrimSpace(string(old))), 0); err != nil {
			t.Errorf("restoring %s: %v", path, err)
		}
	})
}

// failingOn runs op on a thread of its own whose n-th counted allocation
// fails, and says whether that failure was injected during op (fail-nth
// reads 0 then). The thread's fail-nth is cleared before it returns, so
// nothing after op fails. The file is opened before the failure is armed
// and read and written through that descriptor, which allocates nothing
// (kernel/fail_nth.c in 5.x, fs/proc/base.c proc_fail_nth_read and
// proc_fail_nth_write in 6.x): an open after op would be an allocation of
// its own.
func failingOn(n int, op func() error) (injected bool, opErr, err error) {
	type result struct {
		injected   bool
		opErr, err error
	}
	done := make(chan result, 1)
	go func() {
		// The thread stays locked and ends with the goroutine, its
		// fail-nth with it, whatever happens.
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		f, err := os.OpenFile(failNth, os.O_RDWR, 0)
		if err != nil {
			r.err = err
			return
		}
		defer f.Close()
		if _, r.err = f.WriteAt([]byte(strconv.Itoa(n)), 0); r.err != nil {
			return
		}
		r.opErr = op()
		buf := make([]byte, 32)
		k, err := f.ReadAt(buf, 0)
		if k == 0 {
			r.err = fmt.Errorf("reading %s: %v", failNth, err)
			return
		}
		left, err := strconv.Atoi(strings.TrimSpace(string(buf[:k])))
		if err != nil {
			r.err = fmt.Errorf("reading %s: %w", failNth, err)
			return
		}
		r.injected = left == 0
		_, r.err = f.WriteAt([]byte("0"), 0)
	}()
	r := <-done
	return r.injected, r.opErr, r.err
}

// sendFailing sends m with the sending thread's n-th counted allocation
// failing (failingOn).
func sendFailing(c *connector.Conn, m connector.Message, n int) (injected bool, sendErr, err error) {
	return failingOn(n, func() error { return c.Send(m) })
}

// failReply sends m with the sender's n-th allocation failing, for n = 1,
// 2…, until a failure makes cn_echo count a send error: the failures
// before it hit allocations of sendmsg itself (the send fails) or
// allocations whose failure changes nothing (the reply comes), and are
// passed over. It returns the n that worked. The reply must not come,
// which the suite's sentinel proves (expectSilence), and nothing may be
// left queued.
func failReply(t *testing.T, c *connector.Conn, ids moduleIDs, m connector.Message) int {
	t.Helper()
	const most = 32
	for n := 1; n <= most; n++ {
		before := readCounters(t)
		injected, sendErr, err := sendFailing(c, m, n)
		if err != nil {
			t.Fatal(err)
		}
		after := readCounters(t)
		if !injected {
			t.Fatalf("the send made fewer than %d failable allocations, and none made cn_echo count a send error (send error: %v)", n, sendErr)
		}
		if sendErr != nil {
			// The failure hit sendmsg's own allocation of the request.
			if after.Received != before.Received {
				t.Fatalf("the send failed (%v) and yet the callback ran", sendErr)
			}
			continue
		}
		if after.Received != before.Received+1 {
			t.Fatalf("received went from %d to %d for one request", before.Received, after.Received)
		}
		if after.SendErrors == before.SendErrors {
			// The failure changed nothing the module sees: the reply
			// must still be there.
			mustReceive(t, c, 1)
			continue
		}
		if after.SendErrors != before.SendErrors+1 || after.Replied != before.Replied {
			t.Fatalf("counters went from %+v to %+v, want one send error and no reply", before, after)
		}
		expectSilence(t, c, ids, fmt.Sprintf("the reply's allocation failed (allocation %d of the send)", n))
		return n
	}
	t.Fatalf("none of the first %d allocations of the send made cn_echo count a send error", most)
	return 0
}

// T43: the connector's own allocation of the reply fails
// (cn_netlink_send_mult's nlmsg_new, GFP_ATOMIC): cn_netlink_send returns
// -ENOMEM, cn_echo counts a send error, and no reply arrives. Only
// GFP_ATOMIC allocations are failed, so cn_echo's kmemdup (GFP_KERNEL)
// always succeeds and the failure is the connector's.
func TestFaultConnectorAllocFails(t *testing.T) {
	requireFailslab(t, true)
	ids := echoIDs(t)
	c := dial(t, nil)
	failReply(t, c, ids, connector.Message{ID: ids.echo, Seq: 40, Ack: 1, Data: []byte("no room")})

	// The connector recovers: the next echo comes back.
	send(t, c, connector.Message{ID: ids.echo, Seq: 41, Ack: 1, Data: []byte("room")})
	if got := mustReceive(t, c, 1)[0]; got.Message.Seq != 41 {
		t.Errorf("after the failure, got seq %d, want the echo of 41", got.Message.Seq)
	}
}

// T44: the module's own allocations fail, GFP_KERNEL ones counted too:
// cn_echo's copy of the reply (echo) and its credentials reply (creds).
// cn_echo counts a send error and sends nothing.
func TestFaultModuleAllocFails(t *testing.T) {
	requireFailslab(t, false)
	ids := echoIDs(t)
	for _, tt := range []struct {
		name string
		id   connector.ID
	}{
		{"echo", ids.echo},
		{"creds", ids.creds},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, nil)
			n := failReply(t, c, ids, connector.Message{ID: tt.id, Seq: 42, Ack: 1, Data: []byte("x")})
			t.Logf("allocation %d of the send failed the reply", n)
		})
	}
}

// T45: the fault tests rely on fail-nth being per thread: a failure armed on
// one thread never hits another's allocation.
func TestFaultNthIsPerThread(t *testing.T) {
	requireFailslab(t, true)
	ids := echoIDs(t)
	c := dial(t, nil)
	armed, release := make(chan error, 1), make(chan struct{})
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		f, err := os.OpenFile(failNth, os.O_RDWR, 0)
		if err == nil {
			defer f.Close()
			_, err = f.WriteAt([]byte("1"), 0)
		}
		armed <- err
		<-release // hold the armed thread while the echo runs elsewhere
	}()
	defer close(release)
	if err := <-armed; err != nil {
		t.Fatal(err)
	}
	before := readCounters(t)
	send(t, c, connector.Message{ID: ids.echo, Seq: 43, Ack: 1, Data: []byte("other thread")})
	mustReceive(t, c, 1)
	if after := readCounters(t); after.SendErrors != before.SendErrors {
		t.Errorf("send_errors went from %d to %d: a failure armed on another thread hit this one", before.SendErrors, after.SendErrors)
	}
}

// T48: cn_proc's allocation of a socket's state on its first LISTEN fails
// (cn_proc_mcast_ctl's kzalloc of sk_user_data, 6.6 and later): the
// request is acked with err ENOMEM and the socket does not count as a
// listener. Another listener keeps cn_proc sending acks.
func TestFaultProcListenAllocFails(t *testing.T) {
	requireFailslab(t, false)
	ids := echoIDs(t)
	b := expect(t)
	if !b.ProcFilter {
		t.Skip("this kernel's cn_proc keeps no state per socket (6.6 added it): nothing to allocate")
	}
	procCountGuard(t, ids, b)
	listenProc(t, nil)
	const most = 32
	for n := 1; n <= most; n++ {
		s := newProcSocket(t, ids, true)
		a := uint32(0x4800 + n)
		injected, sendErr, err := sendFailing(s.c, procOp(connector.ProcListen, a), n)
		if err != nil {
			t.Fatal(err)
		}
		if !injected {
			t.Fatalf("the LISTEN made fewer than %d failable allocations, and none failed its own (send error: %v)", n, sendErr)
		}
		if sendErr != nil {
			continue // sendmsg's own allocation of the request
		}
		ack, ok := ackOf(s.sync(t), a)
		if !ok {
			t.Fatalf("LISTEN with allocation %d failing: no ack", n)
		}
		if ackErr(ack) == 0 {
			// The failure was harmless and the socket listens now.
			s.request(t, connector.ProcIgnore, a+1)
			continue
		}
		if got := ackErr(ack); got != uint32(unix.ENOMEM) {
			t.Fatalf("LISTEN with allocation %d failing: ack err %d, want ENOMEM (%d)", n, got, unix.ENOMEM)
		}
		// Not a listener: a second LISTEN from it is its first.
		s.request(t, connector.ProcListen, a+2)
		if ack, ok := ackOf(s.sync(t), a+2); !ok || ackErr(ack) != 0 {
			t.Errorf("LISTEN again after the failure: ack %+v (found %v), want err 0", ack, ok)
		}
		s.request(t, connector.ProcIgnore, a+3)
		return
	}
	t.Fatalf("none of the first %d allocations of the LISTEN made cn_proc ack ENOMEM", most)
}

// kmsgTail reads the kernel log records written after it was made.
type kmsgTail struct{ fd int }

func newKmsgTail(t *testing.T) *kmsgTail {
	t.Helper()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening /dev/kmsg: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.Seek(fd, 0, io.SeekEnd); err != nil {
		t.Fatalf("seeking to the end of /dev/kmsg: %v", err)
	}
	return &kmsgTail{fd: fd}
}

// read returns the messages of the records since the last read.
func (k *kmsgTail) read(t *testing.T) []string {
	t.Helper()
	var msgs []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(k.fd, buf)
		switch {
		case err == unix.EAGAIN:
			return msgs
		case err == unix.EPIPE:
			continue // records were overwritten; the next read goes on
		case err != nil:
			t.Fatalf("reading /dev/kmsg: %v", err)
		}
		// "PRIO,SEQ,TIME,FLAGS;MESSAGE\n" then continuation lines.
		_, msg, _ := strings.Cut(string(buf[:n]), ";")
		msg, _, _ = strings.Cut(msg, "\n")
		msgs = append(msgs, msg)
	}
}

// loadFailing loads the module with the loading thread's n-th counted
// allocation failing (failingOn). The module is opened before.
func loadFailing(path, params string, n int) (injected bool, loadErr, err error) {
	mod, err := os.Open(path)
	if err != nil {
		return false, nil, err
	}
	defer mod.Close()
	return failingOn(n, func() error { return unix.FinitModule(int(mod.Fd()), params, 0) })
}

// T49: the module's load fails when the connector cannot allocate a
// callback's entry (cn_queue_alloc_callback_entry's kzalloc): the
// allocations of finit_module fail one after the other, n = 1, 2…, until
// the connector says "Failed to create new callback queue."; that load
// fails with ENOMEM, leaves no cn_echo id in /proc/net/connector, and the
// module loads normally afterwards.
func TestFaultModuleLoadAllocFails(t *testing.T) {
	requireFailslab(t, false)
	path, params := os.Getenv(guest.EnvModule), os.Getenv(guest.EnvModuleParams)
	unloadModule(t)
	kmsg := newKmsgTail(t)
	const most = 1000
	for n := 1; n <= most; n++ {
		injected, loadErr, err := loadFailing(path, params, n)
		if err != nil {
			t.Fatal(err)
		}
		msgs := kmsg.read(t)
		if loadErr == nil {
			if !injected {
				t.Fatalf("the load made fewer than %d failable allocations, and none was the connector's", n)
			}
			unloadModule(t) // a harmless failure: load again
			continue
		}
		if !slices.Contains(msgs, "Failed to create new callback queue.") {
			continue // an allocation of the module loader's own
		}
		if !errors.Is(loadErr, unix.ENOMEM) {
			t.Errorf("the load failed with %v, want ENOMEM", loadErr)
		}
		for _, l := range procNetConnector(t) {
			if strings.HasPrefix(l, "cn_echo") {
				t.Errorf("after the failed load, /proc/net/connector has %q", l)
			}
		}
		t.Logf("allocation %d of the load was the connector's", n)
		reloadModule(t)
		return
	}
	t.Fatalf("none of the first %d allocations of the load was the connector's", most)
}

// T50: cn_echo refuses bad parameters at load time: an idx that is odd
// or not above CN_NETLINK_USERS, a val whose ids would overflow (EINVAL,
// from the module's init), and a value for a read-only counter (EPERM,
// from the parameter's setter, before init).
func TestLoadRejectsBadParams(t *testing.T) {
	requireGuest(t)
	path := os.Getenv(guest.EnvModule)
	unloadModule(t)
	for _, tt := range []struct {
		params string
		want   error
	}{
		{"idx=13", unix.EINVAL},
		{"idx=4", unix.EINVAL},
		{"val=4294967295", unix.EINVAL},
		{"received=1", unix.EPERM},
	} {
		err := loadModule(path, tt.params)
		if !errors.Is(err, tt.want) {
			t.Errorf("loading with %s: %v, want %v", tt.params, err, tt.want)
		}
		if _, serr := os.Stat(moduleDir); serr == nil {
			t.Fatalf("loading with %s left cn_echo loaded", tt.params)
		}
	}
}
