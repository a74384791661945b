// SPDX-License-Identifier: MIT

package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// stream consumes the result port: control records from the runner, and
// either test2json output (converted live by `go tool test2json`) or, in
// exec mode, the program's raw output.
type stream struct {
	rec     *report.Recorder
	raw     io.Writer // exec mode: program output goes here
	verbose io.Writer // progress lines, nil unless -v

	mu      sync.Mutex
	records []guest.Record
	times   map[string]time.Time
	// binTimeout is the line in which the test binary said its own
	// -test.timeout fired.
	binTimeout string

	conv     *exec.Cmd
	convIn   io.WriteCloser
	convDone chan struct{}
}

// startConverter starts `go tool test2json`, which turns the test binary's
// -test.v=test2json stream into go test -json events, and feeds its events
// to the recorder as they come.
func (s *stream) startConverter(ctx context.Context, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "tool", "test2json", "-t", "-p", pkg)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting go tool test2json: %w", err)
	}
	s.conv, s.convIn, s.convDone = cmd, in, make(chan struct{})
	go func() {
		defer close(s.convDone)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var e report.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				continue
			}
			s.rec.Event(e)
		}
	}()
	return nil
}

// line handles one line from the result port.
func (s *stream) line(b []byte) {
	if r, ok := guest.Decode(b); ok {
		s.mu.Lock()
		s.records = append(s.records, r)
		if s.times == nil {
			s.times = map[string]time.Time{}
		}
		s.times[r.Event] = time.Now()
		s.mu.Unlock()
		if s.verbose != nil && r.Event != guest.EvTest {
			fmt.Fprintf(s.verbose, "cnvmtest: guest %s%s\n", r.Event, detail(r))
		}
		return
	}
	if bytes.HasPrefix(b, []byte("panic: test timed out after ")) {
		s.mu.Lock()
		s.binTimeout = strings.TrimSpace(string(b))
		s.mu.Unlock()
	}
	if s.convIn != nil {
		s.convIn.Write(b)
		return
	}
	if s.raw != nil {
		s.raw.Write(b)
	}
}

func detail(r guest.Record) string {
	switch {
	case r.Error != "":
		return ": " + r.Error
	case r.Event == guest.EvBoot:
		return ": kernel " + r.Kernel
	case r.Event == guest.EvExit:
		return fmt.Sprintf(": status %d after %s", r.Status, r.Elapsed.Round(time.Millisecond))
	}
	return ""
}

// close waits until every event has reached the recorder.
func (s *stream) close() {
	if s.convIn != nil {
		s.convIn.Close()
		<-s.convDone
		s.conv.Wait()
	}
}

// find returns the first record of an event.
func (s *stream) find(event string) (guest.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if r.Event == event {
			return r, true
		}
	}
	return guest.Record{}, false
}

// all returns every record of an event.
func (s *stream) all(event string) []guest.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []guest.Record
	for _, r := range s.records {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

func (s *stream) at(event string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times[event]
}
