// SPDX-License-Identifier: MIT

package vm

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// envParent makes this test binary the parent of TestDieWithParent: it
// starts a long sleep the way Run starts QEMU, prints its PID and waits
// to be killed.
const envParent = "CNVMTEST_VM_TEST_PARENT"

func TestDieWithParent(t *testing.T) {
	if os.Getenv(envParent) == "1" {
		argv := strings.Fields(dieWithParent("sleep 300"))
		cmd := exec.Command(argv[0], argv[1:]...)
		if err := cmd.Start(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Hour) // until killed; select {} would be a deadlock to Go
	}
	if _, err := exec.LookPath(setpriv); err != nil {
		t.Skip("no setpriv: QEMU would outlive a killed harness")
	}
	parent := exec.Command(os.Args[0], "-test.run=^TestDieWithParent$")
	parent.Env = append(os.Environ(), envParent+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		parent.Process.Kill()
		parent.Wait()
		t.Fatalf("the parent said %q (%v)", line, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	// setpriv sets the signal and then execs: once the child is sleep,
	// the signal is set. (Killed before that, the parent would leave an
	// orphan: a window of a millisecond at QEMU's start.)
	for deadline := time.Now().Add(10 * time.Second); comm(pid) != "sleep"; {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d is %q 10 s after it started, not sleep", pid, comm(pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	parent.Process.Kill() // SIGKILL: no chance to stop the child itself
	parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); running(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d still runs 10 s after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// comm is the name of process pid, "" when there is none.
func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// running reports whether process pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func TestWithoutParentDeath(t *testing.T) {
	qemu := []string{"/usr/bin/qemu-system-x86_64", "-m", "512"}
	if got := withoutParentDeath(append([]string{"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"}, qemu...)); !cmp.Equal(got, qemu) {
		t.Errorf("without the prefix: %q, want %q", got, qemu)
	}
	if got := withoutParentDeath(qemu); !cmp.Equal(got, qemu) {
		t.Errorf("a command line without the prefix became %q", got)
	}
}
