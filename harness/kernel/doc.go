// SPDX-License-Identifier: MIT

// Package kernel provisions the kernels cnvmtest boots: Debian's, kernels
// built here from source with the project's config fragments, and kernels
// given by the user.
//
// A [Spec] names a kernel. [Store.Get] resolves it, downloads, prepares or
// builds it once into a [Store], and returns a [Kernel]: an image QEMU
// boots directly (an uncompressed vmlinux with a PVH entry point), the
// kernel's .config, a kbuild tree that out-of-tree modules build against
// ([Kernel.ModuleMake]), and a record of exactly what was used (versions,
// config hash, compilers) for results to cite.
//
// # Specs
//
// A spec is one line of one grammar for every source:
//
//	SPEC       = SOURCE ":" ARGUMENT *( "@" QUALIFIER )
//	SOURCE     = "debian" | "debian-src" | "src" | "path"
//	QUALIFIER  = FLAVOUR | ARCH
//	FLAVOUR    = a config flavour, for kernels built here: "minimal" (the
//	             default), "debug" or "coverage"; any configs/NAME.config
//	             is one
//	ARCH       = the architecture, Debian's name for it: "amd64" (the
//	             host's, the default) or, for debian: only, "arm64" or
//	             "s390x"; Debian's other names are refused as not
//	             supported yet
//
// Each source reads its own ARGUMENT (one file each, source_NAME.go):
//
//	debian:      VERSION [ "-" PACKAGE_FLAVOUR ]
//	debian-src:  VERSION
//	src:         DIR
//	path:        IMAGE "," KDIR
//
//	VERSION          = SERIES [ "+deb" N ] | ABI | PACKAGE_VERSION
//	PACKAGE_FLAVOUR  = "rt" | "cloud"   (Debian's package flavours, see PackageFlavours)
//
// Examples:
//
//	debian:6.1             newest kernel of the 6.1 series in any suite, preferring
//	                       kernels built with the host's gcc; any series the
//	                       archive has works (debian:6.16), none is listed here
//	debian:6.12+deb13      newest 6.12 kernel built for Debian 13 (trixie)
//	debian:6.1.0-57        one ABI (the middle of the package name)
//	debian:6.12.57+deb12   likewise, for the newer naming
//	debian:6.1.170-1       one Debian package version
//	debian:6.1-rt          newest 6.1 PREEMPT_RT kernel (linux-image-*-rt-amd64)
//	debian:6.1.0-57-rt     one ABI of it, as in its package name
//	debian:6.12+deb13-cloud  the cloud flavour of trixie's 6.12
//	debian:6.1@amd64       the same as debian:6.1: the host's architecture
//	debian:6.1@arm64       Debian's arm64 6.1 (linux-image-*-arm64-unsigned):
//	                       modules cross-built with aarch64-linux-gnu-gcc
//	                       (see cross.go), the guest emulated
//	debian:6.12+deb12@arm64  bookworm's arm64 6.12, built with gcc 12;
//	                       kernels built with a newer gcc than the cross
//	                       compiler (6.12+deb13's gcc-14) are refused
//	debian:6.1@s390x       Debian's s390x 6.1 (linux-image-*-s390x: no -unsigned
//	                       package), big-endian: modules cross-built with
//	                       s390x-linux-gnu-gcc (ARCH=s390); the store also
//	                       keeps the image's virtio_console module, which
//	                       the guest's result port needs (portmods.go)
//
//	debian-src:6.12        Debian's linux-source-6.12 (the newest in any suite),
//	                       built here with the minimal config flavour
//	debian-src:6.12@debug  the same with the debug flavour
//	debian-src:6.12+deb12  the newest linux-source-6.12 of bookworm's suites
//	debian-src:6.12.118-1  one version of linux-source-6.12
//
//	src:DIR                the kernel source tree DIR, built here (minimal)
//	src:DIR@debug          the same with the debug flavour
//
//	path:IMAGE,KDIR        a kernel given by the user, nothing built: IMAGE is an
//	                       ELF vmlinux with a PVH entry point or a bzImage, KDIR
//	                       the configured, built tree modules build against
//	                       (it needs include/config/kernel.release, .config,
//	                       Makefile and Module.symvers)
//
// Why it does not collide: Debian's versions and ABIs never hold "@" or
// end in a word other than "trunk" (6.19.0-trunk), so "-rt" and "-cloud"
// after a VERSION, and "@" before a qualifier, are unambiguous; a path may
// hold "@", and a last "@" followed by something that cannot be a
// qualifier name stays in it (src:/home/me/linux@2); name the flavour to be
// sure (src:DIR@2@minimal). A qualifier-like word that is none
// (src:DIR@work) is an error rather than a silent part of the path.
// Paths are made absolute when the kernel is got. [Spec.String] writes a
// spec back in this form, and ParseSpec reads it back to the same Spec.
//
// [ParseSpec] returns a *[SpecError] for a spec that does not parse (a
// usage error: nothing was downloaded); [ParseSpecs] parses a
// comma-separated matrix list, keeping path:IMAGE,KDIR whole
// ([SplitSpecs] only splits it).
//
// A Debian kernel that modules can no longer be built for, because the
// archive dropped its linux-kbuild at its version while keeping the image
// (debian:6.1.0-0.deb11.48), is refused at resolution with an
// *[UnbuildableError] naming the newest kernel of the series that can be
// built for; a series spec never picks one.
//
// # Kernels built from source
//
// debian-src: and src: kernels are configured from "make tinyconfig" and a
// flavour's fragment in configs/ (merged with the tree's own
// scripts/kconfig/merge_config.sh -m, then "make olddefconfig"):
//
//	minimal  what the guest needs: PVH boot, serial console, initramfs, the Go
//	         runtime's system calls, modules, the connector, namespaces,
//	         ACPI power-off, hung-task detection
//	debug    minimal plus KASAN (generic, inline), KFENCE, kmemleak (no scan
//	         thread: tests ask for scans), lockdep (PROVE_LOCKING), atomic-sleep,
//	         soft- and hard-lockup detection, DEBUG_LIST, UBSAN bounds
//	coverage minimal plus gcov (GCOV_KERNEL, not GCOV_PROFILE_ALL) and fault
//	         injection (FAILSLAB, FAIL_PAGE_ALLOC, their debugfs)
//
// A kernel with CONFIG_GCOV_KERNEL profiles drivers/connector and nothing
// else: the build passes GCOV_PROFILE_<object>.o=y for its objects on
// make's command line (no tree is edited) and fails if any other object
// was profiled. Its notes (.gcno) and sources are kept in the entry's
// gcov/ (Kernel.Gcov), named relative to it through gcc's
// -fprofile-prefix-map (GCC 12 or newer), and modules built against it get
// GCOV_PROFILE=y (Kernel.ModuleMakeArgs).
//
// Every option a fragment sets must hold in the final .config, or the build
// fails with a [ConfigError] naming each option that did not take and
// whether the kernel lacks it or its dependencies are unmet. A fragment line
// "# optional: WHY" makes the option under it optional (a warning, kept in
// Kernel.ConfigWarnings); "#include NAME" merges another fragment first.
//
// The build is "make -jN bzImage modules" with O= an object tree (modules
// writes the Module.symvers out-of-tree builds need), then the kernel's
// scripts/package/install-extmod-build turns the object tree into a kbuild
// tree like Debian's headers packages, a test module is built against it,
// and the source and objects are dropped: a minimal 6.12 entry is 81 MB.
// Kernels without that script (6.1 and older) keep the object tree, less its
// objects, and a copy of the source instead (about 1.5 GB). Every command and its output go to the entry's build.log;
// a failed build's log is kept in <store>/logs. Long downloads and builds
// print a progress line every 10 seconds.
//
// The image is the vmlinux (PVH direct boot), except for KASAN kernels:
// entered through PVH, 6.12's early code calls the instrumented memcmp
// before KASAN's shadow is mapped and triple-faults, so they boot their
// bzImage (Kernel.ImageFallback says so).
//
// A built kernel is stored under its kernel version, where its source came
// from (a linux-source package version; a git commit, with a hash of local
// changes; or a fingerprint of the tree's files), the flavour and config
// hash (of the fragments and the build recipe), and the host's gcc
// (gcc -dumpfullversion): so a bisection that moves a src: tree builds
// each step once, and a new gcc or fragment builds afresh.
//
// # Compilers
//
// Modules must be built with the gcc the kernel was built with, or one
// close to it. Kernels built here use the host's. For Debian's:
//
//   - An older gcc (5.10 with gcc-10 on a gcc 12 host): Debian's headers
//     call gcc-10 by name, so when it is missing ModuleMakeArgs holds CC=gcc.
//   - A newer gcc (6.12+deb13 with gcc-14, 7.x with gcc-16): the host's gcc
//     rejects its options. Get makes a build root, a debootstrap
//     --variant=minbase of the kernel's suite (trixie; sid for
//     experimental) with that gcc, make, libc6-dev, libelf-dev, bc, flex and
//     bison, once per suite and compiler (renewed monthly) under
//     <store>/toolchains, and sets Kernel.BuildRoot. [Kernel.ModuleMake]
//     then runs the module build chrooted into it, in a private mount
//     namespace with the kernel's entry and the module bind-mounted. Making
//     the root needs root and debootstrap; without them Get warns and
//     CompilerMismatch says why modules will not build. debian-src:SERIES,
//     the same kernel source built with the host's gcc, needs neither.
//
// # Debian's archive
//
// The store keeps its own apt configuration (sources list, package lists,
// cache and an empty dpkg status) under <store>/apt and never touches the
// system's. It verifies the archive with Debian's archive keyring
// (/usr/share/keyrings/debian-archive-keyring.gpg, from the
// debian-archive-keyring package): on a host without it (Ubuntu), apt
// verifies no suite, and Get fails at once with [ErrArchiveUnverified],
// naming the fix. It searches bullseye, bookworm, trixie, sid and experimental with
// their -security, -updates and -backports suites, main and amd64 only;
// arm64 and s390x kernels come through the same configuration with their
// architecture added, in <store>/apt-ARCH (their image and headers got as
// NAME:ARCH, with the host's linux-kbuild to build modules).
// Which series exist is read from the lists, so new series need no change
// here. The lists are refreshed when older than a day, or once when a spec
// does not resolve or a download fails, so a warm Get does no network I/O.
// What a spec resolved to is kept in <store>/resolved with a fingerprint of
// the files apt-cache read (lists, sources list, apt configuration: their
// inodes, sizes and times) and of the program, and reused while that
// fingerprint holds, so a warm Get does not run apt-cache either; any
// update of the lists makes the next Get resolve afresh.
//
// # Cache layout
//
//	<store>/apt/                         private apt configuration and lists
//	<store>/kernels/<release>@<version>/ one unpacked Debian kernel, kernel.json last
//	<store>/kernels/<version>@<origin>-<flavour>-<config>-gcc<version>/
//	                                     one kernel built here, kernel.json last
//	<store>/toolchains/<suite>-gcc-N@<date>/  build roots, toolchain.json last
//	<store>/resolved/                    what specs resolved to, per package lists
//	<store>/used/                        when each entry was last used
//	<store>/logs/                        logs of failed builds
//	<store>/locks/                       flock files serialising builders
//	<store>/tmp/                         entries being built
//
// A Debian entry holds the extracted vmlinux, the image package's /boot
// (or, for 7.x, linux-binary and linux-base), and the headers and
// linux-kbuild trees with their Makefile and symlinks made relative.
// Modules are not unpacked: the guest boots from an initramfs and loads
// only cnvmtest's own module. An entry without a valid kernel.json is
// incomplete and is rebuilt. Its image.verified records the image's
// identity (inode, size, times) when its sha256 last matched the manifest,
// so a Get hashes the image again only after it changed. Entries are built
// in tmp and renamed into place, and hold only relative paths and
// symlinks, so a store can be moved or restored from a CI cache.
//
// [Store.List] and [Store.Toolchains] list the store; [Store.Prune] and
// [Store.PruneToolchains] remove what a caller no longer wants (by last
// use, see [OlderThan]). A process using a kernel holds it with
// [Store.Use], and Prune skips it, as it skips entries being built: all of
// it is safe under concurrent runs.
//
// # Environment
//
//	CNVMTEST_CACHE          the store (default $XDG_CACHE_HOME/cnvmtest, else ~/.cache/cnvmtest)
//	CNVMTEST_DEBIAN_MIRROR  mirror base URL (default http://deb.debian.org), serving
//	                        /debian and /debian-security; build roots come from it too
//	CNVMTEST_BUILD_JOBS     make -j for kernels built here (default: one per CPU)
//	CNVMTEST_NET_TESTS=1    run the integration tests, which download from Debian
//	                        and build a minimal 6.12 (=all also fetches every series
//	                        and builds the debug flavour)
//
// apt honours http_proxy and the system's apt.conf.d as usual.
package kernel
