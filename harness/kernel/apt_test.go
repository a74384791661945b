// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestUpdate(t *testing.T) {
	tests := []struct {
		name           string
		stdout, stderr string
		err            error
		wantErr        string // "" when the update counts
		wantLog        string
	}{
		{
			name:   "all fetched",
			stdout: "Hit:1 http://deb.debian.org/debian bookworm InRelease\nGet:2 http://deb.debian.org/debian sid InRelease [193 kB]\n",
		},
		{
			name:    "one suite failed",
			stdout:  "Hit:1 http://deb.debian.org/debian bookworm InRelease\nErr:2 http://deb.debian.org/debian sid InRelease\n",
			stderr:  "W: GPG error: http://deb.debian.org/debian sid InRelease: NO_PUBKEY 0123\nE: The repository 'http://deb.debian.org/debian sid InRelease' is not signed.\n",
			err:     errors.New("exit status 100"),
			wantLog: "warning: apt: E: The repository 'http://deb.debian.org/debian sid InRelease' is not signed.",
		},
		{
			name:    "offline, exit status 0 as older apt gives",
			stdout:  "Ign:1 http://deb.debian.org/debian bookworm InRelease\nErr:1 http://deb.debian.org/debian bookworm InRelease\n",
			stderr:  "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'\n",
			wantErr: "is http://deb.debian.org reachable? CNVMTEST_DEBIAN_MIRROR sets another mirror): W: Failed to fetch",
		},
		{
			name:    "offline",
			stdout:  "Err:1 http://deb.debian.org/debian bookworm InRelease\n",
			err:     errors.New("apt-get update -q: exit status 100"),
			wantErr: "exit status 100",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran []string
			a := &apt{dir: t.TempDir(), lock: t.TempDir() + "/apt.lock", run: func(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
				ran = append(ran, strings.Join(append([]string{name}, args...), " "))
				return []byte(tt.stdout), []byte(tt.stderr), tt.err
			}}
			if err := a.prepare(context.Background()); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			err := a.update(context.Background(), newProgress(&log, Spec{Source: "debian", Series: "6.1"}), "test", time.Time{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("update = %v, want an error containing %q", err, tt.wantErr)
				}
				if !a.listsTime().IsZero() {
					t.Error("a failed update marked the lists updated")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.listsTime().IsZero() || stale(a.listsTime()) != "" {
				t.Error("the lists are not marked updated")
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, &log)
			}
			if !strings.Contains(ran[0], "APT::Update::Error-Mode=any") || !strings.Contains(ran[0], "Dir::State::Lists="+a.dir+"/lists") {
				t.Errorf("update ran %s", ran[0])
			}
		})
	}
}

func TestSourcesList(t *testing.T) {
	t.Setenv("CNVMTEST_DEBIAN_MIRROR", "http://mirror.example.org/")
	got := sourcesList()
	for _, want := range []string{
		"http://mirror.example.org/debian bookworm main\n",
		"http://mirror.example.org/debian-security bookworm-security main\n",
		"http://mirror.example.org/debian experimental main\n",
		"[arch=amd64 lang=none target=Packages",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("sources.list lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\ndeb "); n != len(suites) {
		t.Errorf("sources.list has %d entries, want %d", n, len(suites))
	}

	// A changed sources list makes the lists stale.
	a := &apt{dir: t.TempDir(), lock: t.TempDir() + "/apt.lock"}
	ctx := context.Background()
	if err := a.prepare(ctx); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(a.path("updated"), nil, 0o644)
	if err := a.prepare(ctx); err != nil || a.listsTime().IsZero() {
		t.Fatalf("an unchanged sources list made the lists stale (%v)", err)
	}
	t.Setenv("CNVMTEST_DEBIAN_MIRROR", "http://other.example.org")
	if err := a.prepare(ctx); err != nil || !a.listsTime().IsZero() {
		t.Fatalf("another mirror kept the lists fresh (%v)", err)
	}
}

// A foreign architecture's kernels come through a configuration of its
// own, with the host's lists too (for linux-kbuild), and leave the host's
// sources list as it was.
func TestForeignArchApt(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	ctx := context.Background()
	host, err := s.apt(ctx, HostArch)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(host.path("sources.list"))
	os.WriteFile(host.path("updated"), nil, 0o644)
	arm, err := s.apt(ctx, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if arm.dir == host.dir || arm.lock == host.lock {
		t.Fatalf("arm64 shares %s, %s with the host's configuration", arm.dir, arm.lock)
	}
	list, _ := os.ReadFile(arm.path("sources.list"))
	if !strings.Contains(string(list), "[arch=amd64,arm64 lang=none") {
		t.Errorf("arm64's sources.list:\n%s", list)
	}
	opts := strings.Join(arm.options(), " ")
	if !strings.Contains(opts, "APT::Architecture=amd64 ") ||
		!strings.Contains(opts, "APT::Architectures::=amd64 -o APT::Architectures::=arm64") {
		t.Errorf("arm64's apt options: %s", opts)
	}
	after, _ := os.ReadFile(host.path("sources.list"))
	if string(after) != string(before) || host.listsTime().IsZero() || strings.Contains(string(after), "arm64") {
		t.Errorf("the host's configuration changed:\n%s", after)
	}
	if opts := strings.Join(host.options(), " "); strings.Contains(opts, "arm64") {
		t.Errorf("the host's apt options name arm64: %s", opts)
	}
}
