// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/debpkg"
)

// Versions returns the Debian package versions the archive has for a
// series, oldest first (dpkg's order): for debian:, of the kernels that
// have headers, for debian-src:, of the linux-source package. A spec's
// Dist keeps those built for that Debian release; Exact is ignored.
// Bisecting Debian's kernels steps through them as debian:VERSION. The
// versions include kernels modules can no longer be built for, which Get
// refuses with an [*UnbuildableError].
func (s *Store) Versions(ctx context.Context, spec Spec, log io.Writer) ([]string, error) {
	spec = spec.withDefaults()
	spec.Exact, spec.Series = "", spec.series()
	p := newProgress(log, spec)
	src, err := packageSourceOf(spec, "have versions")
	if err != nil {
		return nil, err
	}
	a, err := s.apt(ctx, spec.arch())
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	if why := stale(a.listsTime()); why != "" {
		if err := a.update(ctx, p, why, a.listsTime()); errors.Is(err, ErrArchiveUnverified) {
			return nil, fmt.Errorf("kernel %s: %w", spec, err)
		} else if err != nil {
			p.printf("warning: %v", err)
		}
	}
	versions, err := src.versions(ctx, a, spec)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	slices.SortFunc(versions, debpkg.Compare)
	return slices.Compact(versions), nil
}
