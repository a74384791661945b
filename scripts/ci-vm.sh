#!/usr/bin/env bash
# ci-vm.sh STEP: the steps of the workflows' VM job, kept here so that the
# workflows and `make ci-rehearsal` run the same commands.
#
#   ci-vm.sh deps     make deps (it installs debian-archive-keyring too);
#                     with APT_ARCHIVES set, apt keeps its downloads there,
#                     a directory the workflow caches
#   ci-vm.sh vmtest   make vmtest on $KERNEL (default debian:6.1) with -v,
#                     -accel $ACCEL (default kvm: a runner without working
#                     KVM fails instead of crawling under emulation; tcg
#                     for an @arm64 or @s390x kernel, which KVM cannot run
#                     here), the
#                     results table appended to $GITHUB_STEP_SUMMARY when
#                     that is set, and any extra $VMFLAGS
#   ci-vm.sh coverage make coverage the same way ($COVERAGE_KERNEL, default
#                     debian-src:6.12@coverage), the coverage table in the
#                     summary too, and the report copied to
#                     out/coverage-report (coverage.info, coverage.json,
#                     html/, src/) for upload
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=
if [ "$(id -u)" != 0 ]; then
	sudo=sudo
fi

# accel is $ACCEL, else kvm for the host's architecture; KVM runs only
# the host's architecture, so arm64 and s390x guests are emulated.
accel() {
	case "${KERNEL:-}" in
	*@arm64* | *@s390x*) echo "${ACCEL:-tcg}" ;;
	*) echo "${ACCEL:-kvm}" ;;
	esac
}

case "${1:-}" in
deps)
	if [ -n "${APT_ARCHIVES:-}" ]; then
		mkdir -p "$APT_ARCHIVES/partial"
		make deps APT_OPTS="-o Dir::Cache::Archives=$APT_ARCHIVES"
		# apt-get ran as root: the cache must be the user's to be saved.
		$sudo chown -R "$(id -u):$(id -g)" "$APT_ARCHIVES"
	else
		make deps
	fi
	;;
vmtest)
	flags="-v -accel $(accel)"
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		flags="$flags -markdown $GITHUB_STEP_SUMMARY"
	fi
	make vmtest KERNEL="${KERNEL:-debian:6.1}" VMFLAGS="$flags${VMFLAGS:+ $VMFLAGS}"
	;;
coverage)
	flags="-v -accel ${ACCEL:-kvm}"
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		flags="$flags -markdown $GITHUB_STEP_SUMMARY"
	fi
	status=0
	make coverage ${COVERAGE_KERNEL:+COVERAGE_KERNEL="$COVERAGE_KERNEL"} VMFLAGS="$flags${VMFLAGS:+ $VMFLAGS}" || status=$?
	rm -rf out/coverage-report
	mkdir -p out/coverage-report
	for f in coverage.info coverage.json html src tests; do
		if [ -e "out/latest/$f" ]; then
			cp -rL "out/latest/$f" out/coverage-report/
		fi
	done
	exit "$status"
	;;
selftest | selftest-debug)
	CNVMTEST_ACCEL="$(accel)"
	export CNVMTEST_ACCEL CNVMTEST_SELFTEST_OUT="$PWD/out/selftest"
	make "$1" KERNEL="${KERNEL:-debian:6.1}" ${DEBUG_KERNEL:+DEBUG_KERNEL="$DEBUG_KERNEL"}
	;;
*)
	echo "usage: $0 deps|vmtest|coverage|selftest|selftest-debug" >&2
	exit 2
	;;
esac
