// SPDX-License-Identifier: MIT

package standalone

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// examplePkg is the example's guest test package, as go test prints it.
	examplePkg = "example.com/cnupper/tests"
	// cmdTimeout bounds one command: a warm TCG run takes seconds, a
	// module build against a kernel the store holds a minute.
	cmdTimeout = 10 * time.Minute
)

// env is the environment the checks run in.
type env struct {
	root     string // this checkout
	copy     string // the checkout's tracked files, which the CLI is installed from
	example  string // the example project
	prog     string // a directory with no go.mod, holding the static program
	gobin    string // where the CLI is installed
	empty    string // mounted read-only over each hidden tree
	hidden   []string
	rootless bool // not root: the mount namespace needs a user namespace
}

func TestStandalone(t *testing.T) {
	if os.Getenv("CNVMTEST_SELFTEST") != "1" {
		t.Skip("installs the CLI and boots several VMs: set CNVMTEST_SELFTEST=1 to run (make standalone)")
	}
	for _, tool := range []string{"git", "go", "cc", "unshare", "mount", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	e := setup(t)

	if !t.Run("trees are hidden", e.testHidden) {
		t.FailNow()
	}
	t.Run("run", e.testRun)
	t.Run("run with a failing test", e.testRunFail)
	t.Run("go test -exec -v -count", e.testGoTestExec)
	t.Run("go test -exec -json", e.testGoTestJSON)
	t.Run("go test -exec with a failing test", e.testGoTestFail)
	t.Run("exec outside any module", e.testExecStatic)
	t.Run("exec passes the program's status", e.testExecStatus)
}

// setup lays out the temporary trees and installs the CLI.
func setup(t *testing.T) *env {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if within(tmp, root) {
		t.Fatalf("the temporary directory %s is inside the checkout %s, which the test hides: set TMPDIR elsewhere", tmp, root)
	}
	e := &env{
		root:     root,
		copy:     filepath.Join(tmp, "cnvmtest"),
		example:  filepath.Join(tmp, "cnupper"),
		prog:     filepath.Join(tmp, "prog"),
		gobin:    filepath.Join(tmp, "bin"),
		empty:    filepath.Join(tmp, "empty"),
		rootless: os.Geteuid() != 0,
	}
	for _, d := range []string{e.prog, e.gobin, e.empty} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	copyTracked(t, root, e.copy)
	copyTree(t, filepath.Join(root, "examples", "cnupper"), e.example)

	// go install with the settings a user has: the caller's CGO_ENABLED
	// and GOFLAGS are dropped, as are build tags.
	install := exec.Command("go", "install", "./cmd/cnvmtest")
	install.Dir = e.copy
	install.Env = append(without(os.Environ(), "CGO_ENABLED", "GOFLAGS", "GOBIN"), "GOBIN="+e.gobin)
	mustRun(t, install)
	t.Logf("installed %s", linkage(t, filepath.Join(e.gobin, "cnvmtest")))

	// The example requires cnvmtest for its connector package: point it
	// at the copy and vendor, so that building its tests later needs
	// neither the copy nor the network.
	for _, args := range [][]string{
		{"mod", "edit", "-replace", "github.com/cnvmtest/cnvmtest=" + e.copy},
		{"mod", "vendor"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = e.example
		cmd.Env = without(os.Environ(), "GOFLAGS")
		mustRun(t, cmd)
	}
	if _, err := os.Stat(filepath.Join(e.example, "vendor", "github.com", "cnvmtest", "cnvmtest", "connector")); err != nil {
		t.Fatalf("go mod vendor did not vendor the connector package: %v", err)
	}

	mustRun(t, exec.Command("cc", "-static", "-O2", "-Wall", "-Werror", "-o", filepath.Join(e.prog, "cnupper-send"),
		filepath.Join(e.example, "send", "cnupper_send.c")))
	for d := e.prog; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			t.Fatalf("%s has a go.mod above it (%s): the exec check needs a directory outside any module", e.prog, d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}

	e.hidden = hiddenTrees(t, root, e.copy)
	t.Logf("hidden in the checks: %s", strings.Join(e.hidden, " "))
	return e
}

// hiddenTrees returns the copy, this checkout, every worktree of its
// repository and the repository's git directory, leaving out those inside
// another one (hiding the outer one hides them).
func hiddenTrees(t *testing.T, root, copy string) []string {
	dirs := []string{copy, root}
	out, err := exec.Command("git", "-C", root, "worktree", "list", "--porcelain").Output()
	if err != nil {
		t.Fatalf("git worktree list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		if wt, ok := strings.CutPrefix(strings.TrimSpace(line), "worktree "); ok {
			dirs = append(dirs, wt)
		}
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	var keep []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		inside := false
		for _, o := range dirs {
			if o != d && within(d, o) {
				inside = true
			}
		}
		if !inside && !slices.Contains(keep, d) {
			keep = append(keep, d)
		}
	}
	return keep
}

// hideScript mounts $1 read-only over each argument up to "--", then runs
// the rest. A mount that fails ends it with status 125 before the command.
const hideScript = `empty=$1; shift
while [ "$1" != -- ]; do
	mount --bind "$empty" "$1" && mount -o remount,bind,ro "$1" || { echo "hide: cannot hide $1" >&2; exit 125; }
	shift
done
shift
exec "$@"`

// result is what one command gave.
type result struct {
	status int
	stdout string
	stderr string
}

func (r result) output() string { return r.stdout + r.stderr }

// inNamespace runs args in dir, in a new mount namespace in which every
// hidden tree is an empty read-only directory. The installed CLI comes
// first in PATH; nothing may be fetched.
func (e *env) inNamespace(t *testing.T, dir string, extraEnv []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	unshare := []string{"--mount", "--propagation", "private"}
	if e.rootless {
		unshare = append(unshare, "--map-root-user")
	}
	full := append(unshare, "--", "sh", "-c", hideScript, "hide", e.empty)
	full = append(full, e.hidden...)
	full = append(full, "--")
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, "unshare", full...)
	cmd.Dir = dir
	cmd.Env = append(without(os.Environ(), "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "PATH"),
		"PATH="+e.gobin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOPROXY=off", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.status = exit.ExitCode()
	default:
		t.Fatalf("%q in %s: %v\nstdout:\n%s\nstderr:\n%s", args, dir, err, r.stdout, r.stderr)
	}
	t.Logf("$ cd %s && %s\nexit status %d after %s\n--- stdout:\n%s--- stderr:\n%s",
		dir, shellQuote(args), r.status, time.Since(start).Round(time.Millisecond), r.stdout, r.stderr)
	if strings.Contains(r.stderr, "hide: cannot hide") {
		t.Fatalf("the trees could not be hidden")
	}
	e.checkEmpty(t)
	return r
}

// checkEmpty fails the test when something wrote into a hidden tree
// (which the read-only mounts should already have refused).
func (e *env) checkEmpty(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(e.empty)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		t.Errorf("%d entries were written into a hidden tree, e.g. %s", len(ents), ents[0].Name())
	}
}

// testHidden checks the mechanics: inside the namespace the trees read as
// empty, while the example stays readable.
func (e *env) testHidden(t *testing.T) {
	r := e.inNamespace(t, e.example, nil, "cat", filepath.Join(e.example, "go.mod"))
	if r.status != 0 || !strings.Contains(r.stdout, "module example.com/cnupper") {
		t.Fatalf("the example's go.mod is unreadable in the namespace: status %d, %s", r.status, r.output())
	}
	for _, d := range e.hidden {
		r := e.inNamespace(t, e.example, nil, "sh", "-c", `ls -A "$1"; cat "$1"/go.mod "$1"/HEAD`, "sh", d)
		if r.status == 0 || r.stdout != "" {
			t.Errorf("%s is readable in the namespace: status %d, stdout %q", d, r.status, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(e.root, "go.mod")); err != nil {
		t.Errorf("the checkout is hidden outside the namespace too: %v", err)
	}
	r = e.inNamespace(t, e.example, nil, "touch", filepath.Join(e.root, "written"))
	if r.status == 0 {
		t.Errorf("a hidden tree is writable in the namespace")
	}
}

// testRun is the first command of the example's README.
func (e *env) testRun(t *testing.T) {
	before := runDirs(t, e.example)
	r := e.inNamespace(t, e.example, nil, "cnvmtest", "run", "-kmod", "./kmod", "-tests", "./tests", "-v")
	wantStatus(t, r, 0)
	for _, name := range []string{"TestRegistered", "TestUpperASCII", "TestUpperASCII/utf-8_kept", "TestUpperLarge", "TestUpperInOrder"} {
		wantCount(t, r.stdout, "--- PASS: "+name+" ", 1)
	}
	wantCount(t, r.stdout, "--- SKIP: TestFailOnPurpose ", 1)
	wantCount(t, r.output(), "--- FAIL", 0)
	wantNewRunDir(t, before, runDirs(t, e.example), filepath.Join(e.example, "out"))
}

// testRunFail runs the test that fails on purpose: the status is FAIL's.
func (e *env) testRunFail(t *testing.T) {
	before := runDirs(t, e.example)
	r := e.inNamespace(t, e.example, nil, "cnvmtest", "run", "-kmod", "./kmod", "-tests", "./tests",
		"-run", "^TestFailOnPurpose$", "-env", "CNUPPER_FAIL_ON_PURPOSE=1")
	wantStatus(t, r, 1)
	wantCount(t, r.stdout, "--- FAIL: TestFailOnPurpose ", 1)
	wantCount(t, r.stdout, "this test fails on purpose", 1)
	wantCount(t, r.output(), "TestUpperASCII", 0)
	wantNewRunDir(t, before, runDirs(t, e.example), filepath.Join(e.example, "out"))
}

// goTestExec runs go test in the example with the CLI as -exec; go test
// runs the exec command in the package's directory.
func (e *env) goTestExec(t *testing.T, cnvmtestFlags string, goTestArgs ...string) result {
	t.Helper()
	execCmd := "cnvmtest exec -kmod " + filepath.Join(e.example, "kmod") + cnvmtestFlags + " --"
	args := append([]string{"go", "test", "-exec", execCmd}, goTestArgs...)
	return e.inNamespace(t, e.example, []string{"CGO_ENABLED=0"}, append(args, "./tests")...)
}

// wantExecRunDir checks that a go test -exec run left its run directory
// in the example: under ./out of the package's directory, where go test
// ran the command, or of the example's root.
func (e *env) wantExecRunDir(t *testing.T, before map[string]bool) {
	t.Helper()
	wantNewRunDir(t, before, runDirs(t, e.example),
		filepath.Join(e.example, "tests", "out"), filepath.Join(e.example, "out"))
}

func (e *env) testGoTestExec(t *testing.T) {
	before := runDirs(t, e.example)
	r := e.goTestExec(t, "", "-v", "-count=2", "-run", "^TestUpper(ASCII|InOrder)$")
	wantStatus(t, r, 0)
	wantCount(t, r.stdout, "--- PASS: TestUpperASCII ", 2)
	wantCount(t, r.stdout, "--- PASS: TestUpperASCII/nul_bytes ", 2)
	wantCount(t, r.stdout, "--- PASS: TestUpperInOrder ", 2)
	// -run reached the guest: the other tests did not run.
	wantCount(t, r.stdout, "TestRegistered", 0)
	wantCount(t, r.stdout, "TestUpperLarge", 0)
	wantCount(t, r.stdout, "ok  \t"+examplePkg, 1)
	e.wantExecRunDir(t, before)
}

func (e *env) testGoTestJSON(t *testing.T) {
	before := runDirs(t, e.example)
	r := e.goTestExec(t, "", "-json", "-count=1", "-run", "^TestUpperLarge$")
	wantStatus(t, r, 0)
	events := parseEvents(t, r.stdout)
	want := map[string]bool{"run TestUpperLarge": false, "pass TestUpperLarge": false, "pass ": false}
	for _, ev := range events {
		if ev.Package != examplePkg {
			t.Errorf("event for package %q, want %q: %+v", ev.Package, examplePkg, ev)
		}
		key := ev.Action + " " + ev.Test
		if _, ok := want[key]; ok {
			want[key] = true
		}
		if ev.Action == "fail" || (ev.Action == "run" && ev.Test != "TestUpperLarge") {
			t.Errorf("unexpected event %+v", ev)
		}
	}
	for key, seen := range want {
		if !seen {
			t.Errorf("no %q event in the JSON stream", key)
		}
	}
	e.wantExecRunDir(t, before)
}

func (e *env) testGoTestFail(t *testing.T) {
	before := runDirs(t, e.example)
	r := e.goTestExec(t, " -env CNUPPER_FAIL_ON_PURPOSE=1", "-v", "-count=1", "-run", "^TestFailOnPurpose$")
	if r.status == 0 {
		t.Errorf("go test exited 0 with a failing test")
	}
	wantCount(t, r.stdout, "--- FAIL: TestFailOnPurpose ", 1)
	wantCount(t, r.stdout, "this test fails on purpose", 1)
	wantCount(t, r.stdout, "FAIL\t"+examplePkg, 1)
	wantCount(t, r.stdout, "ok  \t"+examplePkg, 0)
	e.wantExecRunDir(t, before)
}

// testExecStatic runs the static C program from a directory that belongs
// to no Go module.
func (e *env) testExecStatic(t *testing.T) {
	before := runDirs(t, e.prog)
	r := e.inNamespace(t, e.prog, nil, "cnvmtest", "exec", "-kmod", filepath.Join(e.example, "kmod"), "--",
		"./cnupper-send", "hello", "from", "exec")
	wantStatus(t, r, 0)
	wantCount(t, r.stdout, `got "HELLO FROM EXEC"`, 1)
	wantNewRunDir(t, before, runDirs(t, e.prog), filepath.Join(e.prog, "out"))
}

// testExecStatus loads the module at another index, so that the program
// gets no reply and exits 2: exec exits with the program's status.
func (e *env) testExecStatus(t *testing.T) {
	before := runDirs(t, e.prog)
	r := e.inNamespace(t, e.prog, nil, "cnvmtest", "exec", "-kmod", filepath.Join(e.example, "kmod"), "-params", "idx=20", "--",
		"./cnupper-send", "hello")
	wantStatus(t, r, 2)
	wantCount(t, r.output(), "cnupper-send: no reply from 18:1", 1)
	wantNewRunDir(t, before, runDirs(t, e.prog), filepath.Join(e.prog, "out"))
}

func wantStatus(t *testing.T, r result, want int) {
	t.Helper()
	if r.status != want {
		t.Errorf("exit status %d, want %d; output ends:\n%s", r.status, want, tail(r.output(), 30))
	}
}

// wantCount checks how often s appears in out.
func wantCount(t *testing.T, out, s string, want int) {
	t.Helper()
	if n := strings.Count(out, s); n != want {
		t.Errorf("%q appears %d times in the output, want %d", s, n, want)
	}
}

// runDirs returns the run directories under dir: directories run-* in a
// directory named out, at any depth outside vendor.
func runDirs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	dirs := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && d.Name() == "vendor" {
			return filepath.SkipDir
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "run-") && filepath.Base(filepath.Dir(p)) == "out" {
			dirs[p] = true
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// wantNewRunDir checks that exactly one run directory appeared, in one of
// the parents, with the kernel's console log in it.
func wantNewRunDir(t *testing.T, before, after map[string]bool, parents ...string) {
	t.Helper()
	var added []string
	for d := range after {
		if !before[d] {
			added = append(added, d)
		}
	}
	if len(added) != 1 {
		t.Errorf("%d new run directories %q, want one under %s", len(added), added, strings.Join(parents, " or "))
		return
	}
	if !slices.Contains(parents, filepath.Dir(added[0])) {
		t.Errorf("run directory %s, want it under %s", added[0], strings.Join(parents, " or "))
	}
	if _, err := os.Stat(filepath.Join(added[0], "console.log")); err != nil {
		t.Errorf("the run directory has no console log: %v", err)
	}
	t.Logf("run directory: %s", added[0])
}

// event is a go test -json event.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// parseEvents decodes a go test -json stream: every line is an event.
func parseEvents(t *testing.T, out string) []event {
	t.Helper()
	var events []event
	s := bufio.NewScanner(strings.NewReader(out))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var ev event
		if err := json.Unmarshal(s.Bytes(), &ev); err != nil || ev.Action == "" {
			t.Errorf("not a go test -json event: %q", s.Text())
			continue
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		t.Errorf("no events on standard output")
	}
	return events
}

// copyTracked copies the files git tracks in root, as they are in the
// working tree, to dst.
func copyTracked(t *testing.T, root, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	n := 0
	for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && st.IsDir()) {
			continue // deleted in the working tree, or a submodule
		}
		if err != nil {
			t.Fatal(err)
		}
		copyFile(t, src, filepath.Join(dst, name), st)
		n++
	}
	if n == 0 {
		t.Fatalf("git ls-files lists no file in %s", root)
	}
}

// copyTree copies src to dst, leaving out what a run in src may have left
// behind (out/, vendor/).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == "out" || rel == "vendor" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		copyFile(t, p, filepath.Join(dst, rel), st)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string, st fs.FileInfo) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err == nil {
			err = os.Symlink(target, dst)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// linkage says how go install linked the CLI: the default settings link it
// dynamically when cgo is on, and the CLI must cope with either.
func linkage(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("go install left no program: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return path + ", dynamically linked"
		}
	}
	return path + ", statically linked"
}

func mustRun(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v\n%s", strings.Join(cmd.Args, " "), cmd.Dir, err, out)
	}
}

// without returns environ without the named variables.
func without(environ []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// shellQuote renders args as one would type them in a shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
