#!/usr/bin/env bash
# Makes the man page of one of our programs from the program itself, so the
# page and `--help` cannot drift apart:
#
#   scripts/gen-man.sh PROGRAM INCLUDE VERSION OUT
#
# help2man turns `PROGRAM --help` into NAME/SYNOPSIS/DESCRIPTION/OPTIONS and
# adds the hand-written sections of INCLUDE (docs/man/*.h2m: description,
# examples, files, see also). When the help lists commands (a "Commands:"
# block, as xslctl's does), that block is left to a COMMANDS section made
# here instead: one subsection per command with its own `PROGRAM <command>
# --help` text, so every command's help is in the page word for word.
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 PROGRAM INCLUDE VERSION OUT" >&2; exit 2; }
prog=$(realpath "$1")
include=$2
version=$3
out=$4
name=$(basename "$prog")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$prog" --help >"$tmp/help"

# The commands: the leading lowercase words of each line of the Commands:
# block ("show sessions [NAME] [--limit N]" -> "show sessions").
awk '/^Commands:/ { on = 1; next }
	on && /^$/ { exit }
	on { c = ""; for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) c = c (c ? " " : "") $i; print c }' \
	"$tmp/help" >"$tmp/commands"

# Help text -> roff: usage lines kept as lines, blank lines start paragraphs,
# "  --opt ARG   text" lines become tagged paragraphs; every '-' and '\' is
# escaped so nothing is hyphenated, broken or taken as a request.
to_roff() {
	awk '
	function esc(s) {
		gsub(/\\/, "\\e", s)
		gsub(/-/, "\\-", s)
		sub(/^[.'"'"']/, "\\\\\\&&", s)
		return s
	}
	/^$/ { print ".PP"; next }
	/^(Usage:|       )/ { sub(/^ +/, ""); print (nu++ ? ".br\n" : "") esc($0); next }
	/^ +-/ {
		sub(/^ +/, "")
		if (match($0, /  +/)) {
			print ".TP\n\\fB" esc(substr($0, 1, RSTART - 1)) "\\fR"
			print esc(substr($0, RSTART + RLENGTH))
		} else {
			print ".TP\n\\fB" esc($0) "\\fR"
		}
		next
	}
	{ sub(/^ +/, ""); print esc($0) }'
}

# Generated sections go first: help2man places sections it does not know in
# the order it meets them, and COMMANDS belongs right after OPTIONS.
: >"$tmp/commands.h2m"
if [ -s "$tmp/commands" ]; then
	{
		echo "[COMMANDS]"
		echo "Each command also answers \\fB$name\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR with the text below."
		while read -r cmd; do
			# word splitting of $cmd is wanted: "show sessions" is two words
			# shellcheck disable=SC2086
			"$prog" $cmd --help >"$tmp/cmd-help"
			echo ".SS \"$name $cmd\""
			to_roff <"$tmp/cmd-help"
		done <"$tmp/commands"
	} >"$tmp/commands.h2m"
	# help2man sees the help without the command list, which the COMMANDS
	# section replaces (help2man would run the lines together).
	cat >"$tmp/$name" <<-EOF
		#!/bin/sh
		if [ "\$1" = --help ]; then
		        "$prog" --help | awk '/^Commands:/ { skip = 1; next } skip && /^\$/ { skip = 0; next } !skip'
		else
		        exec "$prog" "\$@"
		fi
	EOF
	chmod +x "$tmp/$name"
	prog=$tmp/$name
fi

includes=(--include="$include")
[ -s "$tmp/commands.h2m" ] && includes=(--include="$tmp/commands.h2m" "${includes[@]}")
help2man --no-info --section=8 --version-string="$version" \
	--manual="xsl" --source="xsl $version" "${includes[@]}" --output="$out.tmp" "$prog"
mv "$out.tmp" "$out"
