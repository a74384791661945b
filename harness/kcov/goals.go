// SPDX-License-Identifier: MIT

package kcov

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Goal is the share of a file's lines that make coverage must run: of its
// instrumented lines, less the Exclusions.
type Goal struct {
	File    string
	Percent float64
}

// Goals are make coverage's (README, "Kernel coverage").
var Goals = []Goal{
	{File: "kmod/cn_echo.c", Percent: 100},
	{File: "drivers/connector/connector.c", Percent: 100},
	{File: "drivers/connector/cn_queue.c", Percent: 100},
	{File: "drivers/connector/cn_proc.c", Percent: 90},
}

// Exclusion is code that no test can run in a guest of the coverage
// kernel once it has booted, and why. Function names a function; Lines,
// when set, are consecutive source lines in it (compared without their
// indentation), else the whole function is meant. An exclusion that
// matches nothing is reported: the source moved under it.
type Exclusion struct {
	File     string
	Function string
	Lines    []string
	Why      string
}

// Exclusions are the only ones: the goals count every other instrumented
// line. Line numbers are those of Debian's linux-source-6.12 (6.12.118).
var Exclusions = []Exclusion{
	{
		File: "drivers/connector/connector.c", Function: "cn_init",
		Lines: []string{"netlink_kernel_release(dev->nls);", "return -EINVAL;"},
		Why:   "cn_init runs once, at boot (subsys_initcall); its failure path needs an allocation to fail then",
	},
	{
		File: "drivers/connector/connector.c", Function: "cn_fini",
		Why: "the connector is built in (CONFIG_CONNECTOR=y, configs/minimal.config): its module_exit never runs",
	},
	{
		File: "drivers/connector/connector.c", Function: "cn_netlink_send_mult",
		Lines: []string{"kfree_skb(skb);", "return -EMSGSIZE;"},
		Why:   "nlmsg_new just sized the skb for this one message, so nlmsg_put cannot run out of room",
	},
	{
		File: "drivers/connector/cn_queue.c", Function: "cn_queue_alloc_dev",
		Lines: []string{"return NULL;"},
		Why:   "called only by cn_init, at boot",
	},
	{
		File: "drivers/connector/cn_queue.c", Function: "cn_queue_free_dev",
		Why: "called only by cn_fini, which never runs (built in)",
	},
	{
		File: "drivers/connector/cn_proc.c", Function: "proc_id_connector",
		Lines: []string{"} else {", "rcu_read_unlock();", "return;"},
		Why:   "every caller passes PROC_EVENT_UID or PROC_EVENT_GID (commit_creds in kernel/cred.c)",
	},
	{
		File: "drivers/connector/cn_proc.c", Function: "cn_proc_init",
		Lines: []string{`pr_warn("cn_proc failed to register\n");`, "return err;"},
		Why:   "cn_proc_init runs once, at boot (device_initcall)",
	},
	{
		File: "kmod/cn_echo.c", Function: "cn_echo_init",
		Lines: []string{`pr_warn("duplicate %u:%u accepted\n", cb->id.idx, cb->id.val);`, "cn_del_callback(&cb->id);"},
		Why:   "runs only on a kernel whose connector accepts a second registration of a live id, which T31 would fail on",
	},
	{
		File: "kmod/cn_echo.c", Function: "cn_echo_exit",
		Lines: []string{`pr_warn("not waiting for %d running callbacks\n",`, "atomic_read(&cn_common_inflight));"},
		Why:   "nowait=1 is T34's negative control, which oopses on purpose in a boot of its own (make selftest), never in make coverage",
	},
	{
		File: "kmod/cn_common.h", Function: "cn_common_param_set_ro",
		Why: "runs only while the kernel parses the module's parameters, before the module's constructors register its gcov counters " +
			"(kernel/module/main.c: load_module's parse_args precedes do_init_module's do_mod_ctors), so gcov cannot count it; T50 checks its EPERM",
	},
}

// excluded are the lines of one exclusion in one file.
type excluded struct {
	Lines []int  `json:"lines"`
	Why   string `json:"why"`
}

// applyExclusions finds the exclusions' lines in f, whose source it reads.
// It returns them, and the exclusions of f that matched nothing.
func applyExclusions(f *FileCoverage, exclusions []Exclusion) ([]excluded, []string, error) {
	var mine []Exclusion
	for _, e := range exclusions {
		if e.File == f.Name {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return nil, nil, nil
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s for its exclusions: %w", f.Name, err)
	}
	src := strings.Split(string(b), "\n")
	var out []excluded
	var stale []string
	for _, e := range mine {
		first, last, ok := functionLines(src, e.Function)
		if ok && len(e.Lines) > 0 {
			first, last, ok = findBlock(src, first, last, e.Lines)
		}
		if !ok {
			stale = append(stale, fmt.Sprintf("%s: %s %q matches no code", e.File, e.Function, e.Lines))
			continue
		}
		x := excluded{Why: e.Why}
		for l := first; l <= last; l++ {
			if _, instrumented := f.Hits[l]; instrumented {
				x.Lines = append(x.Lines, l)
			}
		}
		out = append(out, x)
	}
	return out, stale, nil
}

// functionLines finds a function's definition: from the line that starts
// at column 0 with its declaration to the first "}" at column 0 after it.
// Lines are numbered from 1.
func functionLines(src []string, name string) (first, last int, ok bool) {
	def := regexp.MustCompile(`^[A-Za-z_].*\b` + regexp.QuoteMeta(name) + `\(`)
	for i, line := range src {
		if !def.MatchString(line) || strings.HasSuffix(strings.TrimSpace(line), ";") {
			continue
		}
		for j := i + 1; j < len(src); j++ {
			if strings.TrimRight(src[j], " \t") == "}" {
				return i + 1, j + 1, true
			}
		}
	}
	return 0, 0, false
}

// findBlock finds want, consecutive lines compared without indentation,
// between first and last.
func findBlock(src []string, first, last int, want []string) (int, int, bool) {
	for start := first; start+len(want)-1 <= last; start++ {
		match := true
		for k, w := range want {
			if strings.TrimSpace(src[start-1+k]) != w {
				match = false
				break
			}
		}
		if match {
			return start, start + len(want) - 1, true
		}
	}
	return 0, 0, false
}

// GoalResult is how a file fares against its goal.
type GoalResult struct {
	Percent float64 `json:"goal_percent"`
	// Counted are the instrumented lines less the excluded ones.
	Counted Count `json:"counted"`
	Met     bool  `json:"met"`
	// Gap are the counted lines that never ran.
	Gap []int `json:"gap,omitempty"`
}

// goalFor checks f against its goal, if it has one.
func goalFor(f *FileCoverage, excl []excluded) *GoalResult {
	i := slices.IndexFunc(Goals, func(g Goal) bool { return g.File == f.Name })
	if i < 0 {
		return nil
	}
	out := map[int]bool{}
	for _, x := range excl {
		for _, l := range x.Lines {
			out[l] = true
		}
	}
	g := &GoalResult{Percent: Goals[i].Percent}
	for _, l := range sortedLines(f.Hits) {
		if out[l] {
			continue
		}
		g.Counted.Found++
		if f.Hits[l] > 0 {
			g.Counted.Hit++
		} else {
			g.Gap = append(g.Gap, l)
		}
	}
	g.Met = g.Counted.Percent() >= g.Percent
	return g
}

func sortedLines(hits map[int]int64) []int {
	var lines []int
	for l := range hits {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	return lines
}
