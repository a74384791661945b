// Package demo is the test package whose runs are recorded in the files
// next to this directory: passing, failing and skipped tests, subtests and
// parallel tests, as go test prints them. To record them again:
//
//	go test -json . >../demo.jsonl
//	go test -v . >../demo-v.txt
//	go test . >../demo.txt
//	go test -c -o /tmp/demo.test . &&
//		go tool test2json -t -p example.com/demo /tmp/demo.test -test.v=test2json >../demo-binary.jsonl
//
// Parallel tests interleave differently from one run to the next: keep a
// set whose -v text and JSON streams agree on the order (regenerate until
// they do). cut.jsonl is demo-binary.jsonl cut after the line
// "deep failure", as if the guest had died there.
package demo

import (
	"fmt"
	"testing"
	"time"
)

func TestPass(t *testing.T) {
	t.Log("all good")
}

func TestFail(t *testing.T) {
	t.Log("about to fail: color \x1b[31mred\x1b[0m, bell \a, <xml> & ]]> too")
	t.Errorf("got %d, want %d", 1, 2)
}

func TestSkip(t *testing.T) {
	t.Skip("needs /dev/kvm")
}

func TestStdout(t *testing.T) {
	fmt.Println("raw stdout line")
}

func TestSub(t *testing.T) {
	t.Log("parent log")
	t.Run("ok", func(t *testing.T) {
		t.Log("sub ok")
	})
	t.Run("bad", func(t *testing.T) {
		t.Log("sub bad")
		t.Run("deeper", func(t *testing.T) {
			t.Error("deep failure\nsecond line")
		})
	})
	t.Run("skipped", func(t *testing.T) {
		t.Skip("not today")
	})
}

func TestParallel(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			time.Sleep(10 * time.Millisecond)
			t.Logf("parallel %s", name)
			if name == "b" {
				t.Fatal("b fails")
			}
		})
	}
}

func TestParallelTop1(t *testing.T) {
	t.Parallel()
	time.Sleep(5 * time.Millisecond)
	t.Log("top1")
}

func TestParallelTop2(t *testing.T) {
	t.Parallel()
	time.Sleep(5 * time.Millisecond)
	t.Log("top2")
}
