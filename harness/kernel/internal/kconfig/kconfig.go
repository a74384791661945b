// SPDX-License-Identifier: MIT

// Package kconfig reads the project's config fragments (the files
// scripts/kconfig/merge_config.sh merges, with "#include NAME" and
// "# optional: WHY" lines of the project's own), and checks a final
// .config against what they asked for.
package kconfig

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Option is one line of a fragment: CONFIG_NAME=VALUE, or
// "# CONFIG_NAME is not set", which is VALUE "n".
type Option struct {
	Name     string // without CONFIG_
	Value    string // y, m, n, a number or a quoted string
	Optional bool   // "# optional: WHY" on the line above
	From     string // fragment file and line, for messages
}

func (o Option) String() string {
	if o.Value == "n" {
		return "# CONFIG_" + o.Name + " is not set"
	}
	return "CONFIG_" + o.Name + "=" + o.Value
}

// A fragment is what merge_config.sh reads, with two conventions on top,
// in comments so the kernel's tools ignore them:
//
//	#include NAME       merge the fragment NAME of the same directory first
//	# optional: WHY     the option on the next line may fail to take
//
// An option that does not hold in the final .config fails the build,
// unless it is optional: it may not exist in every kernel version (a
// REFCOUNT_FULL removed in 5.5), or need hardware the guest may lack.
var (
	includeRE  = regexp.MustCompile(`^#include\s+(\S+)\s*$`)
	optionalRE = regexp.MustCompile(`^#\s*optional:`)
	setRE      = regexp.MustCompile(`^CONFIG_([A-Za-z0-9_]+)=(.*)$`)
	unsetRE    = regexp.MustCompile(`^# CONFIG_([A-Za-z0-9_]+) is not set$`)
)

// parseFragment reads one fragment file.
func parseFragment(name string, data []byte) (includes []string, opts []Option, err error) {
	s := bufio.NewScanner(bytes.NewReader(data))
	optional := false
	for n := 1; s.Scan(); n++ {
		line := strings.TrimRight(s.Text(), " \t\r")
		from := fmt.Sprintf("%s:%d", name, n)
		if m := includeRE.FindStringSubmatch(line); m != nil {
			includes = append(includes, m[1])
			continue
		}
		if optionalRE.MatchString(line) {
			optional = true
			continue
		}
		var o Option
		if m := setRE.FindStringSubmatch(line); m != nil {
			o = Option{Name: m[1], Value: m[2], Optional: optional, From: from}
		} else if m := unsetRE.FindStringSubmatch(line); m != nil {
			o = Option{Name: m[1], Value: "n", Optional: optional, From: from}
		} else {
			if strings.HasPrefix(line, "CONFIG_") {
				return nil, nil, fmt.Errorf("%s: cannot read %q", from, line)
			}
			if optional && !strings.HasPrefix(line, "#") {
				return nil, nil, fmt.Errorf("%s: \"# optional:\" must be followed by an option", from)
			}
			continue
		}
		if o.Value == "" {
			return nil, nil, fmt.Errorf("%s: CONFIG_%s has no value", from, o.Name)
		}
		optional = false
		opts = append(opts, o)
	}
	return includes, opts, s.Err()
}

// Fragment is a flavour's fragments, includes first, as merge_config.sh
// will merge them.
type Fragment struct {
	Flavour string
	Files   []string // names, in merge order
	// Options are the final wish for each option, in order.
	Options []Option
	data    map[string][]byte // by name
}

// Load reads a flavour's fragment and what it includes from fsys
// (configs/ of the embedded files).
func Load(fsys fs.FS, flavour string) (*Fragment, error) {
	f := &Fragment{Flavour: flavour, data: map[string][]byte{}}
	var load func(name string, chain []string) error
	load = func(name string, chain []string) error {
		if slices.Contains(chain, name) {
			return fmt.Errorf("config fragments include each other: %s", strings.Join(append(chain, name), " -> "))
		}
		if _, done := f.data[name]; done {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("config fragment: %w", err)
		}
		includes, _, err := parseFragment(name, b)
		if err != nil {
			return err
		}
		for _, inc := range includes {
			if err := load(inc, append(chain, name)); err != nil {
				return err
			}
		}
		f.data[name] = b
		f.Files = append(f.Files, name)
		return nil
	}
	if err := load(flavour+".config", nil); err != nil {
		return nil, err
	}
	at := map[string]int{}
	for _, name := range f.Files {
		_, opts, _ := parseFragment(name, f.data[name])
		for _, o := range opts {
			if i, ok := at[o.Name]; ok {
				f.Options[i] = o // a later fragment overrides, as in merge_config.sh
				continue
			}
			at[o.Name] = len(f.Options)
			f.Options = append(f.Options, o)
		}
	}
	return f, nil
}

// Hash identifies the configuration a flavour asks for: the fragments'
// text and recipe, the caller's name for how it builds with them. The
// final .config also depends on the kernel version.
func (f *Fragment) Hash(recipe string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", recipe)
	for _, name := range f.Files {
		fmt.Fprintf(h, "%s %d\n", name, len(f.data[name]))
		h.Write(f.data[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Write puts the fragment files in dir and returns their paths, in merge order.
func (f *Fragment) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, name := range f.Files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.data[name], 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// ReadConfig returns the options a .config sets, "n" for "is not set".
func ReadConfig(config []byte) map[string]string {
	got := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(config))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		if m := setRE.FindStringSubmatch(s.Text()); m != nil {
			got[m[1]] = m[2]
		} else if m := unsetRE.FindStringSubmatch(s.Text()); m != nil {
			got[m[1]] = "n"
		}
	}
	return got
}

// ConfigError lists the options of a fragment that did not take.
type ConfigError struct {
	Flavour string
	Missed  []string // one line per option: what was asked, what came, why
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("the %s config did not take (mark an option \"# optional: WHY\" in its fragment if it may fail):\n\t%s",
		e.Flavour, strings.Join(e.Missed, "\n\t"))
}

// Check compares a final .config with what the fragment asked for.
// exists, if not nil, says whether the kernel defines an option at all
// (see Symbols), to tell a missing option from an unmet
// dependency. Misses of optional options are returned as warnings.
func (f *Fragment) Check(config []byte, exists func(name string) bool) (warnings []string, err error) {
	got := ReadConfig(config)
	var missed []string
	for _, o := range f.Options {
		v, set := got[o.Name]
		if !set {
			v = "n" // olddefconfig leaves out options whose dependencies are unmet
		}
		if v == o.Value {
			continue
		}
		why := "its dependencies are not met, or something turns it off"
		if exists != nil && !exists(o.Name) {
			why = "this kernel has no such option"
		}
		line := fmt.Sprintf("%s (%s): got %s: %s", o, o.From, describeValue(v, set), why)
		if o.Optional {
			warnings = append(warnings, "optional "+line)
		} else {
			missed = append(missed, line)
		}
	}
	if len(missed) > 0 {
		return warnings, &ConfigError{Flavour: f.Flavour, Missed: missed}
	}
	return warnings, nil
}

func describeValue(v string, set bool) string {
	switch {
	case !set:
		return "nothing"
	case v == "n":
		return "not set"
	}
	return v
}

// Symbols returns the options the Kconfig files under srctree define.
func Symbols(srctree string) (map[string]bool, error) {
	syms := map[string]bool{}
	defRE := regexp.MustCompile(`^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$`)
	err := filepath.WalkDir(srctree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "Documentation") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), "Kconfig") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if m := defRE.FindStringSubmatch(line); m != nil {
				syms[m[1]] = true
			}
		}
		return nil
	})
	return syms, err
}
