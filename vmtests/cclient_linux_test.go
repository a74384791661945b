// SPDX-License-Identifier: MIT

package vmtests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/google/go-cmp/cmp"
)

// The C client, testdata/cnclient.c, built static on the host and copied
// into the guest's /cnvm with `-file out/cnclient`:
//
//	gcc -static -O2 -o out/cnclient vmtests/testdata/cnclient.c
//
// For arm64 guests it is cross-built as out/cnclient-arm64
// (aarch64-linux-gnu-gcc), which a run of mixed architectures ships beside
// the host's: a guest takes the one named for its architecture first.
const (
	// envCClient=required makes a missing client a failure, for runs that
	// ship it; without it the test skips and says how to ship it.
	envCClient = "CNVMTEST_CNCLIENT"
)

// TestCClientAgrees runs T1 through the C client and through package
// connector and compares every field the C client prints with the
// package's view and with docs/connector.md §1.2.
func TestCClientAgrees(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	cClientPath := "/cnvm/cnclient-" + runtime.GOARCH
	if _, err := os.Stat(cClientPath); err != nil {
		cClientPath = "/cnvm/cnclient"
	}
	if _, err := os.Stat(cClientPath); err != nil {
		if os.Getenv(envCClient) == "required" {
			t.Fatalf("%s=required but the C client is missing: %v", envCClient, err)
		}
		t.Skipf("no C client (%v): build it with `gcc -static -O2 -o out/cnclient vmtests/testdata/cnclient.c` and pass `-file out/cnclient` (and `-env %s=required`)", err, envCClient)
	}

	ctx, cancel := context.WithTimeout(t.Context(), helperTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, cClientPath, fmt.Sprint(ids.echo.Idx), fmt.Sprint(ids.echo.Val))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cnclient: %v\n%s", err, stderr.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("cnclient printed %q", sc.Text())
		}
		got[k] = v
	}

	// The same request through package connector; the C client sends
	// nlmsg_seq 0xA5A5, which the kernel does not reflect.
	c := dial(t, nil)
	req := connector.Message{ID: ids.echo, Seq: 1234, Ack: 5678, Flags: 0xABCD, Data: []byte("hello")}
	send(t, c, req)
	r := mustReceive(t, c, 1)[0]
	fromPackage := map[string]string{
		"sent":        "41",
		"recv":        "44",
		"from_pid":    "0",
		"from_groups": fmt.Sprint(r.Groups),
		"nlmsg_len":   fmt.Sprint(r.Header.Length),
		"nlmsg_type":  fmt.Sprint(uint16(r.Header.Type)),
		"nlmsg_flags": fmt.Sprint(uint16(r.Header.Flags)),
		"nlmsg_seq":   fmt.Sprint(r.Header.Sequence),
		"nlmsg_pid":   fmt.Sprint(r.Header.PID),
		"idx":         fmt.Sprint(r.ID.Idx),
		"val":         fmt.Sprint(r.ID.Val),
		"seq":         fmt.Sprint(r.Seq),
		"ack":         fmt.Sprint(r.Ack),
		"len":         fmt.Sprint(len(r.Data)),
		"flags":       fmt.Sprint(r.Flags),
		"data":        string(r.Data),
	}
	if diff := cmp.Diff(fromPackage, got); diff != "" {
		t.Errorf("the C client disagrees with package connector (-package +C):\n%s", diff)
	}
	// And both with docs/connector.md: 41 bytes sent, 44 received, NLMSG_DONE,
	// nlmsg_seq = cn seq, ack + 1 from cn_echo.
	want := map[string]string{"nlmsg_len": "41", "nlmsg_type": "3", "nlmsg_seq": "1234", "ack": "5679", "flags": "43981", "from_groups": "0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("cnclient %s=%s, want %s", k, got[k], v)
		}
	}
}
