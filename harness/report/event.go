// SPDX-License-Identifier: MIT

package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Event is one test2json event, as printed by go test -json and
// go tool test2json. The field names and their JSON encoding are those of
// cmd/test2json, so a stream decoded into Events and encoded again is
// byte-for-byte the stream that was read.
type Event struct {
	Time    time.Time `json:"Time,omitzero"`
	Action  string    `json:"Action"`
	Package string    `json:"Package,omitempty"`
	Test    string    `json:"Test,omitempty"`
	// Elapsed is in seconds; test2json sets it on pass, fail and skip events.
	Elapsed float64 `json:"Elapsed,omitempty"`
	Output  string  `json:"Output,omitempty"`

	// FailedBuild, Key, Value and Path are set by newer Go versions on
	// build failures, t.Attr and t.ArtifactDir events; they are carried
	// through unchanged and otherwise ignored.
	FailedBuild string `json:"FailedBuild,omitempty"`
	Key         string `json:"Key,omitempty"`
	Value       string `json:"Value,omitempty"`
	Path        string `json:"Path,omitempty"`
}

// The test2json actions the recorder acts on.
const (
	actionStart  = "start"
	actionRun    = "run"
	actionPause  = "pause"
	actionCont   = "cont"
	actionPass   = "pass"
	actionFail   = "fail"
	actionSkip   = "skip"
	actionOutput = "output"
)

// MarshalJSON encodes e as cmd/test2json does: Elapsed is present on
// pass, fail and skip events even when zero, Output on output events even
// when empty, and the time is omitted when zero.
func (e Event) MarshalJSON() ([]byte, error) {
	// wire mirrors cmd/test2json's event: pointers give it test2json's
	// choice of which fields are present.
	type wire struct {
		Time        *time.Time `json:",omitempty"`
		Action      string
		Package     string   `json:",omitempty"`
		Test        string   `json:",omitempty"`
		Elapsed     *float64 `json:",omitempty"`
		Output      *string  `json:",omitempty"`
		FailedBuild string   `json:",omitempty"`
		Key         string   `json:",omitempty"`
		Value       string   `json:",omitempty"`
		Path        string   `json:",omitempty"`
	}
	w := wire{
		Action:      e.Action,
		Package:     e.Package,
		Test:        e.Test,
		FailedBuild: e.FailedBuild,
		Key:         e.Key,
		Value:       e.Value,
		Path:        e.Path,
	}
	if !e.Time.IsZero() {
		w.Time = &e.Time
	}
	switch {
	case e.Action == actionPass || e.Action == actionFail || e.Action == actionSkip || e.Elapsed != 0:
		w.Elapsed = &e.Elapsed
	}
	if e.Action == actionOutput || e.Output != "" {
		w.Output = &e.Output
	}
	return json.Marshal(w)
}

// Decode reads a stream of JSON events, one a line, and calls fn for each.
// Blank lines are skipped. A line that is not a JSON object (a stray
// message from the guest, say) is passed to fn as an output event of
// the run, so nothing the guest printed is lost. Decode stops at the
// first error from r or fn.
func Decode(r io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Event
		if line[0] != '{' || json.Unmarshal(line, &e) != nil || e.Action == "" {
			e = Event{Action: actionOutput, Output: string(line) + "\n"}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading test events: %w", err)
	}
	return nil
}
