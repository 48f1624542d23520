#!/usr/bin/env bash
# Docs and packaging, no agent needed (so this file does not use lib.sh):
# the man pages render without warnings and hold every --help text word for
# word, the systemd unit is valid, and `make install DESTDIR=...` puts every
# file in place (and `make uninstall` takes them away again).
# Prints one "PASS name" / "FAIL name" line per test, like the other e2e files.
set -u
E2E_BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD="$ROOT/$E2E_BUILD"
case $E2E_BUILD in /*) BUILD=$E2E_BUILD ;; esac
TMP=$(mktemp -d /tmp/xsl-docs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

log() { echo "  # $*"; }
fail() {
	echo "  # $*"
	FAILED=1
	return 1
}

# make of this tree, not part of an outer make's jobserver
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$ROOT" BUILD="$E2E_BUILD" "$@"; }

# A page as a reader sees it, in ASCII, all whitespace runs made one space.
rendered() { MANWIDTH=80 LC_ALL=C man -l "$1" 2>/dev/null | tr -s ' \n\t' '   '; }

# The commands listed under "Commands:" in `xslctl --help`, one a line.
xslctl_commands() {
	"$BUILD/xslctl" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit }
		on { c = ""; for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) c = c (c ? " " : "") $i; print c }'
}

# Every line of the help text on stdin is in the rendered page $1. help2man
# turns "Usage: " into the SYNOPSIS and headings ("Options:") into section
# names, so those two are compared without their decoration.
help_in_page() {
	local page=$1 what=$2 text line missing=0
	text=$(rendered "$page")
	while IFS= read -r line; do
		line=$(echo "$line" | sed 's/^ *Usage: //' | tr -s ' \t' '  ' | sed 's/^ //; s/ $//')
		[ -z "$line" ] && continue
		[[ $line =~ ^[A-Z][A-Za-z\ ]*:$ ]] && continue
		if [[ $text != *"$line"* ]]; then
			fail "$(basename "$page"): missing from $what: '$line'"
			missing=1
		fi
	done
	return $missing
}

test_man_pages_build() {
	mk man || return 1
	[ -s "$BUILD/man/xsl-agent.8" ] || fail "no $BUILD/man/xsl-agent.8"
	[ -s "$BUILD/man/xslctl.8" ] || fail "no $BUILD/man/xslctl.8"
}

test_man_pages_render_without_warnings() {
	local p w
	for p in "$BUILD/man/xsl-agent.8" "$BUILD/man/xslctl.8"; do
		w=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
		[ -z "$w" ] || fail "$(basename "$p") warnings: $w"
		# apropos/whatis find it: a NAME line mandb can read
		lexgrog "$p" >/dev/null || fail "$(basename "$p"): lexgrog finds no NAME"
	done
}

test_every_help_text_is_in_its_man_page() {
	local cmd n=0
	# process substitution, not a pipe: fail must run in this shell
	help_in_page "$BUILD/man/xsl-agent.8" "xsl-agent --help" < <("$BUILD/xsl-agent" --help)
	help_in_page "$BUILD/man/xslctl.8" "xslctl --help" < <("$BUILD/xslctl" --help)
	while read -r cmd; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # "show sessions" is two words
		help_in_page "$BUILD/man/xslctl.8" "xslctl $cmd --help" < <("$BUILD/xslctl" $cmd --help)
		grep -qx ".SS \"xslctl $cmd\"" "$BUILD/man/xslctl.8" || fail "no subsection for xslctl $cmd"
	done < <(xslctl_commands)
	log "$n xslctl commands, each with its --help in xslctl.8"
	[ "$n" -ge 10 ] || fail "only $n commands found in xslctl --help"
	[ "$(grep -c '^\.SS ' "$BUILD/man/xslctl.8")" -eq "$n" ] || fail "COMMANDS subsections differ from the $n commands"
}

# Where bash-completion looks under PREFIX $1 (as the Makefile asks it).
bash_completion_dir() {
	pkg-config --define-variable=prefix="$1" --variable=completionsdir bash-completion 2>/dev/null ||
		echo "$1/share/bash-completion/completions"
}

# Expected files of an install under DESTDIR $1 and PREFIX $2, sorted.
expected_files() {
	local o
	{
		echo "$1$2/sbin/xsl-agent"
		echo "$1$2/bin/xslctl"
		for o in "$BUILD"/*.bpf.o; do echo "$1$2/lib/xsl/$(basename "$o")"; done
		echo "$1$2/lib/systemd/system/xsl-agent.service"
		echo "$1$2/share/man/man8/xsl-agent.8"
		echo "$1$2/share/man/man8/xslctl.8"
		for o in "$ROOT"/docs/prometheus/*.yml; do
			echo "$1$2/share/xsl/prometheus/$(basename "$o")"
		done
		echo "$1$(bash_completion_dir "$2")/xslctl"
	} | sort
}

test_make_install_puts_every_file_in_place() {
	local dest=$TMP/dest prefix f unit
	for prefix in /usr/local /usr; do
		rm -rf "$dest"
		mk install DESTDIR="$dest" PREFIX="$prefix" >/dev/null || return 1
		diff <(expected_files "$dest" "$prefix") <(find "$dest" -type f | sort) >"$TMP/diff" ||
			fail "PREFIX=$prefix: installed files differ (< expected, > found): $(cat "$TMP/diff")"
		for f in "$dest$prefix/sbin/xsl-agent" "$dest$prefix/bin/xslctl"; do
			[ "$(stat -c %a "$f")" = 755 ] || fail "$f mode $(stat -c %a "$f")"
		done
		find "$dest$prefix/lib" "$dest$prefix/share" -type f ! -perm 0644 | grep . && fail "data files not 0644"
		cmp -s "$dest$prefix/bin/xslctl" "$BUILD/xslctl" || fail "installed xslctl differs from the build"
		cmp -s "$dest$prefix/share/man/man8/xslctl.8" "$BUILD/man/xslctl.8" || fail "installed xslctl.8 differs"
		"$dest$prefix/bin/xslctl" --help >/dev/null || fail "installed xslctl does not run"
		unit=$dest$prefix/lib/systemd/system/xsl-agent.service
		grep -qx "ExecStart=$prefix/sbin/xsl-agent --sched fifo:10" "$unit" || fail "unit: $(grep ExecStart "$unit")"
		grep -q @ "$unit" && fail "unsubstituted @...@ left in the unit"
		# the installed unit, with its ExecStart found under DESTDIR
		# systemd-analyze (package systemd, make deps) must be there: a
		# missing tool is a failure, not a check quietly left out
		if command -v systemd-analyze >/dev/null; then
			mkdir -p "$TMP/unit"
			sed "s|^ExecStart=|ExecStart=$dest|" "$unit" >"$TMP/unit/xsl-agent.service"
			systemd-analyze verify --man=no "$TMP/unit/xsl-agent.service" ||
				fail "systemd-analyze verify rejects the unit"
		else
			fail "no systemd-analyze: the unit cannot be verified (make deps installs systemd)"
		fi
		mk uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null || return 1
		[ -z "$(find "$dest" -type f)" ] || fail "uninstall left: $(find "$dest" -type f)"
	done
}

ALL_TESTS="test_man_pages_build test_man_pages_render_without_warnings
test_every_help_text_is_in_its_man_page test_make_install_puts_every_file_in_place"

echo "PLAN $(echo ${XSL_E2E_ONLY:-$ALL_TESTS})"
for t in $ALL_TESTS; do
	[ -n "${XSL_E2E_ONLY:-}" ] && [ "$XSL_E2E_ONLY" != "$t" ] && continue
	FAILED=0
	if "$t" && [ "$FAILED" = 0 ]; then
		echo "PASS $t"
	else
		echo "FAIL $t"
	fi
done
