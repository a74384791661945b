// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/internal/flock"
)

// suite is one part of Debian's archive searched for kernels.
type suite struct {
	name     string
	security bool // served from /debian-security
	// release is the Debian release the suite's packages are built for. It
	// dates packages whose names carry no +debNN tag, such as bookworm's
	// 6.1.0-NN and bullseye's 5.10.0-NN.
	release int
}

var suites = []suite{
	{"bullseye", false, 11},
	{"bullseye-security", true, 11},
	{"bookworm", false, 12},
	{"bookworm-updates", false, 12},
	{"bookworm-security", true, 12},
	{"bookworm-backports", false, 12},
	{"trixie", false, 13},
	{"trixie-updates", false, 13},
	{"trixie-security", true, 13},
	{"trixie-backports", false, 13},
	{"sid", false, 14},
	{"experimental", false, 14},
}

func suiteRelease(name string) int {
	for _, s := range suites {
		if s.name == name {
			return s.release
		}
	}
	return 0
}

// archiveTrust is what the store's apt trusts to verify Debian's archive:
// the first of keyrings that exists is every suite's signed-by; with none,
// apt falls back to its trusted parts (trustedParts, "" for the system's
// /etc/apt/trusted.gpg.d), which on a host that is not Debian (Ubuntu)
// hold no Debian key. Tests point both at empty places to be such a host.
var archiveTrust = struct {
	keyrings     []string
	trustedParts string
}{
	keyrings: []string{"/usr/share/keyrings/debian-archive-keyring.gpg"},
}

// archiveKeyring returns the keyring the store's apt uses, or "".
func archiveKeyring() string {
	for _, k := range archiveTrust.keyrings {
		if _, err := os.Stat(k); err == nil {
			return k
		}
	}
	return ""
}

// ErrArchiveUnverified is returned, wrapped, when apt cannot verify the
// signatures of Debian's archive, which happens on hosts without Debian's
// archive keyring: the fix is to install it.
var ErrArchiveUnverified = errors.New("apt cannot verify Debian's archive")

// signatureRE matches what apt says of a suite it cannot verify, in
// "W: GPG error: URL SUITE InRelease: … NO_PUBKEY …" and "E: The
// repository 'URL SUITE InRelease' is not signed."; the group is the suite.
var signatureRE = regexp.MustCompile(`(\S+) InRelease.*(?:NO_PUBKEY|EXPKEYSIG|KEYEXPIRED|is not signed|couldn't be verified)`)

// unverified returns the suites apt's standard error says it could not
// verify.
func unverified(stderr []byte) map[string]bool {
	bad := map[string]bool{}
	for _, m := range signatureRE.FindAllSubmatch(stderr, -1) {
		bad[string(m[1])] = true
	}
	return bad
}

func unverifiedError() error {
	have := "no " + strings.Join(archiveTrust.keyrings, " or ")
	if k := archiveKeyring(); k != "" {
		have = "its keyring " + k + " does not verify it"
	}
	return fmt.Errorf("%w: no suite's signature could be checked (apt: NO_PUBKEY, is not signed), as Debian's archive keyring is missing (%s): "+
		"install debian-archive-keyring (apt-get install debian-archive-keyring, which Ubuntu has too) or run make deps", ErrArchiveUnverified, have)
}

const (
	defaultMirror = "http://deb.debian.org"
	// maxListAge is how old the package lists may get before a Get refreshes
	// them. Security updates replace kernels every few weeks and the archive
	// drops the old ones, so a day keeps downloads from failing without
	// making warm runs touch the network.
	maxListAge = 24 * time.Hour
)

// apt runs apt-get and apt-cache against the store's private configuration.
type apt struct {
	dir  string // <store>/apt, or <store>/apt-ARCH for a foreign architecture
	lock string // <store>/locks/apt.lock, or apt-ARCH.lock
	run  runner
	// archs are the architectures of the lists besides HostArch's: none,
	// or the foreign one whose kernels this configuration gets (as
	// NAME:ARCH, see Package). The host's lists are always there, for
	// the host's linux-kbuild that a cross build of modules runs.
	archs []string
}

func (a *apt) path(elem ...string) string {
	return filepath.Join(append([]string{a.dir}, elem...)...)
}

func mirror() string {
	if m := strings.TrimSuffix(os.Getenv("CNVMTEST_DEBIAN_MIRROR"), "/"); m != "" {
		return m
	}
	return defaultMirror
}

// sourcesList is the private sources.list for the architectures archs
// besides HostArch.
func sourcesList(archs ...string) string {
	base := mirror()
	opts := "arch=" + strings.Join(listArchs(archs), ",") + " lang=none target=Packages"
	if k := archiveKeyring(); k != "" {
		opts += " signed-by=" + k
	}
	var b strings.Builder
	b.WriteString("# Written by cnvmtest: where it looks for Debian kernels.\n")
	for _, s := range suites {
		archive := base + "/debian"
		if s.security {
			archive += "-security"
		}
		fmt.Fprintf(&b, "deb [%s] %s %s main\n", opts, archive, s.name)
	}
	return b.String()
}

// listArchs is HostArch and archs, once each, HostArch first.
func listArchs(archs []string) []string {
	all := []string{HostArch}
	for _, arch := range archs {
		if !slices.Contains(all, arch) {
			all = append(all, arch)
		}
	}
	slices.Sort(all[1:])
	return all
}

// prepare creates the private configuration. A changed sources list (a new
// suite, another mirror) invalidates the lists.
func (a *apt) prepare(ctx context.Context) error {
	for _, d := range []string{a.path("lists", "partial"), a.path("cache", "archives", "partial"), filepath.Dir(a.lock)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(a.path("status"), os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	want := sourcesList(a.archs...)
	if got, err := os.ReadFile(a.path("sources.list")); err == nil && string(got) == want {
		return nil
	}
	unlock, err := flock.Lock(ctx, a.lock, true, nil)
	if err != nil {
		return err
	}
	defer unlock()
	got, err := os.ReadFile(a.path("sources.list"))
	if err == nil && string(got) == want {
		return nil // another process wrote it
	}
	if err := writeFileAtomic(a.path("sources.list"), []byte(want)); err != nil {
		return err
	}
	if err := os.Remove(a.path("updated")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeFileAtomic writes a file that concurrent readers see whole or not at all.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func (a *apt) options() []string {
	o := []string{
		"Dir::Etc::SourceList=" + a.path("sources.list"),
		"Dir::Etc::SourceParts=/dev/null",
		"Dir::Etc::Preferences=/dev/null",
		"Dir::Etc::PreferencesParts=/dev/null",
		"Dir::State::Lists=" + a.path("lists"),
		"Dir::State::Status=" + a.path("status"),
		"Dir::Cache=" + a.path("cache"),
		// Debian's container images switch the binary cache off; without it
		// every apt-cache call spends 2.6 s re-reading the lists (45 ms
		// with it). The source cache only speeds up rebuilding it after
		// dpkg runs, which never happens here, and is as big (110 MB).
		"Dir::Cache::pkgcache=pkgcache.bin",
		"Dir::Cache::srcpkgcache=",
		"APT::Architecture=" + HostArch,
		"Acquire::Languages=none",
	}
	// "::=" appends to apt's list option.
	for _, arch := range listArchs(a.archs) {
		o = append(o, "APT::Architectures::="+arch)
	}
	if archiveTrust.trustedParts != "" {
		o = append(o, "Dir::Etc::TrustedParts="+archiveTrust.trustedParts,
			"Dir::Etc::Trusted="+filepath.Join(archiveTrust.trustedParts, "trusted.gpg"))
	}
	if os.Geteuid() == 0 {
		// The store usually sits in root's private home, where apt's _apt
		// sandbox user cannot write; apt would fall back to root anyway, with
		// a warning on every download.
		o = append(o, "APT::Sandbox::User=root")
	}
	args := make([]string, 0, 2*len(o))
	for _, opt := range o {
		args = append(args, "-o", opt)
	}
	return args
}

// listsTime is when the lists were last updated; zero if never.
func (a *apt) listsTime() time.Time {
	fi, err := os.Stat(a.path("updated"))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// stale says why lists updated at t need refreshing, or "" if they are fresh.
func stale(t time.Time) string {
	switch {
	case t.IsZero():
		return "no package lists yet"
	case time.Since(t) > maxListAge:
		return fmt.Sprintf("package lists are %s old", time.Since(t).Round(time.Hour))
	}
	return ""
}

// update runs apt-get update unless the lists changed since the caller saw
// them updated at seen (from listsTime): processes that find the lists
// stale at the same time update once. Only the stamp's own times are
// compared, as file times run on a coarser clock than time.Now.
func (a *apt) update(ctx context.Context, p *progress, why string, seen time.Time) error {
	unlock, err := flock.Lock(ctx, a.lock, true, func() { p.printf("waiting for another process updating the package lists") })
	if err != nil {
		return err
	}
	defer unlock()
	if t := a.listsTime(); t.After(seen) {
		return nil
	}
	p.printf("updating Debian's package lists (%s; %d suites)", why, len(suites))
	start := time.Now()
	// apt-get update exits 0 when fetches fail unless told otherwise.
	args := append([]string{"update", "-q", "-o", "APT::Update::Error-Mode=any"}, a.options()...)
	stdout, stderr, err := a.run(ctx, "", "apt-get", args...)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Without a key apt fetches every InRelease ("Get:") and trusts none:
	// the lists stay empty, and every spec would be "not found".
	if bad := unverified(stderr); len(bad) >= len(suites) {
		return unverifiedError()
	}
	var failures []string
	for _, line := range strings.Split(string(stderr), "\n") {
		if strings.HasPrefix(line, "W:") || strings.HasPrefix(line, "E:") {
			failures = append(failures, line)
		}
	}
	// A suite that cannot be fetched (a missing signing key, a suite the
	// mirror dropped) leaves the others usable; only when none was
	// reached did the update fail.
	reached := bytes.Contains(stdout, []byte("Hit:")) || bytes.Contains(stdout, []byte("Get:"))
	if !reached {
		if err == nil {
			err = errors.New(strings.Join(failures, "\n\t"))
		}
		return fmt.Errorf("updating the package lists (is %s reachable? CNVMTEST_DEBIAN_MIRROR sets another mirror): %w", mirror(), err)
	}
	for _, f := range failures {
		p.printf("warning: apt: %s", f)
	}
	p.printf("updated the package lists in %s", since(start))
	// The stamp's mtime, set by this write, is when the lists were updated.
	return os.WriteFile(a.path("updated"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// cache runs apt-cache on the private lists.
func (a *apt) cache(ctx context.Context, args ...string) ([]byte, error) {
	unlock, err := flock.Lock(ctx, a.lock, false, nil)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out, _, err := a.run(ctx, "", "apt-cache", append(append([]string{args[0]}, a.options()...), args[1:]...)...)
	return out, err
}

// download fetches packages into dir without installing them.
func (a *apt) download(ctx context.Context, dir string, pkgs []Package) error {
	unlock, err := flock.Lock(ctx, a.lock, false, nil)
	if err != nil {
		return err
	}
	defer unlock()
	args := append([]string{"download", "-q"}, a.options()...)
	for _, p := range pkgs {
		args = append(args, p.String())
	}
	_, _, err = a.run(ctx, dir, "apt-get", args...)
	return err
}

// runner runs a command in dir. Its error carries the end of stderr.
type runner func(ctx context.Context, dir, name string, args ...string) (stdout, stderr []byte, err error)

func execRunner(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, stderr.Bytes(), fmt.Errorf("%s: %w%s", commandLine(name, args), err, tail(stderr.String(), 6))
	}
	return out, stderr.Bytes(), nil
}

// commandLine shows a command without its -o options, which are long and
// always the same.
func commandLine(name string, args []string) string {
	words := []string{name}
	for i := 0; i < len(args); i++ {
		if args[i] == "-o" {
			i++
			continue
		}
		words = append(words, args[i])
	}
	if len(words) > 8 {
		words = append(words[:8], "…")
	}
	return strings.Join(words, " ")
}

// tail returns the last n lines of s, indented on new lines.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}

func since(t time.Time) time.Duration {
	return time.Since(t).Round(10 * time.Millisecond)
}
