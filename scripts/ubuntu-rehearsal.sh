#!/usr/bin/env bash
# ubuntu-rehearsal.sh: the CI VM job's steps on this host as on a fresh
# GitHub Ubuntu runner, as far as one can without one. Run as root
# (`make ci-rehearsal`); nothing outside a private mount namespace and a
# temporary directory changes, except what `make deps` installs and the
# run directory `make vmtest` leaves under out/.
#
# An Ubuntu runner has no Debian archive keyring until `make deps`
# installs debian-archive-keyring. In a private mount namespace this
# script hides every keyring apt could use (/usr/share/keyrings,
# /etc/apt/trusted.gpg.d, /etc/apt/keyrings, /etc/apt/trusted.gpg), points
# the kernel store (CNVMTEST_CACHE) at an empty directory, and then
#
#   1. fetches the kernel: this must fail, soon, with a message naming
#      debian-archive-keyring (and not, say, "no matching kernel package");
#   2. shows only /usr/share/keyrings/debian-archive-keyring.gpg, as the
#      package installs it on Ubuntu, and runs the job's own steps,
#      scripts/ci-vm.sh deps and scripts/ci-vm.sh vmtest, into another
#      empty store.
#
# What differs from a runner: the host's own packages and apt sources stay
# (so make deps finds debian-archive-keyring installed and installs
# nothing), Go's caches are the host's, and the accelerator is what the
# host has (ACCEL, default auto, where the workflow demands kvm).
#
# Environment: KERNEL (default debian:6.1), ACCEL (default auto), GO,
# REHEARSAL_FETCH_ONLY=1 to stop after step 1, REHEARSAL_KEEP=1 to keep
# the temporary directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
KERNEL=${KERNEL:-debian:6.1}
GO=${GO:-go}
export KERNEL GO

if [ "$(id -u)" != 0 ]; then
	echo "ubuntu-rehearsal: run as root (it needs a private mount namespace): sudo $0" >&2
	exit 2
fi

# Re-run inside a new mount namespace whose mounts do not propagate back.
if [ "${CNVMTEST_REHEARSAL_NS:-}" != 1 ]; then
	export CNVMTEST_REHEARSAL_NS=1
	exec unshare --mount --propagation private -- "$0" "$@"
fi

say() { printf '\n==> %s\n' "$*"; }
fail() {
	echo "ubuntu-rehearsal: FAIL: $*" >&2
	exit 1
}

if [ ! -s "$keyring" ]; then
	fail "$keyring is missing on this host: install debian-archive-keyring first (phase 2 shows it alone)"
fi

tmp=$(mktemp -d /tmp/cnvmtest-rehearsal.XXXXXX)
mounts=()
# bind SRC DST: mount SRC over DST in this namespace, remembered for cleanup.
bind() {
	mount --bind "$1" "$2"
	mounts+=("$2")
}
cleanup() {
	local i
	# The mounts pin their sources in $tmp: undo them, newest first.
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" || true
	done
	if [ "${REHEARSAL_KEEP:-}" = 1 ]; then
		echo "ubuntu-rehearsal: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
mkdir -p "$tmp/empty" "$tmp/only-debian" "$tmp/bin"
: >"$tmp/empty-file"
cp "$keyring" "$tmp/only-debian/"

# hide_keyrings: every place apt takes trusted keys from, emptied.
hide_keyrings() {
	local d
	for d in /usr/share/keyrings /etc/apt/trusted.gpg.d /etc/apt/keyrings; do
		if [ -d "$d" ]; then
			bind "$tmp/empty" "$d"
		fi
	done
	if [ -e /etc/apt/trusted.gpg ]; then
		bind "$tmp/empty-file" /etc/apt/trusted.gpg
	fi
}

# check_hidden WANT: the files under /usr/share/keyrings are exactly WANT,
# and apt's other key places are empty.
check_hidden() {
	local want=$1 got d
	got=$(find /usr/share/keyrings -mindepth 1 -printf '%f ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "/usr/share/keyrings holds '$got', want '$want'"
	for d in /etc/apt/trusted.gpg.d /etc/apt/keyrings; do
		if [ -d "$d" ] && [ -n "$(ls -A "$d")" ]; then
			fail "$d is not hidden"
		fi
	done
	if [ -s /etc/apt/trusted.gpg ]; then
		fail "/etc/apt/trusted.gpg is not hidden"
	fi
}

say "building the CLI"
(cd "$repo" && "$GO" build -o "$tmp/bin/cnvmtest" ./cmd/cnvmtest)

say "phase 1: no Debian keyring, empty kernel store: cnvmtest kernels get $KERNEL must fail naming debian-archive-keyring"
hide_keyrings
check_hidden ""
start=$(date +%s)
set +e
CNVMTEST_CACHE="$tmp/store-nokey" timeout 300 "$tmp/bin/cnvmtest" kernels get "$KERNEL" >"$tmp/fetch.log" 2>&1
status=$?
set -e
took=$(($(date +%s) - start))
sed 's/^/    /' "$tmp/fetch.log" | tail -n 20
echo "exit status $status after ${took}s"
if [ "$status" = 0 ]; then
	fail "the kernel fetch succeeded without a Debian keyring"
fi
if [ "$status" = 124 ]; then
	fail "the kernel fetch without a Debian keyring did not end within 300s"
fi
if ! grep -q 'debian-archive-keyring' "$tmp/fetch.log"; then
	fail "the kernel fetch failed without naming debian-archive-keyring"
fi
if [ "$took" -gt 60 ]; then
	echo "ubuntu-rehearsal: warning: the failure took ${took}s (more than a minute)" >&2
fi
echo "phase 1 passed: the fetch failed in ${took}s naming debian-archive-keyring"

if [ "${REHEARSAL_FETCH_ONLY:-}" = 1 ]; then
	exit 0
fi

say "phase 2: only $keyring, as after make deps on Ubuntu; the VM job's steps"
bind "$tmp/only-debian" /usr/share/keyrings
check_hidden debian-archive-keyring.gpg
export CNVMTEST_CACHE="$tmp/store"
export ACCEL="${ACCEL:-auto}"
# The runner's job summary, where ci-vm.sh has the CLI append its table.
export GITHUB_STEP_SUMMARY="$tmp/step-summary.md"
: >"$GITHUB_STEP_SUMMARY"
if ! "$tmp/bin/cnvmtest" run -h 2>&1 | grep -q -- '-markdown'; then
	echo "ubuntu-rehearsal: warning: this CLI has no -markdown flag; the job summary is left out (the workflow would fail)" >&2
	unset GITHUB_STEP_SUMMARY
fi
cd "$repo"
say "scripts/ci-vm.sh deps"
scripts/ci-vm.sh deps
say "scripts/ci-vm.sh vmtest (KERNEL=$KERNEL ACCEL=$ACCEL)"
scripts/ci-vm.sh vmtest
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	say "the job summary"
	cat "$GITHUB_STEP_SUMMARY"
fi
echo "ubuntu-rehearsal: passed"
