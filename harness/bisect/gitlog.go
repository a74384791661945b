// SPDX-License-Identifier: MIT

package bisect

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// GitLog is what git bisect log says about a bisection.
type GitLog struct {
	// Steps are the verdicts in the order git recorded them: first the
	// endpoints given to git bisect start (Start set), then each commit
	// tested.
	Steps []GitStep
	// FirstBad is the answer, when git found one.
	FirstBad *GitStep
	// Suspects are the commits the first bad one may be when only
	// skipped commits were left to test.
	Suspects []GitStep
}

// GitStep is one commit in a bisect log.
type GitStep struct {
	Verdict Verdict
	Commit  string
	Subject string
	Start   bool // an endpoint given to git bisect start, not tested
}

// gitComment matches the lines git bisect log writes for each verdict,
// "# bad: [<hash>] <subject>", and for the answer,
// "# first bad commit: [<hash>] <subject>". old and new are git's other
// names for good and bad.
var gitComment = regexp.MustCompile(`^# (good|bad|skip|old|new|first (?:bad|new) commit|possible first (?:bad|new) commit): \[([0-9a-f]{7,64})\] ?(.*)$`)

// ParseGitLog reads the output of git bisect log. Lines it does not know
// are ignored, so that other versions of git parse too.
func ParseGitLog(r io.Reader) (*GitLog, error) {
	log := &GitLog{}
	started := false
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "git bisect start") {
			started = true
			continue
		}
		m := gitComment.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		st := GitStep{Commit: m[2], Subject: m[3], Start: !started}
		switch kind := m[1]; {
		case strings.HasPrefix(kind, "possible first"):
			st.Verdict, st.Start = Bad, false
			log.Suspects = append(log.Suspects, st)
		case strings.HasPrefix(kind, "first"):
			st.Verdict, st.Start = Bad, false
			log.FirstBad = &st
		default:
			st.Verdict = map[string]Verdict{"good": Good, "old": Good, "bad": Bad, "new": Bad, "skip": Skip}[kind]
			log.Steps = append(log.Steps, st)
		}
	}
	return log, sc.Err()
}
