// SPDX-License-Identifier: MIT

package connector_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"os/exec"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
)

// This example watches a child process start and exit. Joining cn_proc's
// group needs CAP_NET_ADMIN before Linux 6.6. It has no Output line: its
// events depend on the host's kernel and privileges, so go test only
// compiles it.
func ExampleListenProc() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	l, err := connector.ListenProc(ctx, nil)
	if err != nil {
		log.Fatalf("failed to listen for process events: %v", err)
	}
	defer l.Close() // sends IGNORE: the kernel keeps counting a closed listener

	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	_ = cmd.Run()
	pid := int32(cmd.Process.Pid)

	for {
		ev, err := l.Next(ctx)
		if err != nil {
			log.Fatalf("no exit event for %d: %v", pid, err)
		}
		// Every process's events arrive: pick the child's.
		switch d := ev.Data.(type) {
		case connector.ProcExec:
			if d.TGID == pid {
				log.Printf("%d: exec", pid)
			}
		case connector.ProcExit:
			if d.TGID == pid {
				log.Printf("%d: exit status %#x, signal %d", pid, d.ExitCode, d.ExitSignal)
				return
			}
		}
	}
}

// This example decodes the exit event the kernel sends for exit(3).
func ExampleParseProcEvent() {
	data := make([]byte, connector.ProcEventLen)
	binary.NativeEndian.PutUint32(data[0:], connector.ProcEventExit) // what
	binary.NativeEndian.PutUint64(data[8:], 1_500_000_000)           // timestamp_ns
	for i, v := range []uint32{4242, 4242, 0x300, 17, 1, 1} {
		binary.NativeEndian.PutUint32(data[16+4*i:], v) // event_data.exit
	}

	ev, err := connector.ParseProcEvent(connector.Message{ID: connector.ProcID, Data: data})
	if err != nil {
		log.Fatalf("failed to parse: %v", err)
	}
	exit := ev.Data.(connector.ProcExit)
	fmt.Printf("pid %d exited with status %d at %v after boot\n",
		exit.TGID, exit.ExitCode>>8, time.Duration(ev.Timestamp))
	// Output:
	// pid 4242 exited with status 3 at 1.5s after boot
}
