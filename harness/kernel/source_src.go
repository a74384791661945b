// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/kconfig"
)

// treeSource is src:, a kernel source tree built here with a config
// flavour:
//
//	src:DIR
//
// DIR may hold "@" (src:/home/me/linux@2): only a last "@NAME" is a
// qualifier, and naming the flavour (src:DIR@2@minimal) makes sure.
type treeSource struct{}

func (treeSource) name() string { return SourceTree }
func (treeSource) built() bool  { return true }

func (treeSource) parse(spec *Spec, dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: want src:DIR[@FLAVOUR], DIR a kernel source tree", errArgument)
	}
	spec.Dir = dir
	return nil
}

func (treeSource) argument(spec Spec) string { return spec.Dir }

func (treeSource) describe(k *Kernel) (summary, version string) {
	return fmt.Sprintf("%s (%s %s, %s config %s, %s)", k.Release, k.SourceDir, k.Revision, k.Flavour, k.ConfigHash, k.Compiler),
		k.Revision + " " + k.Flavour + "/" + k.ConfigHash
}

func (treeSource) named(k *Kernel) Spec {
	return Spec{Source: SourceTree, Dir: k.SourceDir, Flavour: k.Flavour}
}

// matches is false: a tree changes, so a stored build of it is found by
// its key (revision, flavour, config, gcc) instead.
func (treeSource) matches(Spec, *Kernel) bool { return false }

// get returns the kernel built from the source tree a src: spec names.
func (treeSource) get(ctx context.Context, s *Store, spec Spec, p *progress) (*Kernel, error) {
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return nil, err
	}
	version, err := checkTree(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	frag, cc, err := buildInputs(spec)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rev, err := treeRevision(ctx, dir)
	if err != nil {
		return nil, err
	}
	p.printf("%s is %s %s (identified in %s)", dir, version, rev, since(start))
	key := sourceKey(version, "src-"+rev, spec.Flavour, frag.Hash(buildRecipe), cc)
	return s.ensure(ctx, key, p, func(root string) (*Kernel, error) {
		k := &Kernel{Spec: spec.String(), Source: SourceTree, SourceDir: dir, Revision: rev}
		return k, s.buildSource(ctx, key, dir, frag, cc, root, k, p)
	})
}

// buildInputs returns what a kernel built from source depends on besides
// the source: the flavour's fragment and the host's gcc.
func buildInputs(spec Spec) (*kconfig.Fragment, string, error) {
	frag, err := flavourFragment(spec.Flavour)
	if err != nil {
		return nil, "", err
	}
	cc, err := hostCompiler()
	if err != nil {
		return nil, "", err
	}
	return frag, cc, nil
}

// buildSource builds the source tree src into root. A failed build's log
// is kept in <store>/logs.
func (s *Store) buildSource(ctx context.Context, key, src string, frag *kconfig.Fragment, cc, root string, k *Kernel, p *progress) error {
	k.Flavour, k.ConfigHash, k.Compiler = frag.Flavour, frag.Hash(buildRecipe), "gcc "+cc
	log, err := newBuildLog(filepath.Join(root, "build.log"))
	if err != nil {
		return err
	}
	b := &srcBuild{src: src, frag: frag, root: root, p: p, log: log}
	err = b.run(ctx, k)
	log.close()
	if err == nil {
		k.BuildLog = log.name
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	logs, _ := s.path("logs")
	kept := filepath.Join(logs, key+".log")
	if os.MkdirAll(logs, 0o755) == nil && copyFile(log.name, kept) == nil {
		return &BuildError{Err: err, Log: kept}
	}
	return &BuildError{Err: err}
}

// BuildError is a kernel that did not build here. Log is the whole build
// log, kept in the store.
type BuildError struct {
	Err error
	Log string
}

func (e *BuildError) Error() string {
	if e.Log == "" {
		return "building: " + e.Err.Error()
	}
	return fmt.Sprintf("building: %v\n(the whole log: %s)", e.Err, e.Log)
}

func (e *BuildError) Unwrap() error { return e.Err }
