// SPDX-License-Identifier: MIT

package guest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
)

// envCPUProfile, set to a sampling rate in Hz (cnvmtest run -env
// CNVMTEST_BENCH_CPUPROFILE=1000), profiles the whole test binary and
// prints the profile on stdout, base64 between cpuprofile-begin and
// cpuprofile-end lines, since a guest has no other way out for a file.
// Decode it on the host with
//
//	sed -n '/^cpuprofile-begin$/,/^cpuprofile-end$/{//!p}' LOG | base64 -d >cpu.pprof
const envCPUProfile = "CNVMTEST_BENCH_CPUPROFILE"

func TestMain(m *testing.M) {
	hz, _ := strconv.Atoi(os.Getenv(envCPUProfile))
	if hz <= 0 {
		os.Exit(m.Run())
	}
	var buf bytes.Buffer
	runtime.SetCPUProfileRate(hz) // StartCPUProfile then keeps this rate, with a warning
	if err := pprof.StartCPUProfile(&buf); err != nil {
		fmt.Fprintf(os.Stderr, "cpu profile: %v\n", err)
		os.Exit(2)
	}
	code := m.Run()
	pprof.StopCPUProfile()
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	fmt.Println("cpuprofile-begin")
	for len(enc) > 0 {
		n := min(len(enc), 76)
		fmt.Println(enc[:n])
		enc = enc[n:]
	}
	fmt.Println("cpuprofile-end")
	os.Exit(code)
}
