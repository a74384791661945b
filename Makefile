# cnvmtest: `make vmtest` boots a real kernel and runs the guest tests;
# `make test` runs the host unit tests and then the VM suite.

KERNEL ?= debian:6.1
# The kernel of make selftest-debug: KASAN, lockdep, kmemleak (a source
# build, harness/kernel/configs/debug.config).
DEBUG_KERNEL ?= debian-src:6.12@debug
# Extra flags for the CLI, e.g. VMFLAGS='-run TestEcho -v'.
VMFLAGS ?=
GO ?= go
OUT ?= out

# Debian packages the harness needs: QEMU, the module build tools, apt
# tooling to fetch kernels, and lcov for the kernel's coverage.
DEB_PACKAGES = qemu-system-x86 make gcc libc6-dev bc flex bison libelf-dev \
	libssl-dev dwarves cpio xz-utils zstd kmod apt dpkg-dev ca-certificates \
	debootstrap debian-archive-keyring lcov
# What arm64 guests need besides (make deps-arm64, or make deps with an
# arm64 kernel in KERNEL): QEMU's arm emulators, the cross compiler the
# module is built with, and its C library for the static C client.
DEB_PACKAGES_ARM64 = qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
ARM64 = $(findstring @arm64,$(KERNEL))
# The same for s390x guests (make deps-s390x): qemu-system-s390x and the
# s390x cross compiler. Ubuntu packages qemu-system-s390x on its own;
# Debian 12 has it in qemu-system-misc, which deps installs instead where
# apt has no qemu-system-s390x, and a qemu-system-s390x on PATH counts as
# installed.
DEB_PACKAGES_S390X = qemu-system-s390x gcc-s390x-linux-gnu libc6-dev-s390x-cross
S390X = $(findstring @s390x,$(KERNEL))
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Extra apt-get options, e.g. an archives directory that CI caches.
APT_OPTS ?=

.PHONY: all deps deps-arm64 deps-s390x unit vmtest smoke coverage vmshell selftest selftest-debug standalone test bench vet lint-workflows ci-rehearsal clean FORCE

all: test

# deps installs what is missing, and nothing when all is there; with an
# arm64 kernel in KERNEL (make vmtest KERNEL=debian:6.1@arm64) what deps-arm64
# installs too, and with an s390x kernel what deps-s390x installs.
deps: PACKAGES = $(DEB_PACKAGES) $(if $(ARM64),$(DEB_PACKAGES_ARM64)) $(if $(S390X),$(DEB_PACKAGES_S390X))
deps-arm64: PACKAGES = $(DEB_PACKAGES) $(DEB_PACKAGES_ARM64)
deps-s390x: PACKAGES = $(DEB_PACKAGES) $(DEB_PACKAGES_S390X)
deps deps-arm64 deps-s390x:
	@installed=" $$(dpkg-query -W -f='$${Status} $${Package}\n' $(PACKAGES) 2>/dev/null | awk '$$3 == "installed" { printf "%s ", $$4 }')"; \
	missing=""; for p in $(PACKAGES); do \
		case "$$installed" in *" $$p "*) continue;; esac; \
		[ "$$p" = qemu-system-s390x ] && command -v qemu-system-s390x >/dev/null && continue; \
		missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		missing=$$(for p in $$missing; do \
			if [ "$$p" = qemu-system-s390x ] && ! apt-cache policy qemu-system-s390x | grep -q 'Candidate: [0-9]'; then \
				echo qemu-system-misc; else echo "$$p"; fi; done) && \
		echo "make deps: installing" $$missing && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_OPTS) $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "make deps: Go 1.26 is required (https://go.dev/doc/install)"; exit 1; }

unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@scripts/spdx.sh -check

# The CLI is built rather than `go run`, which would turn every exit
# status into 1 and hide the outcome.
CNVMTEST = $(OUT)/bin/cnvmtest

$(CNVMTEST): FORCE
	$(GO) build -o $@ ./cmd/cnvmtest

# An independent C client the guest suite cross-checks the Go client with.
CNCLIENT = $(OUT)/cnclient

$(CNCLIENT): vmtests/testdata/cnclient.c
	@mkdir -p $(OUT)
	$(CC) -static -O2 -Wall -o $@ $<

# The same client for arm64 guests, which take it before the host's.
CNCLIENT_ARM64 = $(OUT)/cnclient-arm64

$(CNCLIENT_ARM64): vmtests/testdata/cnclient.c
	@mkdir -p $(OUT)
	aarch64-linux-gnu-gcc -static -O2 -Wall -o $@ $<

# And for s390x guests.
CNCLIENT_S390X = $(OUT)/cnclient-s390x

$(CNCLIENT_S390X): vmtests/testdata/cnclient.c
	@mkdir -p $(OUT)
	s390x-linux-gnu-gcc -static -O2 -Wall -o $@ $<

vmtest: deps $(CNVMTEST) $(CNCLIENT) $(if $(ARM64),$(CNCLIENT_ARM64)) $(if $(S390X),$(CNCLIENT_S390X))
	$(CNVMTEST) run -kernel $(KERNEL) -out $(OUT) -junit $(OUT)/junit.xml \
		-file $(CNCLIENT) $(if $(ARM64),-file $(CNCLIENT_ARM64)) $(if $(S390X),-file $(CNCLIENT_S390X)) \
		-env CNVMTEST_CNCLIENT=required $(VMFLAGS)

# The suite's kernel coverage (README: Kernel coverage): the whole suite on a
# kernel built with gcov for drivers/connector, the module profiled too;
# the run directory gets coverage.info and html/index.html.
# COVERAGE=per-test adds one tracefile per top-level test.
COVERAGE_KERNEL ?= debian-src:6.12@coverage
COVERAGE ?= run

coverage: deps $(CNVMTEST) $(CNCLIENT)
	@$(CNVMTEST) run -kernel $(COVERAGE_KERNEL) -coverage $(COVERAGE) -out $(OUT) -junit $(OUT)/coverage-junit.xml \
		-file $(CNCLIENT) -env CNVMTEST_CNCLIENT=required $(VMFLAGS); status=$$?; \
	report="$$(readlink -f $(OUT)/latest)/html/index.html"; \
	if [ -f "$$report" ]; then echo "make coverage: report $$report"; else echo "make coverage: no report was written"; status=1; fi; \
	exit $$status

# The harness's own fault-injection tests: each case boots a guest with a
# planted fault (WARN, oops, panic, hang, soft lockup, RCU stall, a WARN
# at unload, Go crash, QEMU killed, broken module, unbootable image, the
# T34 unload oops...) and checks the outcome, the report and its
# attribution.
# The fault self-tests on each kernel of KERNEL, a comma-separated list
# (make selftest KERNEL=debian:6.1,debian:7.2), two guests at a time: the
# tests bound the guests themselves and start the long ones first, so
# -parallel only has to let every case wait for a guest.
selftest: deps
	CNVMTEST_SELFTEST=1 CNVMTEST_KERNEL=$(KERNEL) $(GO) test -timeout 30m -parallel 64 -v ./harness/selftest
	CNVMTEST_SELFTEST=1 $(GO) test -count=1 -run '^TestGotestsumSeesNoErrors$$' -v ./cmd/cnvmtest

# The fault cases that need the debug kernel's detectors (kmemleak, KASAN,
# lockdep) or SLUB debugging (slub_debug=F on the first kernel of KERNEL),
# and the cn_proc sk_user_data leak as kmemleak reports it. The debug
# kernel runs several times slower than a Debian one under TCG.
selftest-debug: deps
	CNVMTEST_SELFTEST=1 CNVMTEST_DEBUG=1 CNVMTEST_DEBUG_KERNEL=$(DEBUG_KERNEL) CNVMTEST_KERNEL=$(KERNEL) \
		$(GO) test -timeout 60m -parallel 64 -v -run '^(TestFaults|TestSkdataLeak)$$' ./harness/selftest

# examples/cnupper used as its README says, from a temporary directory,
# with the CLI installed by go install from a temporary copy of this
# checkout, while the copy and the checkout are hidden in a mount namespace.
standalone: deps
	CNVMTEST_SELFTEST=1 $(GO) test -count=1 -timeout 30m -v ./harness/standalone

# The whole suite on a big-endian guest, Debian's s390x 6.1 under TCG:
# every make test proves the byte order of the wire format (README, s390x
# guests). About 45 s warm; the first time, make deps installs the s390x
# tools and the store fetches the kernel (32 MB).
SMOKE_KERNEL ?= debian:6.1@s390x

smoke:
	$(MAKE) vmtest KERNEL=$(SMOKE_KERNEL) OUT=$(OUT)/smoke VMFLAGS='$(VMFLAGS)'

test: unit vmtest smoke selftest standalone

# An interactive u-root shell in the guest with the module loaded.
vmshell: deps $(CNVMTEST)
	$(CNVMTEST) shell -kernel $(KERNEL) $(VMFLAGS)

# Benchmarks of cnvmtest itself (README: Benchmarks). BENCHFLAGS='-n 3' for
# a quick look, BENCHFLAGS=-cold adds a cold start from empty caches.
BENCH_KERNELS ?= debian:6.1,debian-src:6.12
BENCHFLAGS ?=

bench: deps $(CNVMTEST)
	$(CNVMTEST) bench -kernels $(BENCH_KERNELS) $(BENCHFLAGS)

# The CI tools (actionlint, gotestsum) are pinned by `tool` lines of their
# own module, tools/go.mod, so that the root go.mod, which users require for
# the connector package, does not carry them. GOTOOL runs one from any
# directory of this checkout: $(GOTESTSUM) -- -race ./...
GOTOOL = $(GO) tool -modfile=$(CURDIR)/tools/go.mod
GOTESTSUM = $(GOTOOL) gotestsum

# lint-workflows checks .github with actionlint, which also runs shellcheck
# on run: scripts and pyflakes on Python ones when they are installed
# (apt-get install shellcheck pyflakes3), and shellcheck on scripts/.
PYFLAKES = $(shell command -v pyflakes3 || command -v pyflakes)
SHELLCHECK = $(shell command -v shellcheck)

lint-workflows:
	$(GOTOOL) actionlint $(if $(PYFLAKES),-pyflakes $(PYFLAKES),-pyflakes=) \
		$(if $(SHELLCHECK),-shellcheck $(SHELLCHECK),-shellcheck=) .github/workflows/*.yml
	$(if $(SHELLCHECK),$(SHELLCHECK) scripts/*.sh,@echo "lint-workflows: shellcheck not installed, scripts/ and run: scripts unchecked")

# ci-rehearsal runs the CI VM job's steps on this host as on a fresh Ubuntu
# runner (README: Continuous integration): Debian's keyrings hidden in a
# private mount namespace, an empty kernel store. It needs root.
# ACCEL=kvm demands KVM as CI does; REHEARSAL_FETCH_ONLY=1 stops after the
# keyring check.
ci-rehearsal:
	$(SUDO) env PATH="$$PATH" GO=$(GO) KERNEL=$(KERNEL) ACCEL="$$ACCEL" \
		REHEARSAL_FETCH_ONLY="$$REHEARSAL_FETCH_ONLY" REHEARSAL_KEEP="$$REHEARSAL_KEEP" \
		scripts/ubuntu-rehearsal.sh

clean:
	rm -rf $(OUT)
