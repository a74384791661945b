// Package bench is the test package whose benchmark runs are recorded in
// the bench-*.jsonl files next to this directory. go test -json gives a
// benchmark that passes a run event and output, its result line, but no
// pass event; one that fails or is skipped gets its fail or skip event.
// To record them again, as the harness converts the guest's stream:
//
//	go test -c -o /tmp/bench.test . && cd /tmp &&
//	go tool test2json -t -p example.com/bench ./bench.test -test.v=test2json \
//		-test.run TestOK -test.bench . -test.benchtime 10x -test.benchmem >bench-pass.jsonl
//	BENCH_FAIL=1 go tool test2json -t -p example.com/bench ./bench.test -test.v=test2json \
//		-test.run TestOK -test.bench . -test.benchtime 10x -test.cpu 1 >bench-fail.jsonl
//	BENCH_CRASH=1 go tool test2json -t -p example.com/bench ./bench.test -test.v=test2json \
//		-test.run TestOK -test.bench . -test.benchtime 10x >bench-crash.jsonl
//	TEST_CRASH=1 go tool test2json -t -p example.com/bench ./bench.test -test.v=test2json \
//		-test.run 'TestOK|TestCrash' -test.bench . -test.benchtime 10x >bench-testcrash.jsonl
//
// and, from this directory, go test -json -run TestOK -bench . -benchtime 10x . >../bench-gotest.jsonl.
// bench-cut.jsonl is bench-pass.jsonl cut after BenchmarkSub/fine's
// result line and the start of BenchmarkSub/slow, as if the guest had
// died there.
package bench

import (
	"os"
	"testing"
)

func TestOK(t *testing.T) {}

// TestCrash exits in the middle of the test, as a test whose guest dies.
func TestCrash(t *testing.T) {
	if os.Getenv("TEST_CRASH") != "" {
		os.Exit(3)
	}
}

func BenchmarkOK(b *testing.B) {
	for b.Loop() {
	}
}

func BenchmarkSub(b *testing.B) {
	b.Run("fine", func(b *testing.B) {
		for b.Loop() {
		}
	})
	b.Run("slow", func(b *testing.B) {
		if os.Getenv("BENCH_FAIL") != "" {
			b.Fatal("boom")
		}
		for b.Loop() {
		}
	})
}

func BenchmarkSkip(b *testing.B) { b.Skip("not here") }

func BenchmarkLog(b *testing.B) {
	b.Log("a log line")
	for b.Loop() {
	}
}

// BenchmarkCrash exits in the middle of the benchmark.
func BenchmarkCrash(b *testing.B) {
	if os.Getenv("BENCH_CRASH") != "" {
		os.Exit(3)
	}
	for b.Loop() {
	}
}
