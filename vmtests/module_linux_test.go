package vmtests

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// T30: /proc/net/connector lists every id cn_echo registered, as
// cn_proc_show prints them: a fixed header, then "%-15s %u:%u" per
// callback, so names longer than 15 characters are not cut.
func TestProcNetConnector(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	b, err := os.ReadFile("/proc/net/connector")
	if err != nil {
		t.Fatalf("reading the connector's registrations: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if want := "Name            ID"; lines[0] != want {
		t.Errorf("header = %q, want %q", lines[0], want)
	}

	// The names are the ones kmod/cn_echo.c passes to cn_add_callback.
	for _, r := range []struct {
		name string
		id   uint32
	}{
		{name: "cn_echo", id: ids.echo.Val},
		{name: "cn_echo_mcast", id: ids.multicast.Val},
		{name: "cn_echo_slow", id: ids.slow.Val},
		{name: "cn_echo_mcast_excl", id: ids.multicastExcl.Val},
	} {
		want := fmt.Sprintf("%-15s %d:%d", r.name, ids.group, r.id)
		if !slices.Contains(lines[1:], want) {
			t.Errorf("no line %q in /proc/net/connector:\n%s", want, b)
		}
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
