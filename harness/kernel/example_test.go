package kernel_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"

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
	build := exec.Command("make", "-C", k.BuildDir, "M="+os.Getenv("PWD")+"/kmod", "modules")
	if err := build.Run(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("qemu-system-x86_64 -kernel", k.Image)
}

func ExampleParseSpec() {
	for _, s := range []string{"debian:6.12+deb13", "debian:6.1.0-57", "debian:latest"} {
		spec, err := kernel.ParseSpec(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: series %q, Debian %d, exact %q\n", spec, spec.Series, spec.Dist, spec.Exact)
	}
	// Output:
	// debian:6.12+deb13: series "6.12", Debian 13, exact ""
	// debian:6.1.0-57: series "", Debian 0, exact "6.1.0-57"
	// unknown kernel spec "debian:latest": want debian:SERIES[+debNN] (debian:6.1, debian:6.12+deb13), debian:ABI (debian:6.1.0-57, debian:6.12.57+deb12) or debian:PACKAGE_VERSION (debian:6.1.170-1)
}
