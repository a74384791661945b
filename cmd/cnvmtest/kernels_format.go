// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/internal/fsutil"
)

// kernelsCompiler shortens CONFIG_CC_VERSION_TEXT: "gcc (Debian
// 12.2.0-14+deb12u1) 12.2.0" to "gcc 12.2.0".
func kernelsCompiler(k *kernel.Kernel) string {
	if k.Compiler != "" {
		return k.Compiler
	}
	f := strings.Fields(k.CC)
	for _, v := range f[min(1, len(f)):] {
		if kernelsVersionRE.MatchString(v) {
			return f[0] + " " + v
		}
	}
	return k.CC
}

var kernelsVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

func kernelsSize(dir string) string {
	n, _ := fsutil.DirSize(dir)
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

func kernelsAgo(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// kernelsAge is a flag value: a Go duration, or a number of days ("30d").
type kernelsAge time.Duration

func (a *kernelsAge) String() string { return time.Duration(*a).String() }

func (a *kernelsAge) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("want a positive number of days, such as 30d")
		}
		*a = kernelsAge(time.Duration(n * 24 * float64(time.Hour)))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a duration such as 30d or 36h")
	}
	*a = kernelsAge(d)
	return nil
}
