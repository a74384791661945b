// SPDX-License-Identifier: MIT

package bisect_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSelftestModuleRegression plants a regression in a copy of the test
// module's history and checks that cnvmtest bisect finds the commit that
// planted it. Each step boots a guest, so it runs only when asked:
//
//	CNVMTEST_SELFTEST=1 go test -run Selftest -v -timeout 30m ./harness/bisect
//
// CNVMTEST_KERNEL picks the kernel (default debian:6.1).
func TestSelftestModuleRegression(t *testing.T) {
	if os.Getenv("CNVMTEST_SELFTEST") != "1" {
		t.Skip("boots a guest per bisection step: set CNVMTEST_SELFTEST=1 to run it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	repo := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "cnvmtest")
	run(t, ctx, repo, "go", "build", "-o", bin, "./cmd/cnvmtest")

	// A module repository of six commits; the fourth breaks the echo
	// reply's ack, which TestEchoHappyPath checks.
	mod := t.TempDir()
	git := func(args ...string) string { return run(t, ctx, mod, "git", args...) }
	git("init", "-q")
	copyDir(t, filepath.Join(repo, "kmod"), filepath.Join(mod, "kmod"))
	src := filepath.Join(mod, "kmod", "cn_echo.c")
	edit := func(old, new string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("cn_echo.c has no %q: update the planted regression", old)
		}
		os.WriteFile(src, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644)
	}
	harmless := func(n string) {
		f, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, "/* bisect selftest: harmless change "+n+" */\n")
		f.Close()
	}
	var commits []string
	commit := func(msg string) {
		git("add", "-A")
		git("commit", "-q", "-m", msg)
		commits = append(commits, git("rev-parse", "HEAD"))
	}
	commit("cn_echo: import the module")
	harmless("2")
	commit("cn_echo: harmless change 2")
	harmless("3")
	commit("cn_echo: harmless change 3")
	edit("reply->ack = msg->ack + 1;", "reply->ack = msg->ack + 2;")
	commit("cn_echo: reply with ack + 2 (the planted regression)")
	harmless("5")
	commit("cn_echo: harmless change 5")
	harmless("6")
	commit("cn_echo: harmless change 6")

	out := t.TempDir()
	logFile := filepath.Join(out, "bisect.log")
	args := []string{"bisect", "-module-repo", mod, "-kmod-path", "kmod",
		"-good", commits[0], "-bad", commits[5], "-kernel", kernelSpec(),
		"-run", "^TestEchoHappyPath$", "-repo", repo, "-out", out, "-log", logFile}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if testing.Verbose() {
		cmd.Stdout = io.MultiWriter(&stdout, os.Stdout)
		cmd.Stderr = os.Stderr
	}
	start := time.Now()
	err := cmd.Run()
	t.Logf("cnvmtest %s: %v in %s", strings.Join(args, " "), err, time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("cnvmtest bisect: %v\n%s", err, stdout.String())
	}
	if want := "first bad commit: " + commits[3]; !strings.Contains(stdout.String(), want) {
		t.Fatalf("the output does not say %q:\n%s", want, stdout.String())
	}
	log, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(log), commits[3]) {
		t.Errorf("-log %s: %v; it holds:\n%s", logFile, err, log)
	}
	if head := git("rev-parse", "HEAD"); head != commits[5] {
		t.Errorf("after the bisection HEAD is %s, want %s: git bisect reset did not run", head, commits[5])
	}
}

func kernelSpec() string {
	if k := os.Getenv("CNVMTEST_KERNEL"); k != "" {
		return k
	}
	return "debian:6.1"
}

func repoRoot(t *testing.T) string {
	t.Helper()
	gomod := run(t, context.Background(), ".", "go", "env", "GOMOD")
	return filepath.Dir(gomod)
}

func run(t *testing.T, ctx context.Context, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=selftest", "GIT_AUTHOR_EMAIL=selftest@example.com",
		"GIT_COMMITTER_NAME=selftest", "GIT_COMMITTER_EMAIL=selftest@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
}
