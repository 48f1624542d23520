#!/usr/bin/env bash
# End to end: which sockets of app processes the agent adopts as listeners.
# Only sockets of its own network namespace; UDP only when bound to a port
# the app chose and not connected; at most a quota of listeners per app; a
# socket refused for lack of room is adopted once there is room; a
# dual-stack [::] socket is one listener that takes IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=7777
SOCKETS="$BUILD/tests/helpers/xsl_sockets"
QUOTA=64	# XSL_MAX_APP_LISTENERS
TABLE=256	# XSL_MAX_LISTENERS

# Runs xsl_sockets ARGS as app NAME (xslctl run); waits until it made its
# sockets. Sets SOCKETS_PID; its output is in $E2E_TMP/NAME.out.
run_sockets() {
	local app=$1 out="$E2E_TMP/$1.out"
	shift
	bg nsenter --net="/run/netns/$SRV_NS" "$XSLCTL" --socket "$SOCK" run "$app" -- \
		"$SOCKETS" "$@" >"$out" 2>&1
	wait_for 1000 'grep -q "^ready" "$out"' || {
		fail "$app: xsl_sockets not ready: $(tail -3 "$out")"
		return 1
	}
	SOCKETS_PID=$(awk '/^ready/ { print $2 }' "$out")
}

# has_listener APP PROTO PORT
has_listener() {
	ctl --json show listeners | jq -e --arg a "$1" --arg p "$2" --argjson port "$3" \
		'any(.listeners[]; .app == $a and .proto == $p and .port == $port)' >/dev/null
}
n_listeners() {
	ctl --json show listeners | jq --arg a "$1" '[.listeners[] | select(.app == $a)] | length'
}
n_all_listeners() { ctl --json show listeners | jq '.listeners | length'; }
# "addr dual" of each PROTO listener, one a line
proto_listeners() {
	ctl --json show listeners | jq -r --arg p "$1" '.listeners[] | select(.proto == $p) |
		"\(.addr) \(.dual)"'
}
# xsl_sockets_refused_total for REASON (empty when the family is missing)
refused() {
	in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v m="xsl_sockets_refused_total{reason=\"$1\"}" '$1 == m { print $2 }'
}
# The pid that answers one datagram to ADDR:PORT from the client namespace.
answer_pid() {
	in_cli "$UDPCLIENT" --addr "$1" --port "$2" --flows 1 --rounds 1 --verbose |
		awk '$1 == "flow" { print $3 }'
}
reconcile_runs() { ctl --json show stats | jq .agent.reconcile_runs; }
# Checks that a condition still holds once the agent has handled every
# event queued by now and run the attribution pass that follows them (100 ms
# after an app's last event), which must not change it: two reconcile
# passes on (the first drains the events, the second comes a reconcile
# interval, 200 ms, after it, on a tick that runs the due pass first).
keeps() {
	local runs
	runs=$(reconcile_runs)
	wait_for 500 '[ "$(reconcile_runs)" -ge $((runs + 2)) ]' || { fail "no reconcile pass"; return 1; }
	eval "$1" >/dev/null 2>&1
}

# A worker that moves into a user + network namespace of its own and binds
# the port there must not become the port's listener in the agent's.
test_socket_of_other_netns_refused() {
	local out="$E2E_TMP/root.out" root pid
	# a root service on the port in the agent's namespace, outside any app
	bg in_srv "$SOCKETS" --bind "0.0.0.0:$PORT" >"$out" 2>&1
	wait_for 500 'grep -q "^ready" "$out"' || { fail "root service not ready"; return 1; }
	root=$(awk '/^ready/ { print $2 }' "$out")
	run_sockets app1 --unshare-net --bind "0.0.0.0:$PORT" || return 1
	wait_for 500 '[ "$(refused netns)" -ge 1 ]' ||
		fail "no refusal counted: xsl_sockets_refused_total{reason=\"netns\"} = '$(refused netns)'"
	! has_listener app1 udp "$PORT" || fail "the other namespace's socket is a listener"
	keeps '! has_listener app1 udp $PORT' || fail "the other namespace's socket became a listener"
	[ "$(n_listeners app1)" = 0 ] || fail "app1 has listeners: $(ctl show listeners)"
	pid=$(answer_pid "$SRV_IP" "$PORT")
	[ "$pid" = "$root" ] || fail "datagram to $PORT answered by '$pid', not the root service $root"
	grep -q "another network namespace" "$AGENT_LOG" || fail "refusal not logged"
}

# Client sockets (bound to port 0, autobound by sendto or connect, or bound
# and then connected) are not listeners; an explicit bind is, also to a port
# in the ephemeral range (the bind hooks' mark says the app chose it).
test_client_udp_sockets_are_not_listeners() {
	local eph
	eph=$(($(in_srv awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range) + 777))
	run_sockets app1 --bind 0.0.0.0:0 --bind "[::]:0" --sendto "$CLI_IP:9" \
		--connect 127.0.0.1:9 --bind-connect "0.0.0.0:$((PORT + 1))" \
		--bind "0.0.0.0:$eph" --bind "0.0.0.0:$PORT" || return 1
	wait_for 500 'has_listener app1 udp $PORT' || fail "explicit bind to $PORT is no listener"
	wait_for 500 'has_listener app1 udp $eph' || fail "explicit bind to ephemeral $eph is no listener"
	keeps '[ "$(n_listeners app1)" = 2 ]' ||
		fail "client sockets became listeners: $(ctl show listeners)"
	[ "$(answer_pid "$SRV_IP" "$PORT")" = "$SOCKETS_PID" ] || fail "no answer through the listener"
}

# One app binding more ports than its quota gets its quota; another app
# still gets its listener; a freed listener makes room for one refused.
test_listener_quota_per_app() {
	local n=300 a1
	run_sockets app1 --close-first-on-usr1 --bind-range "0.0.0.0:20000-$((20000 + n - 1))" ||
		return 1
	a1=$SOCKETS_PID
	wait_for 3000 '[ "$(refused quota)" = $((n - QUOTA)) ]' ||
		fail "quota refusals: '$(refused quota)', want $((n - QUOTA))"
	[ "$(n_listeners app1)" = "$QUOTA" ] || fail "app1 has $(n_listeners app1) listeners"
	run_sockets app2 --bind 0.0.0.0:21000 || return 1
	wait_for 500 'has_listener app2 udp 21000' || fail "app2 got no listener"
	# room in app1's quota: one of its refused sockets gets in
	kill -USR1 "$a1"
	wait_for 500 '! has_listener app1 udp 20000' || fail "closed socket still a listener"
	wait_for 500 '[ "$(n_listeners app1)" = "$QUOTA" ]' ||
		fail "app1 has $(n_listeners app1) listeners after room appeared"
}

# With the table full, a new app's listener is refused, and adopted as soon
# as another app frees one.
test_refused_listener_adopted_when_room_appears() {
	local i first a1
	for i in 1 2 3 4; do
		first=$((20000 + i * 100))
		run_sockets "app$i" --close-first-on-usr1 \
			--bind-range "0.0.0.0:$first-$((first + TABLE / 4 - 1))" || return 1
		[ "$i" = 1 ] && a1=$SOCKETS_PID
	done
	wait_for 2000 '[ "$(n_all_listeners)" = "$TABLE" ]' ||
		{ fail "table not full: $(n_all_listeners) listeners"; return 1; }
	run_sockets app5 --bind "0.0.0.0:$PORT" || return 1
	wait_for 500 '[ "$(refused table_full)" -ge 1 ]' ||
		fail "no table_full refusal counted: '$(refused table_full)'"
	! has_listener app5 udp "$PORT" || fail "app5 got a listener in a full table"
	kill -USR1 "$a1"
	wait_for 500 'has_listener app5 udp $PORT' || fail "app5's socket not adopted once room appeared"
	[ "$(answer_pid "$SRV_IP" "$PORT")" = "$SOCKETS_PID" ] || fail "no answer through app5's listener"
}

# A dual-stack [::]:P socket is one listener, and IPv4 and IPv6 clients
# both reach the workers through it (XDP on the veth, sk_lookup behind it).
test_dual_stack_socket_is_one_listener() {
	local out addr pid
	xdp_on || return 1
	start_server 2 --addr :: || return 1
	wait_for 500 '[ "$(udp_listener_workers)" -eq 2 ]' || fail "udp listener has not 2 workers"
	keeps '[ "$(proto_listeners udp)" = ":: true" ]' ||
		fail "not one dual-stack [::] UDP listener: $(ctl show listeners)"
	[ "$(proto_listeners tcp)" = ":: true" ] ||
		fail "not one dual-stack [::] TCP listener: $(ctl show listeners)"
	out=$(udp --flows 16 --rounds 2)
	log "IPv4: $out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "IPv4 replies lost"
	out=$(in_cli "$UDPCLIENT" --addr "$SRV_IP6" --port "$PORT" --flows 16 --rounds 2)
	log "IPv6: $out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "IPv6 replies lost"
	[ "$(n_sessions app1)" -ge 32 ] || fail "$(n_sessions app1) sessions, want 32"
	# TCP over both families through the one [::] TCP listener
	for addr in "$SRV_IP" "$SRV_IP6"; do
		out=$(in_cli timeout 5 bash -c "exec 3<>/dev/tcp/$addr/$PORT && cat <&3")
		pid=$(echo "$out" | awk '$1 == "pid" { print $2 }')
		[ -n "$pid" ] && [ "$pid" != "$MASTER" ] && worker_pids app1 | grep -qw "$pid" ||
			fail "TCP to $addr answered '$out', not by a worker"
	done
}

# The agent's CPU time (user + system) so far, in ms.
agent_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$AGENT_PID/stat"; }

# Upstream-query churn (bind port 0, send, close), and many upstream
# sockets held open, as resolvers forwarding queries have them, cost the
# agent little: no events, no listeners. Reports the agent's CPU time for
# the burst, counted until the agent is idle again (or 10 s).
test_client_churn_costs_the_agent_little() {
	local t0 t1 prev held
	held=$(for _ in $(seq 300); do printf -- '--bind 0.0.0.0:0 '; done)
	t0=$(agent_cpu_ms)
	run_sockets app1 --churn 20000 --bind "0.0.0.0:$PORT" || return 1
	# shellcheck disable=SC2086 # one word per option
	run_sockets app2 --churn 20000 $held || return 1
	run_sockets app3 --churn 20000 || return 1
	wait_for 500 'has_listener app1 udp $PORT' || fail "explicit bind is no listener"
	keeps '[ "$(n_all_listeners)" = 1 ]' || fail "churned sockets became listeners: $(n_all_listeners)"
	t1=$(agent_cpu_ms)
	for _ in $(seq 20); do
		prev=$t1
		# idle: no CPU time over a 0.5 s window (a measuring window, not a wait)
		sleep 0.5
		t1=$(agent_cpu_ms)
		[ "$t1" = "$prev" ] && break
	done
	log "agent CPU for 3 x 20000 port-0 binds and 300 held: $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt 300 ] || fail "agent used $((t1 - t0)) ms of CPU"
}

ALL_TESTS="test_socket_of_other_netns_refused test_client_udp_sockets_are_not_listeners
test_listener_quota_per_app test_refused_listener_adopted_when_room_appears
test_dual_stack_socket_is_one_listener test_client_churn_costs_the_agent_little"
e2e_main
