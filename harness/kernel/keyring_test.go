// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withoutKeyring makes the store's apt trust what a host without Debian's
// archive keyring has: no keyring, no trusted parts.
func withoutKeyring(t *testing.T) {
	t.Helper()
	saved := archiveTrust
	t.Cleanup(func() { archiveTrust = saved })
	empty := t.TempDir()
	archiveTrust.keyrings = []string{filepath.Join(empty, "debian-archive-keyring.gpg")}
	archiveTrust.trustedParts = empty
}

// checkUnverified checks the error a fetch without the keyring must give.
func checkUnverified(t *testing.T, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("the fetch worked without Debian's archive keyring")
	case !errors.Is(err, ErrArchiveUnverified) || errors.Is(err, ErrNotFound):
		t.Fatalf("error = %v, want ErrArchiveUnverified and not ErrNotFound", err)
	}
	for _, want := range []string{"cannot verify Debian's archive", "install debian-archive-keyring", "make deps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// keylessStderr is what apt-get update (apt 2.6) says on a host without
// Debian's keys, one warning and one error per suite.
func keylessStderr() string {
	var b strings.Builder
	for _, s := range suites {
		archive := "http://deb.debian.org/debian"
		if s.security {
			archive += "-security"
		}
		b.WriteString("W: GPG error: " + archive + " " + s.name + " InRelease: The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 6ED0E7B82643E131 NO_PUBKEY 78DBA3BC47EF2265\n")
		b.WriteString("E: The repository '" + archive + " " + s.name + " InRelease' is not signed.\n")
	}
	b.WriteString("N: Updating from such a repository can't be done securely, and is therefore disabled by default.\n")
	return b.String()
}

func TestKeylessUpdate(t *testing.T) {
	s := &Store{Dir: t.TempDir(), run: func(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
		if name != "apt-get" || args[0] != "update" {
			t.Errorf("ran %s %s after an update that verified nothing", name, args[0])
			return nil, nil, errors.New("unexpected")
		}
		stdout := "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\nErr:1 http://deb.debian.org/debian bookworm InRelease\n"
		return []byte(stdout), []byte(keylessStderr()), errors.New("apt-get update -q: exit status 100")
	}}
	_, err := s.Get(context.Background(), mustSpec(t, "debian:6.1"), testLog{t})
	checkUnverified(t, err)
	if _, err := os.Stat(filepath.Join(s.Dir, "apt", "updated")); err == nil {
		t.Error("an update that verified nothing marked the lists updated")
	}
	// Resolve and Versions fail the same way.
	_, err = s.Resolve(context.Background(), mustSpec(t, "debian:6.1"), nil)
	checkUnverified(t, err)
	_, err = s.Versions(context.Background(), mustSpec(t, "debian:6.1"), nil)
	checkUnverified(t, err)

	// One suite that cannot be verified is a warning, not this error.
	one := "E: The repository 'http://deb.debian.org/debian sid InRelease' is not signed.\n"
	if n := len(unverified([]byte(one))); n != 1 {
		t.Errorf("unverified(one suite) found %d suites", n)
	}
}

func TestKeylessSourcesList(t *testing.T) {
	withoutKeyring(t)
	if strings.Contains(sourcesList(), "signed-by") {
		t.Errorf("sources.list names a keyring that does not exist:\n%s", sourcesList())
	}
	a := &apt{dir: t.TempDir()}
	if opts := strings.Join(a.options(), " "); !strings.Contains(opts, "Dir::Etc::TrustedParts="+archiveTrust.trustedParts) {
		t.Errorf("apt's options do not point its trusted parts at %s: %s", archiveTrust.trustedParts, opts)
	}
}

// TestHostWithoutKeyring runs apt-get update against Debian's archive (or
// CNVMTEST_DEBIAN_MIRROR) as a host without the keyring would.
func TestHostWithoutKeyring(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("no apt-get")
	}
	withoutKeyring(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var log bytes.Buffer
	s := &Store{Dir: t.TempDir()}
	start := time.Now()
	_, err := s.Get(ctx, mustSpec(t, "debian:6.1"), &log)
	t.Logf("after %s:\n%s", time.Since(start).Round(time.Millisecond), &log)
	checkUnverified(t, err)
	if d := time.Since(start); d > time.Minute {
		t.Errorf("failing took %s, want under a minute", d)
	}
}
