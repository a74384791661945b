// SPDX-License-Identifier: MIT

package vmtests

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Namespace rows T28 and T29. The helpers run in namespaces the kernel
// creates for them (clone flags on the re-exec), not in emulated ones.
// Debian's 6.1 and 6.12 kernels have CONFIG_USER_NS, CONFIG_NET_NS and
// CONFIG_PID_NS; a kernel without them fails these tests at the clone.

// T28: the connector's kernel socket exists only in the initial network
// namespace, so from a new one a send to port 0 is refused
// (netlink_unicast finds no port 0 there) and /proc/net/connector, which
// cn_init creates under init_net only, is missing.
func TestNewNetNamespace(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	a := echoArgs{Echo: ids.echo, Creds: ids.creds, Seq: 0x2800}
	var res echoResult
	runHelperProcess(t, "echo", a, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}, &res)

	for name, o := range map[string]requestOutcome{"echo": res.Echo, "credentials": res.Creds} {
		if o.Errno != unix.ECONNREFUSED {
			t.Errorf("%s request from a new netns: errno %v (%s), reply %+v; want ECONNREFUSED", name, errName(o.Errno), o.Err, o.Reply)
		}
	}
	if !strings.Contains(res.ProcNetConnector, "no such file") {
		t.Errorf("stat /proc/net/connector in a new netns: %q, want no such file", res.ProcNetConnector)
	}
	if _, err := os.Stat("/proc/net/connector"); err != nil {
		t.Errorf("stat /proc/net/connector in the initial netns: %v", err)
	}
}

// T29: a client in a new user namespace, still in the initial network
// namespace, gets its echo; the callback sees the kernel's view of the
// sender: uid 65534, the id the namespace's root maps to. Group rights are
// judged against the network namespace's owner, the initial user
// namespace, so the namespace's root binds like nobody (docs/connector.md
// §3.3).
func TestNewUserNamespace(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)

	a := echoArgs{Echo: ids.echo, Creds: ids.creds, Seq: 0x2900}
	var res echoResult
	pid := runHelperProcess(t, "echo", a, inUserNS(0), &res)
	if res.UID != 0 {
		t.Errorf("helper is uid %d in its namespace, want 0", res.UID)
	}
	checkEchoed(t, a, res, senderCreds{PID: uint32(pid), UID: 65534, GID: 65534, TGID: uint32(pid)})

	var binds bindResult
	runHelperProcess(t, "bind", bindArgs{Groups: []uint32{1, 3, ids.group}}, inUserNS(0), &binds)
	t.Logf("user namespace root: %+v", binds)
	checkBinds(t, b, binds)
}
