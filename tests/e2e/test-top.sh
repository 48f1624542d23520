#!/usr/bin/env bash
# End to end: `xslctl top` on a real terminal (tmux: send-keys, capture-pane)
# against an agent whose app gets UDP traffic from the peer namespace: the
# numbers on screen follow the traffic sent, the keys work (a, s, q), a
# resize redraws, SIGTERM puts the terminal back, and without a terminal it
# prints one table.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5800
COLS=110
ROWS=30

# Our own tmux server (its socket in the test's scratch dir), so it runs in
# this file's namespaces and no other tmux is touched.
tm() { tmux -S "$E2E_TMP/tmux.sock" "$@"; }
# Starts CMD (one shell string) in a detached session "top" of COLS x ROWS.
tm_start() {
	tm new-session -d -s top -x "$COLS" -y "$ROWS" "$1" || return 1
	wait_for 500 'tm has-session -t top'
}
tm_stop() { tm kill-server 2>/dev/null; }
screen() { tm capture-pane -p -t top; }
# The field (1-based) of the first line of the screen whose first field is $1.
cell() { screen | awk -v k="$1" -v f="$2" '$1 == k { print $f; exit }'; }
# A rate cell as a number: "12.3k" -> 12300, "-" -> -1.
num() {
	awk -v v="$1" 'BEGIN { m = 1; u = substr(v, length(v));
		if (v == "-") { print -1; exit }
		if (u == "k") m = 1e3; else if (u == "M") m = 1e6; else if (u == "G") m = 1e9;
		if (m > 1) v = substr(v, 1, length(v) - 1); printf "%d\n", v * m }'
}
# app1's cells in the apps view: STATE WORKERS SESSIONS NEW/s PKTS/s BYTES/s DROPS/s
app1_pkts() { num "$(cell app1 6)"; }
app1_new() { num "$(cell app1 5)"; }
app1_bytes() { num "$(cell app1 7)"; }
# The workers view: the sum of app1's workers' PKTS/s (APP WORKER PID STATE
# SESSIONS NEW/s PKTS/s ...).
workers_pkts() {
	local c s=0
	for c in $(screen | awk '$1 == "app1" && $2 ~ /^[0-9]+$/ { print $7 }'); do
		s=$((s + $(num "$c")))
	done
	echo "$s"
}

# The pane's command: top, then its exit status into a file.
TOP_CMD() { echo "$XSLCTL --socket $SOCK top; echo exit \$? >$E2E_TMP/top.exit"; }

top_numbers_follow_traffic() {
	local max_new=0 n client
	xdp_on || return 1
	start_server 2 || return 1
	tm_start "$(TOP_CMD)" || return 1
	wait_for 500 '[ -n "$(cell app1 1)" ]' || { fail "no app1 row: $(screen)"; return 1; }
	[ "$(app1_pkts)" -eq 0 ] || fail "app1 has $(app1_pkts) pkts/s before any traffic"
	# 8 flows, a round every 100 ms for ~6 s: at most 80 packets/s
	bg sh -c "nsenter --net=/run/netns/$CLI_NS $UDPCLIENT --addr $SRV_IP --port $PORT \
		--flows 8 --rounds 60 --gap-ms 100 >/dev/null"
	client=$BG_PID
	# the new sessions come in the first refresh, the packets in every one
	for _ in $(seq 400); do
		n=$(app1_new)
		[ "${n:-0}" -gt "$max_new" ] && max_new=$n
		[ "$max_new" -gt 0 ] && [ "$(app1_pkts)" -gt 0 ] && break
		sleep 0.02
	done
	log "under traffic: $(screen | grep -E '^(APP|app1) ' | tr -s ' ' | tr '\n' '|')"
	[ "$(app1_pkts)" -gt 0 ] || fail "PKTS/s never moved under traffic"
	[ "$(app1_bytes)" -gt 0 ] || fail "BYTES/s never moved under traffic"
	[ "$max_new" -gt 0 ] || fail "NEW/s never moved when 8 new flows came"
	# at most what was sent: 8 flows x 10 rounds a second, with slack
	[ "$(app1_pkts)" -le 400 ] || fail "PKTS/s $(app1_pkts) is more than was sent"
	# and about what was sent (80/s; a loaded machine sends fewer)
	wait_for 300 '[ "$(app1_pkts)" -ge 20 ]' || fail "PKTS/s $(app1_pkts) is far below 80"
	# the workers view: the workers' own rates, while the traffic lasts
	tm send-keys -t top a
	wait_for 300 '[ "$(workers_pkts)" -gt 0 ]' || fail "no worker's PKTS/s moved: $(screen)"
	tm send-keys -t top a
	wait_for 300 'screen | grep -q "^APP  *STATE  *WORKERS"' || fail "a did not switch back to apps"
	wait "$client"
	wait_for 500 '[ "$(app1_pkts)" -eq 0 ]' ||
		fail "PKTS/s did not fall back to 0 after the traffic: $(cell app1 6)"
	tm send-keys -t top q
	wait_for 500 '! tm has-session -t top' || fail "q did not quit"
	[ "$(cat "$E2E_TMP/top.exit" 2>/dev/null)" = "exit 0" ] ||
		fail "top exited with '$(cat "$E2E_TMP/top.exit" 2>/dev/null)'"
}

test_top_numbers_follow_traffic() {
	top_numbers_follow_traffic
	local rc=$?
	tm_stop
	return $rc
}

top_keys_and_resize() {
	local master
	start_server 2 || return 1
	master=$MASTER
	tm_start "$(TOP_CMD)" || return 1
	wait_for 500 'screen | grep -q "view: apps (a)  sort: packets (s)  quit (q)"' ||
		{ fail "no key line: $(screen)"; return 1; }
	tm send-keys -t top a
	wait_for 500 'screen | grep -q "^APP  *WORKER  *PID  *STATE"' ||
		{ fail "a did not switch to workers: $(screen)"; return 1; }
	wait_for 500 'screen | grep -q "view: workers (a)"' || fail "the key line still says apps"
	# master + 2 workers, each with its pid
	[ "$(screen | awk '$1 == "app1"' | wc -l)" -eq 3 ] || fail "not 3 worker rows: $(screen)"
	screen | awk '$1 == "app1" { print $3 }' | grep -qx "$master" ||
		fail "the master's pid $master is not on screen"
	tm send-keys -t top s
	wait_for 500 'screen | grep -q "sort: bytes (s)"' || fail "s did not change the sort"
	tm send-keys -t top s s s s
	wait_for 500 'screen | grep -q "sort: packets (s)"' || fail "s did not cycle back to packets"
	tm send-keys -t top a
	wait_for 500 'screen | grep -q "^APP  *STATE  *WORKERS"' || fail "a did not switch back"
	# SIGWINCH: redrawn at the new size, nothing wider than the window
	tm resize-window -t top -x 50 -y 12
	wait_for 500 '[ "$(screen | awk "{ if (length > m) m = length } END { print m + 0 }")" -le 50 ] &&
		screen | grep -q "^APP  *STATE"' || fail "not redrawn for 50 columns: $(screen)"
	tm send-keys -t top q
	wait_for 500 '! tm has-session -t top' || fail "q did not quit"
}

test_top_keys_and_resize() {
	top_keys_and_resize
	local rc=$?
	tm_stop
	return $rc
}

top_sigterm_restores_terminal() {
	local shpid pid
	# the terminal settings after top, as the shell around it sees them
	tm_start "$XSLCTL --socket $SOCK top; stty -a >$E2E_TMP/stty; sleep 30" || return 1
	wait_for 500 'screen | grep -q "^APP "' || { fail "no table: $(screen)"; return 1; }
	shpid=$(tm list-panes -t top -F '#{pane_pid}')
	pid=$(pgrep -P "$shpid" -x xslctl)
	[ -n "$pid" ] || { fail "no xslctl under the pane's shell $shpid"; return 1; }
	kill -TERM "$pid"
	wait_for 500 '[ -s "$E2E_TMP/stty" ]' || { fail "top did not end on SIGTERM"; return 1; }
	grep -qw icanon "$E2E_TMP/stty" && grep -qw echo "$E2E_TMP/stty" ||
		fail "terminal left without icanon/echo: $(grep -o -- '-\?icanon\|-\?echo\b' "$E2E_TMP/stty")"
	# the alternate screen is gone: top's table is no longer shown
	wait_for 200 '! screen | grep -q "^APP "' || fail "top's screen is still shown"
}

test_top_sigterm_restores_terminal() {
	top_sigterm_restores_terminal
	local rc=$?
	tm_stop
	return $rc
}

test_top_without_tty_prints_one_table() {
	local out=$E2E_TMP/top.out
	start_server 2 || return 1
	ctl top >"$out" 2>&1 </dev/null || { fail "top failed: $(cat "$out")"; return 1; }
	grep -q $'\e' "$out" && fail "escape sequences in the one-shot table"
	grep -q "^APP  *STATE  *WORKERS  *SESSIONS  *NEW/s  *PKTS/s  *BYTES/s  *DROPS/s$" "$out" ||
		fail "no table header: $(cat "$out")"
	[ "$(awk '$1 == "app1"' "$out" | wc -l)" -eq 1 ] || fail "not one app1 row: $(cat "$out")"
	grep -q "quit" "$out" && fail "the one-shot table shows the keys"
	ctl top app1 --workers --sort sessions >"$out" 2>&1 ||
		{ fail "top app1 --workers failed: $(cat "$out")"; return 1; }
	[ "$(awk '$1 == "app1"' "$out" | wc -l)" -eq 3 ] || fail "not 3 worker rows: $(cat "$out")"
	grep -q "sort: sessions" "$out" || fail "--sort not shown: $(cat "$out")"
	ctl top nosuch >"$out" 2>&1 && fail "top of a missing app succeeded"
	grep -q "no such app" "$out" || fail "missing app: $(cat "$out")"
}

ALL_TESTS="test_top_numbers_follow_traffic test_top_keys_and_resize
test_top_sigterm_restores_terminal test_top_without_tty_prints_one_table"
e2e_main
