#!/usr/bin/env bash
# End to end: bash completion of xslctl (scripts/xslctl.bash-completion), in
# a bash subshell that sources it and calls what `complete -p xslctl` names
# with COMP_WORDS / COMP_CWORD set as bash does: commands, subcommands,
# options and their values as `xslctl --help` lists them (so every command
# of the table completes), and app names from the running agent.
. "$(dirname "$0")/lib.sh"

COMPLETION=$E2E_ROOT/scripts/xslctl.bash-completion

# What completing the last word of `xslctl WORDS...` offers, one line,
# sorted; the xslctl run is this build's.
complete_words() {
	bash -c '
		source "$1" || exit 1
		fn=$(complete -p xslctl | sed -n "s/.*-F \([^ ]*\) xslctl$/\1/p")
		[ -n "$fn" ] || { echo "no completion function for xslctl" >&2; exit 1; }
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$fn" xslctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
	' _ "$COMPLETION" "$XSLCTL" "$@"
}

# complete_words WORDS... must give exactly want (sorted, space separated).
expect() {
	local want=$1 got
	shift
	got=$(complete_words "$@" 2>"$E2E_TMP/err")
	[ "$got" = "$want" ] || fail "xslctl $*<TAB>: got '$got', want '$want'"
	[ -s "$E2E_TMP/err" ] && fail "xslctl $*<TAB> wrote to stderr: $(cat "$E2E_TMP/err")"
	return 0
}

test_completion_commands_and_options() {
	expect "app listen run show top xdp" ""
	expect "show" s
	expect "--help --json --socket" --
	expect "app apps instances listeners sessions stats workers" show ""
	expect "sessions stats" show s
	expect "instances" show i
	# show instances takes NAME only: no option but --help
	expect "--help" show instances --
	expect "attach detach" app ""
	expect "--help --limit" show sessions --
	expect "--cgroup --cpu-steer --help --idle-timeout --policy" app attach web --
	# an option given once is not offered again
	expect "--cgroup --help --idle-timeout --policy" app attach web --cpu-steer --
	expect "drop reassign" app attach web --policy ""
	expect "native skb" xdp attach lo --mode ""
	expect "tcp udp" listen web ""
	expect "bytes drops new packets sessions" top --sort ""
	expect "--help --sort --workers" top --
	expect "lo" xdp attach l
	expect "--drain --help --ready-timeout --replace --stop-signal --stop-timeout" run web --
	expect "QUIT" run web --replace --stop-signal Q
	# run NAME -- CMD: CMD completes as a command
	complete_words run web -- xslct >/dev/null
	[[ " $(complete_words run web -- bas) " == *" bash "* ]] || fail "run web -- bas<TAB> offers no bash"
	# the global options go before the command and do not count as one
	expect "app apps instances listeners sessions stats workers" --json show ""
}

# Every command of `xslctl --help` completes, word by word: the completion
# holds no list of its own that could fall behind the command table.
test_completion_covers_every_command() {
	local w1 w2 n=0
	while read -r w1 w2; do
		n=$((n + 1))
		[[ " $(complete_words "") " == *" $w1 "* ]] || fail "'$w1' is not offered"
		if [[ $w2 =~ ^[a-z]+$ ]]; then
			[[ " $(complete_words "$w1" "") " == *" $w2 "* ]] || fail "'$w1 $w2' is not offered"
		fi
	done < <("$XSLCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1, $2 }')
	log "$n commands in xslctl --help"
	[ "$n" -ge 10 ] || fail "only $n commands in xslctl --help"
}

test_completion_app_names_from_agent() {
	ctl app attach web1 >/dev/null && ctl app attach web2 >/dev/null && ctl app attach dns >/dev/null ||
		return 1
	expect "dns web1 web2" --socket "$SOCK" show workers ""
	expect "web1 web2" --socket "$SOCK" show instances we
	# one NAME: nothing after it
	expect "" --socket "$SOCK" show instances dns ""
	expect "web1 web2" --socket "$SOCK" show app w
	expect "dns" --socket "$SOCK" app detach d
	expect "dns web1 web2" --socket "$SOCK" top ""
	expect "dns web1 web2" --socket "$SOCK" top --sort bytes ""
	# the socket from the environment, like every command
	[ "$(XSL_SOCKET=$SOCK complete_words show sessions "")" = "dns web1 web2" ] ||
		fail "XSL_SOCKET=$SOCK: got '$(XSL_SOCKET=$SOCK complete_words show sessions "")'"
	# an unreachable agent: no names, and nothing written on the terminal
	expect "" --socket "$E2E_TMP/none.sock" show app ""
}

ALL_TESTS="test_completion_commands_and_options test_completion_covers_every_command
test_completion_app_names_from_agent"
e2e_main
