// SPDX-License-Identifier: MIT

package vmtests

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// A kernelVersion is the major.minor of a kernel release. Patch levels do
// not matter here: every difference the suite knows came with a new
// minor version.
type kernelVersion struct{ major, minor int }

func (v kernelVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v kernelVersion) less(w kernelVersion) bool {
	return v.major < w.major || (v.major == w.major && v.minor < w.minor)
}

// parseKernelRelease reads the version from a `uname -r` string such as
// "6.1.0-57-amd64" or "6.12.117+deb12-amd64".
func parseKernelRelease(release string) (kernelVersion, error) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return kernelVersion{}, fmt.Errorf("kernel release %q: want major.minor", release)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return kernelVersion{}, fmt.Errorf("kernel release %q: major: %w", release, err)
	}
	// The minor ends where the digits do: "12-rc1", "1+deb".
	minorDigits := parts[1]
	if i := strings.IndexFunc(minorDigits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorDigits = minorDigits[:i]
	}
	minor, err := strconv.Atoi(minorDigits)
	if err != nil {
		return kernelVersion{}, fmt.Errorf("kernel release %q: minor: %w", release, err)
	}
	return kernelVersion{major, minor}, nil
}

var unameRelease = sync.OnceValues(func() (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(uts.Release[:]), nil
})

// runningKernel returns the version of the kernel the tests run on.
func runningKernel(tb testing.TB) (kernelVersion, string) {
	tb.Helper()
	release, err := unameRelease()
	if err != nil {
		tb.Fatal(err)
	}
	v, err := parseKernelRelease(release)
	if err != nil {
		tb.Fatal(err)
	}
	return v, release
}

// kernelBehaviour is what a test expects where kernels differ. Every field
// is a difference between the connector of 6.1 (≤ 6.5) and of 6.12
// (≥ 6.6), with the source that explains it; docs/connector.md §6 items 14, 15
// and 19 list the commits, §3 and §5.3 the observations.
type kernelBehaviour struct {
	// UnprivOddGroupBind: an unprivileged bind or NETLINK_ADD_MEMBERSHIP
	// to an odd connector group succeeds (T23).
	//   ≤ 6.5: cn_init (drivers/connector/connector.c) sets no
	//          NL_CFG_F_NONROOT_RECV, so netlink_bind and
	//          netlink_setsockopt (net/netlink/af_netlink.c) refuse every
	//          group with EPERM without CAP_NET_ADMIN.
	//   ≥ 6.6: bfdfdc2f3b70 "connector/cn_proc: Allow non-root users
	//          access" added NL_CFG_F_NONROOT_RECV and cn_bind(), which
	//          tests bit 0 of the group *number* (test_bit(CN_IDX_PROC - 1,
	//          &groups)): every odd group passes. Unfixed up to 7.3.
	UnprivOddGroupBind bool

	// ProcUnprivileged: an unprivileged process may join group 1 and
	// LISTEN to cn_proc, and the ack reports no error (T38).
	//   ≤ 6.5: cn_proc_mcast_ctl (drivers/connector/cn_proc.c) checks
	//          __netlink_ns_capable(nsp, &init_user_ns, CAP_NET_ADMIN)
	//          and acks EPERM; bind to group 1 fails as above.
	//   ≥ 6.6: bfdfdc2f3b70 removed the check; cn_bind lets anyone join
	//          group 1.
	ProcUnprivileged bool

	// ProcFilter: cn_proc understands the 8-byte struct proc_input
	// {op, event_type}, keeps it per socket and filters what the socket
	// gets; such a LISTEN with a filter other than PROC_EVENT_ALL is not
	// acked to the socket (T39).
	//   ≤ 6.5: cn_proc_mcast_ctl returns at once unless msg->len ==
	//          sizeof(enum proc_cn_mcast_op): no ack, no filter, no count.
	//   ≥ 6.6: 2aa1f7a1f47c "connector/cn_proc: Add filtering to fix some
	//          bugs": proc_input in sk_user_data, cn_filter() passed to
	//          cn_netlink_send_mult.
	ProcFilter bool

	// ProcIgnoreStopsSocket: after IGNORE a socket gets no more events
	// and not the IGNORE's ack, while other listeners continue (T40).
	//   ≤ 6.5: IGNORE only decrements the global
	//          proc_event_num_listeners; the socket stays in group 1 and
	//          gets everything while the count is positive.
	//   ≥ 6.6: cn_filter drops everything for a socket whose last op
	//          was IGNORE (2aa1f7a1f47c).
	ProcIgnoreStopsSocket bool

	// ProcCounterUnderflow: IGNORE from a socket that never listened
	// decrements the global count, so IGNORE, IGNORE, LISTEN from a
	// count of 0 leaves it at -1: no ack and no events for anyone (T41).
	//   ≤ 6.5: cn_proc_mcast_ctl does atomic_dec on every IGNORE, and
	//          cn_proc_ack and every proc_*_connector return while the
	//          count is below 1.
	//   ≥ 6.6: 2aa1f7a1f47c counts a socket only on its transitions
	//          (initial/prev_mc_op in cn_proc_mcast_ctl).
	ProcCounterUnderflow bool

	// ProcSkUserDataLeak: LISTEN from a socket that is not in group 1
	// allocates sk_user_data, which cn_release never frees (docs/connector.md
	// §6 item 19, unfixed).
	//   ≤ 6.5: no per-socket state, nothing to leak.
	//   ≥ 6.6: cn_proc_mcast_ctl kzallocs sk->sk_user_data for any
	//          sender; cn_release (connector.c, a4c9a56e6a2c and
	//          2aa1f7a1f47c) frees it only if bit 0 of the socket's
	//          groups is set.
	ProcSkUserDataLeak bool
}

// knownBug is a kernel bug the suite pins (docs/connector.md, Known kernel
// bugs): a test that observes it where kernelBehaviours expects it passes
// and says so, so that the run lists it; a kernel in its range that
// behaves correctly fails the test, naming the expectation to update.
type knownBug struct {
	id     string // as docs/connector.md names it
	field  string // the kernelBehaviour field that expects it
	source string // the kernel source that explains it
}

var (
	bugOddGroupBind = knownBug{"cn-bind-odd-group", "UnprivOddGroupBind",
		"drivers/connector/connector.c cn_bind tests bit 0 of the group number (test_bit(CN_IDX_PROC - 1, &groups)), bfdfdc2f3b70, 6.6 on"}
	bugProcUnderflow = knownBug{"cn-proc-underflow", "ProcCounterUnderflow",
		"drivers/connector/cn_proc.c cn_proc_mcast_ctl does atomic_dec on every IGNORE, up to 6.5; fixed by 2aa1f7a1f47c"}
	bugIgnoreGlobal = knownBug{"cn-proc-ignore-global", "ProcIgnoreStopsSocket",
		"drivers/connector/cn_proc.c: IGNORE only decrements the global count and send_msg has no per-socket filter, up to 6.5; fixed by 2aa1f7a1f47c"}
	bugSkUserDataLeak = knownBug{"cn-proc-skdata-leak", "ProcSkUserDataLeak",
		"drivers/connector/cn_proc.c cn_proc_mcast_ctl kzallocs sk_user_data for any sender; connector.c cn_release frees it only for members of group 1; 6.6 on, unfixed"}
)

// pin compares what a test saw of bug k with the running kernel's
// expectation and reports whether they agree.
func (k knownBug) pin(tb testing.TB, expected, present bool, seen string) bool {
	tb.Helper()
	_, release := runningKernel(tb)
	switch {
	case expected && present:
		tb.Logf("%s%s: %s", guest.KnownBugPrefix, k.id, seen)
	case expected && !present:
		tb.Errorf("known kernel bug %s seems fixed on this kernel (%s): %s; update kernelBehaviours.%s for %s (%s)",
			k.id, release, seen, k.field, release, k.source)
	case present:
		tb.Errorf("known kernel bug %s is present on %s, whose expectations say it is not: %s; check kernelBehaviours.%s (%s)",
			k.id, release, seen, k.field, k.source)
	}
	return expected == present
}

// kernelBehaviours maps version ranges, both ends included, to behaviour.
// A kernel outside every range fails the tests that ask: its behaviour has
// not been checked, so the suite must not guess.
var kernelBehaviours = []struct {
	from, to kernelVersion
	b        kernelBehaviour
}{
	{
		// 5.10 and 6.1 behave alike for all of these (docs/connector.md §3.1,
		// §5.3; the connector diff 5.10 → 6.1 is only const qualifiers).
		from: kernelVersion{5, 10}, to: kernelVersion{6, 5},
		b: kernelBehaviour{
			UnprivOddGroupBind:    false,
			ProcUnprivileged:      false,
			ProcFilter:            false,
			ProcIgnoreStopsSocket: false,
			ProcCounterUnderflow:  true,
			ProcSkUserDataLeak:    false,
		},
	},
	{
		from: kernelVersion{6, 6}, to: kernelVersion{7, 3},
		b: kernelBehaviour{
			UnprivOddGroupBind:    true,
			ProcUnprivileged:      true,
			ProcFilter:            true,
			ProcIgnoreStopsSocket: true,
			ProcCounterUnderflow:  false,
			ProcSkUserDataLeak:    true,
		},
	},
}

// behaviourOf returns the expectations for version v.
func behaviourOf(v kernelVersion) (kernelBehaviour, error) {
	for _, r := range kernelBehaviours {
		if !v.less(r.from) && !r.to.less(v) {
			return r.b, nil
		}
	}
	return kernelBehaviour{}, fmt.Errorf("no expectations for kernel %s: add a range to kernelBehaviours once its connector has been read", v)
}

// expect returns the expectations for the running kernel and logs which
// kernel they are for.
func expect(tb testing.TB) kernelBehaviour {
	tb.Helper()
	v, release := runningKernel(tb)
	b, err := behaviourOf(v)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("kernel %s (%s): expectations %+v", release, v, b)
	return b
}

func TestParseKernelRelease(t *testing.T) {
	tests := []struct {
		release string
		want    kernelVersion
		b       kernelBehaviour
	}{
		{release: "6.1.0-57-amd64", want: kernelVersion{6, 1}, b: kernelBehaviours[0].b},
		{release: "6.12.117+deb12-amd64", want: kernelVersion{6, 12}, b: kernelBehaviours[1].b},
		{release: "5.10.0-33-amd64", want: kernelVersion{5, 10}, b: kernelBehaviours[0].b},
		// PREEMPT_RT flavours share their version's row: RT changes when
		// tasks run, not what the connector does (docs/connector.md §5.6).
		{release: "6.1.0-57-rt-amd64", want: kernelVersion{6, 1}, b: kernelBehaviours[0].b},
		{release: "6.12.118+deb12-rt-amd64", want: kernelVersion{6, 12}, b: kernelBehaviours[1].b},
		{release: "6.5.0", want: kernelVersion{6, 5}, b: kernelBehaviours[0].b},
		{release: "6.6-rc1", want: kernelVersion{6, 6}, b: kernelBehaviours[1].b},
		{release: "7.3.4", want: kernelVersion{7, 3}, b: kernelBehaviours[1].b},
	}
	for _, tt := range tests {
		got, err := parseKernelRelease(tt.release)
		if err != nil {
			t.Errorf("parseKernelRelease(%q): %v", tt.release, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseKernelRelease(%q) = %v, want %v", tt.release, got, tt.want)
		}
		b, err := behaviourOf(got)
		if err != nil {
			t.Errorf("behaviourOf(%v): %v", got, err)
		} else if b != tt.b {
			t.Errorf("behaviourOf(%v) = %+v, want %+v", got, b, tt.b)
		}
	}
	for _, bad := range []string{"", "6", "x.1", "6.y"} {
		if v, err := parseKernelRelease(bad); err == nil {
			t.Errorf("parseKernelRelease(%q) = %v, want an error", bad, v)
		}
	}
	if _, err := behaviourOf(kernelVersion{4, 19}); err == nil {
		t.Errorf("behaviourOf(4.19) has expectations; no range covers it")
	}
}

// recordTB keeps what a check logs and reports instead of failing.
type recordTB struct {
	testing.TB
	logs, errs []string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestKnownBugPin checks the four cases of a pinned bug: present where
// expected is a pass the run lists; absent where expected says the bug
// seems fixed and names the expectation; present where not expected and
// absent where not expected.
func TestKnownBugPin(t *testing.T) {
	for _, tt := range []struct {
		expected, present bool
		ok                bool
		log, err          string
	}{
		{true, true, true, guest.KnownBugPrefix + "cn-proc-underflow: seen", ""},
		{true, false, false, "", "seems fixed on this kernel"},
		{false, true, false, "", "whose expectations say it is not"},
		{false, false, true, "", ""},
	} {
		r := &recordTB{TB: t}
		ok := bugProcUnderflow.pin(r, tt.expected, tt.present, "seen")
		if ok != tt.ok {
			t.Errorf("expected %v, present %v: pin = %v, want %v", tt.expected, tt.present, ok, tt.ok)
		}
		if got := strings.Join(r.logs, "\n"); tt.log != "" && got != tt.log || tt.log == "" && len(r.logs) > 0 {
			t.Errorf("expected %v, present %v: logged %q, want %q", tt.expected, tt.present, got, tt.log)
		}
		if got := strings.Join(r.errs, "\n"); tt.err != "" && !strings.Contains(got, tt.err) || tt.err == "" && len(r.errs) > 0 {
			t.Errorf("expected %v, present %v: reported %q, want %q in it", tt.expected, tt.present, got, tt.err)
		}
		if tt.err == "seems fixed on this kernel" && !strings.Contains(strings.Join(r.errs, ""), "kernelBehaviours.ProcCounterUnderflow") {
			t.Errorf("the fixed-bug message does not name the expectation to update: %q", r.errs)
		}
	}
}
