#!/usr/bin/env bash
# End to end, another XDP program on xsl's device (docs/xdp-coexist.md): a
# DDoS-style filter, xdp-filter from xdp-tools, denies UDP port 9999 on the
# srv veth. libxdp cannot put both programs in its dispatcher on this kernel,
# so xsl runs first and hands every packet it passes to the filter
# (`xslctl xdp attach DEV --then PINNED_PROG`). Datagrams to 9999 are dropped
# and make no session, even though an app listens there; the app's port gets
# sessions and its workers answer; detaching either program leaves the other
# running on the device.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5600
DENY=9999

# xdp-filter keeps its maps and programs under the file's private bpffs.
FILTER_PINS=/sys/fs/bpf/xdp-filter

# xdp-filter in the srv namespace. Its lock file is host-wide
# (/run/xdp-filter.lck) and a held lock fails at once ("program lock",
# "lockfile"), so a run elsewhere on the host is waited out; any other
# failure is returned with its output.
xdpf() {
	local out
	for _ in $(seq 300); do
		out=$(in_srv xdp-filter "$@" 2>&1) && { printf '%s\n' "$out"; return 0; }
		case $out in
		*"program lock"* | *lockfile*) sleep 0.01 ;;
		*) printf '%s\n' "$out" >&2; return 1 ;;
		esac
	done
	printf '%s\n' "$out" >&2
	return 1
}

filter_load() {
	xdpf load --mode native "$SRV_IF" >/dev/null && xdpf port "$DENY" >/dev/null
}
# The filter's program as xdp-filter pinned it.
filter_prog() { find "$FILTER_PINS/programs/$SRV_IF" -mindepth 1 -maxdepth 1 | head -1; }
# Hits of the filter's deny rule for port 9999.
filter_hits() { xdpf status | awk -v p="$DENY" '$1 == p { print $NF }'; }
# The name of the XDP program the device runs ("" for none).
dev_prog() { in_srv ip -j link show dev "$SRV_IF" | jq -r '.[0].xdp.prog.name // ""'; }
# UDP flows to the denied port: prints the client's summary line.
udp_deny() {
	in_cli "$UDPCLIENT" --addr "$SRV_IP" --port "$DENY" --timeout-ms 200 "$@"
}

# app1 serves PORT with two workers; app2 serves the denied port, so xsl has
# a listener there and would make sessions for it if it saw those packets.
start_apps() {
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -ge 2 ]' || return 1
	OUT2="$E2E_TMP/app2.out"
	bg nsenter --net="/run/netns/$SRV_NS" setsid "$XSLCTL" --socket "$SOCK" run app2 -- \
		"$TESTSRV" --port "$DENY" --workers 1 >"$OUT2" 2>&1
	wait_for 500 'grep -q "^worker" "$OUT2"' || return 1
	wait_for 500 '[ "$(n_workers app2)" -eq 2 ]'
}

# The filter first, then xsl chained to it; both verified running.
chain_up() {
	filter_load || { fail "xdp-filter load"; return 1; }
	[ "$(dev_prog)" != "" ] || { fail "xdp-filter attached nothing"; return 1; }
	start_apps || { fail "apps did not start"; return 1; }
	FPROG=$(filter_prog)
	[ -n "$FPROG" ] || { fail "xdp-filter pinned no program"; return 1; }
	FNAME=$(dev_prog)
	# xdp-filter's commands drop their pin of a program that is no longer
	# the device's own: a copy of our own, to chain it again later
	FCOPY=/sys/fs/bpf/e2e-filter
	bpftool prog pin id "$(in_srv ip -j link show dev "$SRV_IF" | jq '.[0].xdp.prog.id')" \
		"$FCOPY" || { fail "pin a copy of the filter"; return 1; }
	ctl xdp attach "$SRV_IF" --then "$FPROG" || { fail "xdp attach --then"; return 1; }
	[ "$(dev_prog)" = xsl_xdp ] || fail "device runs '$(dev_prog)', not xsl_xdp"
}

# Port 9999 is dropped by the filter: no reply, no new session, the rule hit.
check_denied() {
	local hits0 created0 s0 out
	hits0=$(filter_hits)
	created0=$(ctr session_created)
	s0=$(n_sessions app2)
	out=$(udp_deny --flows 8 --rounds 2)
	log "to $DENY: $out (filter hits $hits0 -> $(filter_hits))"
	[ "$(echo "$out" | field replies)" = 0 ] || fail "replies from the denied port: $out"
	[ "$(ctr session_created)" = "$created0" ] ||
		fail "sessions made for dropped packets: created $created0 -> $(ctr session_created)"
	[ "$(n_sessions app2)" -le "$s0" ] || fail "app2 sessions $s0 -> $(n_sessions app2)"
	[ "$(filter_hits)" -ge $((hits0 + 16)) ] || fail "filter hits $hits0 -> $(filter_hits)"
}

# The app's port is served: every flow answered, by one worker, with sessions.
check_served() {
	local base=$1 created0 out
	created0=$(ctr session_created)
	out=$(udp --flows 16 --rounds 3 --sport-base "$base")
	log "to $PORT: $out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "replies lost: $out"
	[ "$(echo "$out" | field moved)" = 0 ] || fail "flows moved: $out"
	[ "$(ctr session_created)" -ge $((created0 + 16)) ] ||
		fail "sessions created $created0 -> $(ctr session_created)"
}

test_plain_attach_names_the_other_program() {
	filter_load || return 1
	local err
	err=$(ctl xdp attach "$SRV_IF" 2>&1) && fail "attach over xdp-filter succeeded"
	log "$err"
	echo "$err" | grep -q "xdpfilt_" || fail "error does not name the filter's program"
	echo "$err" | grep -q -- "--then" || fail "error does not point to --then"
	[ "$(dev_prog)" != xsl_xdp ] || fail "xsl replaced the filter"
	# --then refuses what is not a pinned XDP program, changing nothing
	ctl xdp attach "$SRV_IF" --then "$FILTER_PINS/filter_ports" 2>&1 |
		grep -q "not a pinned BPF program" || fail "a map taken for --then"
	ctl xdp attach "$SRV_IF" --then relative/path 2>&1 |
		grep -q "not an absolute path" || fail "a relative --then taken"
	ctl xdp attach "$SRV_IF" --then /sys/fs/bpf/none 2>&1 | grep -q "No such file" ||
		fail "a missing --then taken"
	[ "$(dev_prog)" != xsl_xdp ] || fail "xsl replaced the filter"
}

test_filter_drops_before_sessions_app_served() {
	chain_up || return 1
	local pass0 hit0 out
	pass0=$(ctr xdp_pass)
	hit0=$(ctr lookup_hit)
	check_denied
	[ "$(n_sessions app2)" = 0 ] || fail "$(n_sessions app2) sessions on the denied port"
	check_served 44100
	[ "$(n_sessions app1)" -ge 16 ] || fail "app1 sessions: $(n_sessions app1)"
	[ "$(ctr xdp_pass)" -gt "$pass0" ] || fail "xsl's XDP program saw no packet"
	# sk_lookup made the sessions; their later packets hit them in XDP
	[ "$(ctr lookup_hit)" -ge $((hit0 + 32)) ] ||
		fail "session hits in XDP $hit0 -> $(ctr lookup_hit), want >= 32 more"
	# the filter's rules stay the operator's to change: a new one applies
	xdpf port "$PORT" >/dev/null || fail "xdp-filter port $PORT"
	out=$(udp --flows 4 --rounds 1 --sport-base 44300 --timeout-ms 200)
	[ "$(echo "$out" | field replies)" = 0 ] || fail "new deny rule not applied: $out"
	xdpf port --remove "$PORT" >/dev/null || fail "xdp-filter port --remove"
	check_served 44400
}

test_detach_xsl_leaves_filter() {
	chain_up || return 1
	check_served 44500
	ctl xdp detach "$SRV_IF" || fail "xdp detach"
	[ "$(dev_prog)" = "$FNAME" ] || fail "device runs '$(dev_prog)', not $FNAME"
	check_denied
	# without XDP, sk_lookup still gives new flows sessions and workers
	check_served 44600
	wait_for 300 '[ "$(ctl --json show stats | jq ".xdp_devices | length")" = 0 ]' ||
		fail "agent still lists $SRV_IF with XDP"
}

test_detach_filter_leaves_xsl() {
	chain_up || return 1
	check_denied
	ctl xdp detach "$SRV_IF" --then || fail "xdp detach --then"
	[ "$(dev_prog)" = xsl_xdp ] || fail "device runs '$(dev_prog)', not xsl_xdp"
	local out pass0
	pass0=$(ctr xdp_pass)
	out=$(udp_deny --flows 8 --rounds 2)
	log "to $DENY without the filter: $out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "port $DENY not served: $out"
	[ "$(n_sessions app2)" -ge 8 ] || fail "app2 sessions: $(n_sessions app2)"
	check_served 44700
	[ "$(ctr xdp_pass)" -gt "$pass0" ] || fail "xsl's XDP program saw no packet"
	ctl xdp detach "$SRV_IF" --then 2>&1 | grep -q "hands packets to none" ||
		fail "second detach --then not refused"
	# and chained again, xsl staying on the device
	ctl xdp attach "$SRV_IF" --then "$FCOPY" || fail "xdp attach --then again"
	[ "$(dev_prog)" = xsl_xdp ] || fail "device runs '$(dev_prog)', not xsl_xdp"
	check_denied
}

ALL_TESTS="test_plain_attach_names_the_other_program test_filter_drops_before_sessions_app_served
	test_detach_xsl_leaves_filter test_detach_filter_leaves_xsl"

e2e_main
