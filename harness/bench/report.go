// SPDX-License-Identifier: MIT

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Schema is the version of the Report format; Compare refuses another.
const Schema = 1

// Report is what one benchmark session measured. It is written as JSON so
// that a later session can be compared with it (Compare).
type Report struct {
	Schema   int       `json:"schema"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"` // the whole session
	Command  string    `json:"command"`
	N        int       `json:"n"`
	Host     Host      `json:"host"`
	Kernels  []Kernel  `json:"kernels,omitempty"`
	Sections []Section `json:"sections"`
	Metrics  []Metric  `json:"metrics"`
	Targets  []Target  `json:"targets,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
}

// Host describes the machine, and how busy it was: benchmarks on a shared
// machine are only comparable at a similar load.
type Host struct {
	Hostname    string  `json:"hostname"`
	Kernel      string  `json:"kernel"`
	CPUs        int     `json:"cpus"`
	MemTotalMiB int     `json:"mem_total_mib"`
	Go          string  `json:"go"`
	QEMU        string  `json:"qemu"`
	Accel       string  `json:"accel"`
	Load        []Load  `json:"load"` // at the start and end of each section
	LoadMax1    float64 `json:"load_max_1m"`
}

// Load is the load average at one moment, as uptime prints it.
type Load struct {
	At      string     `json:"at"`
	Uptime  string     `json:"uptime"`
	Average [3]float64 `json:"average"`
}

// Kernel is a kernel the session booted.
type Kernel struct {
	Spec    string `json:"spec"`
	Release string `json:"release"`
	Package string `json:"package"`
	Image   string `json:"image"`
	PVH     bool   `json:"pvh"`
}

// Section says what one group of metrics measured, with the command a
// person would type to do the same by hand.
type Section struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Command string   `json:"command"`
	Notes   []string `json:"notes,omitempty"`
}

// Metric is one measured quantity.
type Metric struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Unit    string `json:"unit"`
	// HigherIsBetter is set for throughputs and speed-ups.
	HigherIsBetter bool `json:"higher_is_better,omitempty"`
	Stat
}

// Key identifies the metric across reports.
func (m Metric) Key() string { return m.Section + " / " + m.Name }

// Target is one of the project's performance goals and where this session
// stands against it. Goals are reported, never asserted.
type Target struct {
	Goal   string  `json:"goal"`
	Metric string  `json:"metric"` // a Metric.Key, "" when not measured
	Value  float64 `json:"value"`  // the metric's median
	Limit  float64 `json:"limit"`
	Unit   string  `json:"unit"`
	Met    bool    `json:"met"`
	Note   string  `json:"note,omitempty"`
}

func (r *Report) section(s Section) {
	for i := range r.Sections {
		if r.Sections[i].Name == s.Name {
			r.Sections[i] = s
			return
		}
	}
	r.Sections = append(r.Sections, s)
}

func (r *Report) note(section, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for i := range r.Sections {
		if r.Sections[i].Name == section {
			r.Sections[i].Notes = append(r.Sections[i].Notes, msg)
			return
		}
	}
	r.Notes = append(r.Notes, section+": "+msg)
}

// add appends a metric summarising samples, unless none was taken.
func (r *Report) add(section, name, unit string, samples []float64) {
	st := summarize(samples)
	if st.N == 0 {
		return
	}
	r.Metrics = append(r.Metrics, Metric{Section: section, Name: name, Unit: unit, Stat: st})
}

func (r *Report) addHigher(section, name, unit string, samples []float64) {
	r.add(section, name, unit, samples)
	if n := len(r.Metrics); n > 0 && r.Metrics[n-1].Section == section && r.Metrics[n-1].Name == name {
		r.Metrics[n-1].HigherIsBetter = true
	}
}

// Metric returns the metric with the given key.
func (r *Report) Metric(key string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Key() == key {
			return m, true
		}
	}
	return Metric{}, false
}

// Write saves r as indented JSON.
func (r *Report) Write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by Write.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: report schema %d, this cnvmtest reads %d", path, r.Schema, Schema)
	}
	return &r, nil
}

// WriteTable prints r for people: per section its command, then one line
// per metric with median, minimum and maximum.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "cnvmtest bench, %s, n=%d, %s, %d CPUs, accel %s, %s\n",
		r.Started.Format("2006-01-02 15:04:05"), r.N, r.Host.QEMU, r.Host.CPUs, r.Host.Accel, r.Host.Go)
	if len(r.Host.Load) > 0 {
		fmt.Fprintf(w, "load average: %s at the start, %s at the end, highest 1-min %.2f\n",
			loadString(r.Host.Load[0]), loadString(r.Host.Load[len(r.Host.Load)-1]), r.Host.LoadMax1)
	}
	for _, s := range r.Sections {
		var ms []Metric
		for _, m := range r.Metrics {
			if m.Section == s.Name {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 && len(s.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n== %s: %s\n   %s\n", s.Name, s.Title, s.Command)
		for _, n := range s.Notes {
			fmt.Fprintf(w, "   note: %s\n", n)
		}
		if len(ms) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "   \tmedian\tmin\tmax\tunit\tn\t")
		for _, m := range ms {
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\t%d\t\n", m.Name, num(m.Median), num(m.Min), num(m.Max), m.Unit, m.N)
		}
		tw.Flush()
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\n== targets (reported, not asserted)\n")
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for _, t := range r.Targets {
			verdict := "met"
			switch {
			case t.Metric == "":
				verdict = "not measured"
			case !t.Met:
				verdict = "NOT met"
			}
			val := "-"
			if t.Metric != "" {
				val = num(t.Value) + " " + t.Unit
			}
			fmt.Fprintf(tw, "   %s\t%s\t(limit %s %s)\t%s\t%s\n", t.Goal, val, num(t.Limit), t.Unit, verdict, t.Note)
		}
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func loadString(l Load) string {
	return fmt.Sprintf("%.2f %.2f %.2f", l.Average[0], l.Average[1], l.Average[2])
}

// num prints a value with three significant digits or more, without
// exponents for the magnitudes benchmarks produce.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// Compare prints, for every metric both reports have, the old and new
// medians and the change; a change for the worse larger than the spread of
// either report is marked.
func Compare(w io.Writer, old, cur *Report) {
	fmt.Fprintf(w, "comparing %s (n=%d, load %s) with %s (n=%d, load %s)\n",
		old.Started.Format("2006-01-02 15:04"), old.N, firstLoad(old),
		cur.Started.Format("2006-01-02 15:04"), cur.N, firstLoad(cur))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tOLD\tNEW\tUNIT\tDELTA\t")
	var gone []string
	for _, o := range old.Metrics {
		n, ok := cur.Metric(o.Key())
		if !ok {
			gone = append(gone, o.Key())
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Key(), num(o.Median), num(n.Median), n.Unit, delta(o.Median, n.Median), judge(o, n))
	}
	for _, n := range cur.Metrics {
		if _, ok := old.Metric(n.Key()); !ok {
			fmt.Fprintf(tw, "%s\t-\t%s\t%s\tnew\t\n", n.Key(), num(n.Median), n.Unit)
		}
	}
	tw.Flush()
	if len(gone) > 0 {
		var sections []string
		for _, o := range old.Metrics {
			if _, ok := cur.Metric(o.Key()); !ok && !slices.Contains(sections, o.Section) {
				sections = append(sections, o.Section)
			}
		}
		fmt.Fprintf(w, "not measured this time: %d metrics of %s\n", len(gone), strings.Join(sections, ", "))
	}
}

func firstLoad(r *Report) string {
	if len(r.Host.Load) == 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", r.Host.Load[0].Average[0])
}

func delta(old, cur float64) string {
	if old == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", (cur-old)/old*100)
}

// judge marks a change that lies outside both reports' ranges: worse or
// better beyond noise.
func judge(old, cur Metric) string {
	worse := cur.Min > old.Max
	better := cur.Max < old.Min
	if old.HigherIsBetter {
		worse, better = better, worse
	}
	switch {
	case worse:
		return "worse"
	case better:
		return "better"
	}
	return ""
}

// keyFor names a metric of section s for the targets.
func keyFor(section, name string) string { return section + " / " + name }

// strs joins a command line for the Section.Command texts, quoting what a
// shell would split.
func strs(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$*?[]^|&;<>()\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
