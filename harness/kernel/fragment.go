// SPDX-License-Identifier: MIT

package kernel

import (
	"embed"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/kconfig"
)

// configs holds the config fragments kernels built from source merge onto
// "make tinyconfig", one per flavour.
//
//go:embed configs/*.config
var configs embed.FS

// buildRecipe changes when the way kernels are built from source changes
// enough that entries built the old way must not be reused: it is part of
// the config hash.
const buildRecipe = "cnvmtest source build 1"

// Flavours returns the config flavours kernels built from source can use:
// the fragments in configs/, "minimal" and "debug".
func Flavours() []string {
	names, _ := fs.Glob(configs, "configs/*.config")
	var fl []string
	for _, n := range names {
		fl = append(fl, strings.TrimSuffix(filepath.Base(n), ".config"))
	}
	return fl
}

func isFlavour(name string) bool { return slices.Contains(Flavours(), name) }

// flavourFragment loads a flavour's fragment from configs/.
func flavourFragment(flavour string) (*kconfig.Fragment, error) {
	sub, err := fs.Sub(configs, "configs")
	if err != nil {
		return nil, err
	}
	return kconfig.Load(sub, flavour)
}

// ConfigError lists the options of a flavour's fragment that did not take
// in a kernel built here.
type ConfigError = kconfig.ConfigError
