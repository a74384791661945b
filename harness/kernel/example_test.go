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
	for _, s := range []string{"debian:6.12+deb13", "debian:6.1.0-57", "debian-src:6.12@debug", "debian:latest"} {
		spec, err := kernel.ParseSpec(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s series %q, Debian %d, exact %q, flavour %q\n", spec, spec.Source, spec.Series, spec.Dist, spec.Exact, spec.Flavour)
	}
	// Output:
	// debian:6.12+deb13: debian series "6.12", Debian 13, exact "", flavour "amd64"
	// debian:6.1.0-57: debian series "", Debian 0, exact "6.1.0-57", flavour "amd64"
	// debian-src:6.12@debug: debian-src series "6.12", Debian 0, exact "", flavour "debug"
	// unknown kernel spec "debian:latest": want debian:SERIES[+debNN] (debian:6.1, debian:6.12+deb13), debian:ABI (debian:6.1.0-57, debian:6.12.57+deb12), debian:PACKAGE_VERSION (debian:6.1.170-1), debian-src:SERIES[@FLAVOUR] (debian-src:6.12@debug), src:DIR[@FLAVOUR] or path:IMAGE,KDIR
}
