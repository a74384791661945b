// SPDX-License-Identifier: MIT

package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// qemuWatch polls /proc for the processes descended from this one and
// keeps their peak resident sets: the largest VmHWM of one QEMU, the
// largest sum of VmRSS of the QEMUs running at the same time (a parallel
// matrix), and the largest VmHWM of every other command by name (go,
// test2json, cc1, a cnvmtest child...). The harness starts and reaps QEMU,
// so its rusage is not ours to read, and a child's wait4 rusage counts its
// own children too. VmHWM is a high-water mark, so polling misses nothing
// but growth in the last interval of a process's life.
type qemuWatch struct {
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	hwmKiB uint64
	sumKiB uint64
	byComm map[string]uint64
}

// peakByComm collects the peaks of every watch, by command name.
var peakByComm = struct {
	sync.Mutex
	m map[string]uint64
}{m: map[string]uint64{}}

// commPeaks returns the peak VmHWM of each command seen by any watch.
func commPeaks() map[string]uint64 {
	peakByComm.Lock()
	defer peakByComm.Unlock()
	out := make(map[string]uint64, len(peakByComm.m))
	for k, v := range peakByComm.m {
		out[k] = v
	}
	return out
}

const watchInterval = 200 * time.Millisecond

func watchQEMU() *qemuWatch {
	w := &qemuWatch{stop: make(chan struct{}), done: make(chan struct{}), byComm: map[string]uint64{}}
	go w.loop()
	return w
}

func (w *qemuWatch) loop() {
	defer close(w.done)
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	self := os.Getpid()
	for {
		w.poll(self)
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// Stop ends the polling and returns the peaks in KiB.
func (w *qemuWatch) Stop() (hwmKiB, sumKiB uint64) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	peakByComm.Lock()
	for k, v := range w.byComm {
		peakByComm.m[k] = max(peakByComm.m[k], v)
	}
	peakByComm.Unlock()
	return w.hwmKiB, w.sumKiB
}

// peakOf returns the peak VmHWM of the descendants named comm.
func (w *qemuWatch) peakOf(comm string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byComm[comm]
}

func (w *qemuWatch) poll(self int) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	type proc struct {
		ppid int
		comm string
	}
	procs := make(map[int]proc, len(dirs))
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parens.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		procs[pid] = proc{ppid: ppid, comm: string(b[open+1 : end])}
	}
	ours := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			p, ok := procs[pid]
			if !ok {
				return false
			}
			if p.ppid == self {
				return true
			}
			pid = p.ppid
		}
		return false
	}
	var sum, hwm uint64
	others := map[string]uint64{}
	for pid, p := range procs {
		if !ours(pid) {
			continue
		}
		h, r := vmKiB(pid)
		if !strings.HasPrefix(p.comm, "qemu-system") {
			others[p.comm] = max(others[p.comm], h)
			continue
		}
		hwm = max(hwm, h)
		sum += r
	}
	w.mu.Lock()
	w.hwmKiB = max(w.hwmKiB, hwm)
	w.sumKiB = max(w.sumKiB, sum)
	for k, v := range others {
		w.byComm[k] = max(w.byComm[k], v)
	}
	w.mu.Unlock()
}

// vmKiB reads VmHWM and VmRSS of a process.
func vmKiB(pid int) (hwm, rss uint64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		v, _ := strconv.ParseUint(f[0], 10, 64)
		switch name {
		case "VmHWM":
			hwm = v
		case "VmRSS":
			rss = v
		}
	}
	return hwm, rss
}

// maxRSS returns the peak resident set of this process and of the largest
// child it has waited for (go, gcc, QEMU, ...), in KiB.
func maxRSS() (self, children uint64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = uint64(ru.Maxrss)
	}
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		children = uint64(ru.Maxrss)
	}
	return self, children
}

// childMaxRSS is the peak resident set of a child that has exited, in KiB.
func childMaxRSS(st *os.ProcessState) uint64 {
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return uint64(ru.Maxrss)
	}
	return 0
}
