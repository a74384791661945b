// SPDX-License-Identifier: MIT

package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// coverage writes the Go coverage files the runner brought back: under
// go test -exec into go test's own directory on the host (the path the
// test binary was given), else into the run directory's cover/, from
// which it writes CoverProfile.
func (r *run) coverage(s *stream) error {
	files := s.all(guest.EvFile)
	var dir, profile string
	switch {
	case len(r.o.Exec) > 0:
		if dir, profile = coverFiles(r.o.Exec[1:]); dir == "" {
			return nil
		}
	case r.o.Cover:
		dir = filepath.Join(r.res.RunDir, "cover")
	default:
		return nil
	}
	if len(files) == 0 {
		return fmt.Errorf("the guest sent no coverage data (did the test binary run to its end?)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		// Only where the run said coverage goes: the counters by name
		// into dir, and go test's profile at its own path.
		to := filepath.Join(dir, filepath.Base(f.Name))
		if profile != "" && f.Name == profile {
			to = profile
		} else if filepath.Dir(f.Name) != guestCoverDir && (len(r.o.Exec) == 0 || filepath.Dir(f.Name) != dir) {
			return fmt.Errorf("the guest sent %s, which is not coverage data", f.Name)
		}
		if err := os.WriteFile(to, f.Data, 0o644); err != nil {
			return err
		}
	}
	if len(r.o.Exec) > 0 {
		return nil
	}
	// The test binary printed the percentage itself, as under go test.
	if r.o.CoverProfile != "" {
		if _, err := covdata("textfmt", "-i="+dir, "-o="+r.o.CoverProfile); err != nil {
			return err
		}
		fmt.Fprintf(r.progress, "cnvmtest: coverage profile %s (go tool cover -html=%s)\n", r.o.CoverProfile, r.o.CoverProfile)
	}
	return nil
}

// covdata runs go tool covdata, which turns the counters into a profile.
func covdata(args ...string) ([]byte, error) {
	cmd := exec.CommandContext(context.Background(), "go", append([]string{"tool", "covdata"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go tool covdata %s: %v: %s", args[0], err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.Bytes(), nil
}
