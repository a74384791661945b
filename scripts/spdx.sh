#!/usr/bin/env bash
# spdx.sh: SPDX license lines for the project's source files.
#
#   scripts/spdx.sh          add the missing lines, then check every file
#   scripts/spdx.sh -check   only check; exit 1 when a line is missing or wrong
#
# Go files are MIT (LICENSE): a file without an SPDX line gets
# "// SPDX-License-Identifier: MIT" and a blank line at its top, which keeps
# build constraints and package comments valid. Go files under testdata/
# are left alone: they are test fixtures whose line numbers are in golden
# files.
#
# The kernel modules (kmod/, the self-tests' fault module, the C client in
# vmtests/testdata and any other C source) are GPL-2.0 in the kernel's
# spelling (LICENSES/GPL-2.0-only.txt). Their C files must already carry
# the line (the kernel's checkpatch wants it in a file's first line, in
# its own comment style), so they are only checked; Kbuild files and module
# Makefiles get "# SPDX-License-Identifier: GPL-2.0" when it is missing.
#
# Only files known to git are looked at. Running it twice changes nothing
# the second time.
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"

check_only=false
case "${1:-}" in
-check) check_only=true ;;
"") ;;
*)
	echo "usage: $0 [-check]" >&2
	exit 2
	;;
esac

GO_ID=MIT
C_ID=GPL-2.0
bad=0
added=0

# has_spdx FILE: an SPDX line within the first lines of FILE.
has_spdx() {
	head -n 5 -- "$1" | grep -q 'SPDX-License-Identifier:'
}

# spdx_id FILE: the identifier FILE declares (empty when none).
spdx_id() {
	head -n 5 -- "$1" | sed -n 's/.*SPDX-License-Identifier:[[:space:]]*\([^[:space:]*]*\).*/\1/p' | head -n 1
}

# prepend FILE LINE: LINE and a blank line before FILE's content, keeping
# FILE's mode.
prepend() {
	local tmp
	tmp=$(mktemp "$1.spdx.XXXXXX")
	{
		printf '%s\n\n' "$2"
		cat -- "$1"
	} >"$tmp"
	chmod --reference="$1" "$tmp"
	mv -- "$tmp" "$1"
}

# fix FILE WANT LINE: check FILE declares WANT; add LINE when it declares
# nothing (unless checking only).
fix() {
	local f=$1 want=$2 line=$3 got
	if has_spdx "$f"; then
		got=$(spdx_id "$f")
		if [ "$got" != "$want" ]; then
			echo "$f: SPDX-License-Identifier is $got, want $want" >&2
			bad=1
		fi
	elif $check_only; then
		echo "$f: no SPDX-License-Identifier line (want $want)" >&2
		bad=1
	else
		prepend "$f" "$line"
		echo "$f: added $want"
		added=$((added + 1))
	fi
}

while IFS= read -r -d '' f; do
	case "/$f" in
	*/testdata/*) continue ;;
	esac
	fix "$f" "$GO_ID" "// SPDX-License-Identifier: $GO_ID"
done < <(git ls-files -z -- '*.go')

# C sources and headers: checked, never edited.
while IFS= read -r -d '' f; do
	if ! has_spdx "$f"; then
		echo "$f: no SPDX-License-Identifier line (want $C_ID in the first line)" >&2
		bad=1
		continue
	fi
	got=$(spdx_id "$f")
	if [ "$got" != "$C_ID" ]; then
		echo "$f: SPDX-License-Identifier is $got, want $C_ID" >&2
		bad=1
	fi
done < <(git ls-files -z -- '*.c' '*.h')

# Kbuild files and the Makefiles beside a module's C sources.
while IFS= read -r -d '' f; do
	case "$f" in
	*/Makefile)
		# Only a module's Makefile (one next to a Kbuild file or C sources).
		dir=$(dirname "$f")
		if [ ! -e "$dir/Kbuild" ] && [ -z "$(git ls-files -- "$dir/*.c")" ]; then
			continue
		fi
		;;
	esac
	fix "$f" "$C_ID" "# SPDX-License-Identifier: $C_ID"
done < <(git ls-files -z -- '*Kbuild' '*/Makefile')

if [ "$bad" != 0 ]; then
	echo "spdx.sh: some files lack a correct SPDX line (see above)" >&2
	exit 1
fi
if ! $check_only; then
	echo "spdx.sh: $added line(s) added"
fi
