// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cnvmtest/cnvmtest/internal/fsutil"
	"github.com/cnvmtest/cnvmtest/internal/gitcmd"
)

// treeRevision identifies what a source tree holds, for the key of the
// kernel built from it, so that a tree that changes (a bisection stepping
// through commits) builds a new kernel each time and an unchanged one
// never rebuilds:
//
//	git-0123456789ab                a git checkout at that commit, clean
//	git-0123456789ab-dirty-89abcd…  with local changes: a hash of them
//	tree-0123456789abcdef           no git: every file's name, size and time
func treeRevision(ctx context.Context, dir string) (string, error) {
	if _, err := exec.LookPath("git"); err == nil {
		head, err := gitcmd.Output(ctx, dir, "rev-parse", "--verify", "HEAD")
		if err == nil {
			return gitRevision(ctx, dir, strings.TrimSpace(string(head)))
		}
	}
	return treeFingerprint(dir)
}

func gitRevision(ctx context.Context, dir, head string) (string, error) {
	rev := "git-" + head[:min(12, len(head))]
	// Only the tree under dir counts, should it sit inside a bigger repository.
	status, err := gitcmd.Output(ctx, dir, "status", "--porcelain", "-z", "--", ".")
	if err != nil {
		return "", err
	}
	if len(status) == 0 {
		return rev, nil
	}
	h := sha256.New()
	diff, err := gitcmd.Output(ctx, dir, "diff", "--binary", "HEAD", "--", ".")
	if err != nil {
		return "", err
	}
	h.Write(diff)
	untracked, err := gitcmd.Output(ctx, dir, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
	if err != nil {
		return "", err
	}
	for _, name := range strings.Split(string(untracked), "\x00") {
		if name == "" {
			continue
		}
		fmt.Fprintf(h, "\x00%s\x00", name)
		if err := hashFile(h, filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return rev + "-dirty-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func hashFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// treeFingerprint hashes the name, size and modification time of every
// file under dir: reading 1.5 GB of source on every run would cost more
// than the guest does.
func treeFingerprint(dir string) (string, error) {
	h := sha256.New()
	if _, err := fsutil.Fingerprint(h, dir, nil, 0); err != nil {
		return "", fmt.Errorf("fingerprinting %s: %w", dir, err)
	}
	return "tree-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}
