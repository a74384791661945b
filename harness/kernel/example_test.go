// SPDX-License-Identifier: MIT

package kernel_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

// Fetch the default kernel and build a module against it.
func ExampleStore_Get() {
	spec, err := kernel.ParseSpec(kernel.DefaultSpec)
	if err != nil {
		log.Fatal(err)
	}
	store, err := kernel.DefaultStore()
	if err != nil {
		log.Fatal(err)
	}
	k, err := store.Get(context.Background(), spec, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	if k.CompilerMismatch != "" {
		log.Fatal(k.CompilerMismatch)
	}
	// Keep Prune away while the kernel is in use.
	release, err := store.Use(context.Background(), k)
	if err != nil {
		log.Fatal(err)
	}
	defer release()
	// make -C BuildDir M=DIR modules, or the same in the kernel's BuildRoot.
	build := k.ModuleMake(context.Background(), os.Getenv("PWD")+"/kmod")
	if err := build.Run(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("qemu-system-x86_64 -kernel", k.Image)
}

func ExampleParseSpec() {
	for _, s := range []string{"debian:6.12+deb13", "debian:6.1.0-57-rt", "debian-src:6.12@debug@amd64", "debian:latest", "debian:6.1@arm64", "debian:6.1@s390x"} {
		spec, err := kernel.ParseSpec(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s series %q, Debian %d, exact %q, package %q, flavour %q, arch %q\n",
			spec, spec.Source, spec.Series, spec.Dist, spec.Exact, spec.Package, spec.Flavour, spec.Arch)
	}
	// Output:
	// debian:6.12+deb13: debian series "6.12", Debian 13, exact "", package "", flavour "", arch ""
	// debian:6.1.0-57-rt: debian series "", Debian 0, exact "6.1.0-57", package "rt", flavour "", arch ""
	// debian-src:6.12@debug@amd64: debian-src series "6.12", Debian 0, exact "", package "", flavour "debug", arch "amd64"
	// kernel spec "debian:latest": bad argument "latest": want a series (6.1), a series for a Debian release (6.12+deb13), an ABI (6.1.0-57) or a package version (6.1.170-1); a spec is SOURCE:ARGUMENT[@QUALIFIER…]: debian:SERIES[+debNN][-rt|-cloud] (debian:6.1, debian:6.12+deb13, debian:6.1-rt), debian:ABI or debian:PACKAGE_VERSION (debian:6.1.0-57, debian:6.1.0-57-rt, debian:6.1.170-1), debian-src:SERIES|VERSION[@FLAVOUR] (debian-src:6.12@debug), src:DIR[@FLAVOUR] or path:IMAGE,KDIR; a qualifier is a config flavour (minimal, debug) or an architecture (amd64; arm64 and s390x for debian:)
	// debian:6.1@arm64: debian series "6.1", Debian 0, exact "", package "", flavour "", arch "arm64"
	// debian:6.1@s390x: debian series "6.1", Debian 0, exact "", package "", flavour "", arch "s390x"
}
