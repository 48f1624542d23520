#!/usr/bin/env bash
# End to end: a spoofed-source UDP flood against a session table scaled to
# be overrun by it must not move established flows (DESIGN.md "Data path"
# item 6). 300 flows get answers (their sessions become assured: the worker
# sent on them), then xsl_spoof floods the port from random sources for a
# few seconds through the veth (XDP attached by the agent), and a worker is
# forked in the middle of it: every established flow is still answered, by
# the same worker. (With the LRU table of before, the flood evicted them and
# the fork moved a share of them.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5400
FLOWCLIENT="$BUILD/tests/helpers/xsl_flowclient"
SPOOF="$BUILD/tests/helpers/xsl_spoof"
FLOWS=300
# 1024 ways: the flood's new flows fill it many times over
MAX_SESSIONS=1024
FLOOD_S=${XSL_FLOOD_S:-5}
E2E_NO_AGENT=1

app_packets() { ctl --json show app app1 | jq .app.packets; }
assured_sessions() {
	ctl --json show sessions app1 --limit 5000 | jq '[.sessions[] | select(.assured)] | length'
}

test_flood_keeps_established_flows() {
	local fifo="$E2E_TMP/marks" out="$E2E_TMP/flows.out" client spoof p1 refused pkts
	agent_start --max-sessions "$MAX_SESSIONS" || return 1
	# not `ip link`: iproute2 loads the object with its declared table size,
	# which does not match the pinned table's
	ctl xdp attach "$SRV_IF" >/dev/null || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || fail "udp listener does not have 2 workers"
	# the server's answers to spoofed sources leave through the veth (the
	# client namespace drops them), so the server answers the flood too
	in_srv ip route add 198.18.0.0/15 via "$CLI_IP" || return 1

	mkfifo "$fifo"
	# opened read-write, so neither this open nor the client's blocks
	exec 7<>"$fifo"
	in_cli "$FLOWCLIENT" --addr "$SRV_IP" --port "$PORT" --flows "$FLOWS" --period-ms 100 \
		--duration $((FLOOD_S + 60)) <"$fifo" >"$out" &
	client=$!
	E2E_PIDS+=("$client")
	wait_for 1500 '[ "$(assured_sessions)" -ge $FLOWS ]' ||
		fail "established flows not assured: $(assured_sessions) of $FLOWS"

	# the flood, and a fork in the middle of it: a flow whose session the
	# flood pushed out would be re-created with the new worker set and move
	bg sh -c "exec nsenter --net=/run/netns/$CLI_NS $SPOOF --addr $SRV_IP --port $PORT \
		--duration $FLOOD_S >$E2E_TMP/spoof.out 2>&1"
	spoof=$BG_PID
	# the fork once the flood overruns the table, while it goes on
	wait_for 500 '[ "$(ctr session_refused)" -gt 0 ]' || fail "the flood did not overrun the table"
	kill -0 "$spoof" 2>/dev/null || fail "the flood was over before the fork"
	log "fork with $(ctr session_refused) sessions refused so far"
	echo add >&7
	kill -USR1 "$MASTER"
	wait_for 500 '[ "$(n_workers app1)" -eq 4 ]' || fail "forked worker not registered"
	wait "$spoof" || fail "xsl_spoof failed: $(cat "$E2E_TMP/spoof.out")"
	log "flood: $(cat "$E2E_TMP/spoof.out")"
	refused=$(ctr session_refused)
	log "sessions: created $(ctr session_created) evicted $(ctr session_evicted)" \
		"refused $refused, in the table $(n_sessions app1) of $MAX_SESSIONS"
	[ "${refused:-0}" -gt 0 ] || fail "the flood did not overrun the table"
	[ "$(scrape_refused)" = "$refused" ] || fail "xsl_sessions_refused_total is not $refused"
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || fail "the new worker serves no UDP"
	# a few rounds of every flow after the flood (a round is one packet a
	# flow), then the report
	pkts=$(app_packets)
	wait_for 1000 '[ "$(app_packets)" -ge $((pkts + 5 * FLOWS)) ]' ||
		fail "flows did not go on after the flood: $(($(app_packets) - pkts)) packets"
	echo end >&7
	exec 7>&-
	wait "$client"
	p1=$(grep '^phase 1 ' "$out")
	log "fork during the flood: $p1"
	log "$(grep '^total' "$out")"
	[ "$(echo "$p1" | field established)" = "$FLOWS" ] || fail "not every flow was established"
	[ "$(echo "$p1" | field stayed)" = "$FLOWS" ] || fail "not every flow stayed on its worker"
	[ "$(echo "$p1" | field moved)" = 0 ] || fail "flows moved to another worker"
	[ "$(echo "$p1" | field silent)" = 0 ] || fail "flows unanswered after the flood"
}

# xsl_sessions_refused_total as /metrics serves it.
scrape_refused() {
	in_srv curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk '$1 == "xsl_sessions_refused_total" { print $2 }'
}

ALL_TESTS="test_flood_keeps_established_flows"
e2e_main
