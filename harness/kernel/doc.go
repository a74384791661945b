// Package kernel provisions the kernels cnvmtest boots.
//
// A [Spec] such as "debian:6.1" is resolved against Debian's archive to exact
// packages, which are downloaded, unpacked and prepared once into a [Store].
// [Store.Get] then returns a [Kernel]: an image QEMU boots directly (an
// uncompressed vmlinux with a PVH entry point, extracted from Debian's
// bzImage), the kernel's .config, and a kbuild tree that out-of-tree modules
// build against with "make -C BuildDir M=DIR modules".
//
// # Specs
//
//	debian:6.1           newest kernel of the 6.1 series in any suite, preferring
//	                     kernels built with the host's gcc
//	debian:6.12+deb13    newest 6.12 kernel built for Debian 13 (trixie)
//	debian:6.1.0-57      one ABI (the middle of the package name)
//	debian:6.12.57+deb12 likewise, for the newer naming
//	debian:6.1.170-1     one Debian package version
//
// The forms "path:IMAGE,KDIR" and "src:DIR" are reserved for kernels given by
// the user and kernels built from source.
//
// # Debian's archive
//
// The store keeps its own apt configuration (sources list, package lists,
// cache and an empty dpkg status) under <store>/apt and never touches the
// system's. It searches bullseye, bookworm, trixie, sid and experimental with
// their -security, -updates and -backports suites, main and amd64 only.
// The lists are refreshed when older than a day, or once when a spec does not
// resolve or a download fails, so a warm Get does no network I/O at all.
//
// # Cache layout
//
//	<store>/apt/                         private apt configuration and lists
//	<store>/kernels/<release>@<version>/ one unpacked kernel, kernel.json last
//	<store>/locks/                       flock files serialising builders
//	<store>/tmp/                         entries being built
//
// An entry holds the extracted vmlinux, the image package's /boot (or, for
// 7.x, linux-binary and linux-base), and the headers and linux-kbuild trees
// with their Makefile and symlinks made relative. Modules are not unpacked:
// the guest boots from an initramfs and loads only cnvmtest's own module.
// An entry without a valid kernel.json is incomplete and is rebuilt. Entries
// are built in tmp and renamed into place, and hold only relative paths and
// symlinks, so a store can be moved or restored from a CI cache.
//
// # Environment
//
//	CNVMTEST_CACHE          the store (default $XDG_CACHE_HOME/cnvmtest, else ~/.cache/cnvmtest)
//	CNVMTEST_DEBIAN_MIRROR  mirror base URL (default http://deb.debian.org), serving
//	                        /debian and /debian-security
//	CNVMTEST_NET_TESTS=1    run the integration tests, which download from Debian
//	                        (=all also fetches every series)
//
// apt honours http_proxy and the system's apt.conf.d as usual.
package kernel
