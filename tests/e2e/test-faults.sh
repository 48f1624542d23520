#!/usr/bin/env bash
# End to end, faults: a stopped worker, a whole process group killed at once,
# the app cgroup removed and XDP detached behind the agent's back, a ring
# buffer overflowed on purpose, a full session table, and a clean agent
# restart. Each is handled, leaves nothing behind, and the data path goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5500

# Replaces the harness's agent by one with fresh maps made with ARGS (map
# sizes only apply to maps the agent creates).
agent_fresh() {
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	in_srv "$AGENT" --reset --pin-root "$PIN" >>"$AGENT_LOG" 2>&1 || return 1
	agent_start "$@"
}

# Nothing of an app is left in the maps: no listener, no app cgroup, no
# live worker, no session.
maps_clear() {
	local n
	n=$(bpftool map dump pinned "$PIN/xsl_listeners" -j | jq length)
	[ "$n" = 0 ] || fail "$n listeners left in xsl_listeners"
	n=$(bpftool map dump pinned "$PIN/xsl_app_cgroups" -j | jq length)
	[ "$n" = 0 ] || fail "$n app cgroups left in xsl_app_cgroups"
	n=$(bpftool map dump pinned "$PIN/xsl_workers" -j |
		jq '[.[] | select(.formatted.value.state != 0)] | length')
	[ "$n" = 0 ] || fail "$n workers not free in xsl_workers"
	n=$(n_sessions)
	[ "$n" = 0 ] || fail "$n sessions left"
	n=$(find "$PIN" -name 'xsl_cg_*' | wc -l)
	[ "$n" = 0 ] || fail "$n cgroup hook links left pinned"
}

test_worker_sigstop_keeps_sessions() {
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || return 1
	local out victim on_victim res
	out=$(mktemp "$E2E_TMP/udp.XXXXXX")
	udp_bg "$out" --flows 32 --rounds 30 --gap-ms 40 --timeout-ms 50 --verbose
	local client=$BG_PID
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	# the client's flows have their sessions before the worker stops
	wait_for 500 '[ "$(ctl --json show sessions app1 --limit 1000 |
		jq "[.sessions[] | select(.pid == $victim)] | length")" -gt 0 ]' ||
		fail "no session on worker $victim"
	kill -STOP "$victim"
	# stopped for a while (a duration, not a wait): its flows go unanswered
	sleep 0.6
	# stopped: still a worker, its sessions still point at it
	worker_pids app1 | grep -qw "$victim" || fail "stopped worker $victim was detached"
	on_victim=$(ctl --json show sessions app1 --limit 1000 |
		jq "[.sessions[] | select(.pid == $victim)] | length")
	[ "$on_victim" -gt 0 ] || fail "no session of the stopped worker left"
	kill -CONT "$victim"
	wait "$client"
	log "$(tail -1 "$out")"
	[ "$(tail -1 "$out" | field moved)" = 0 ] || fail "flows moved"
	# the stopped worker's flows went unanswered for a while, then it
	# answered them again itself; the others kept being answered (a reply
	# late by a busy machine shows as a 0 too: those are only counted)
	res=$(awk -v v="$victim" '
		$1 == "flow" && $3 == v { mine++; for (i = 4; i <= NF; i++) if ($i == 0) gap[$2] = 1
			if ($NF != v) unanswered++ }
		$1 == "flow" && $3 != v { if ($NF == 0) unanswered++
			for (i = 3; i <= NF; i++) late += $i == 0 }
		END { n = 0; for (f in gap) n++
			printf "%d flows on the stopped worker, %d with a gap, %d unanswered at the end, %d late on others\n",
				mine, n, unanswered, late
			exit !(mine > 0 && n > 0 && !unanswered) }' "$out") ||
		fail "stopped worker's flows: $res; see $out"
	log "$res"
	kill -0 "$AGENT_PID" || fail "agent died"
	[ "$E2E_FAILED" = 0 ] && rm -f "$out"
}

test_process_group_killed_at_once() {
	xdp_on || return 1
	start_server 4 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 4 ]' || return 1
	udp --flows 32 --rounds 1 >/dev/null
	[ "$(n_sessions app1)" -ge 32 ] || fail "no sessions before the kill"
	local pgid
	pgid=$(ps -o pgid= -p "$MASTER" | tr -d ' ')
	[ "$pgid" = "$RUN_PID" ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] ||
		{ fail "server is not in a process group of its own ($pgid)"; return 1; }
	kill -9 -- "-$pgid"
	{ wait "$RUN_PID"; } 2>/dev/null
	wait_for 300 '[ "$(n_apps)" -eq 0 ]' || fail "app not freed"
	wait_for 300 '[ ! -d "$CGROOT/app1" ]' || fail "app cgroup not removed"
	[ "$(ctl --json show workers | jq '.workers | length')" = 0 ] || fail "workers left"
	maps_clear
	grep -q "app app1 (index [0-9]*) freed" "$AGENT_LOG" || fail "app release not logged"
	ctl show apps >/dev/null || fail "agent stopped serving"
}

test_app_cgroup_removed_under_agent() {
	xdp_on || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || return 1
	udp --flows 16 --rounds 1 >/dev/null
	# the processes move elsewhere and the cgroup goes: no exit event at
	# all. The agent is stopped meanwhile: else its reconcile pass may find
	# the cgroup empty first and free the app (and remove the cgroup) the
	# ordinary way, which is not what this test is about.
	local out p pids
	mkdir "$CGROOT/elsewhere" || return 1
	# (run put them in the cgroup of instance 1, i1)
	pids=$(cat "$CGROOT/app1/cgroup.procs" "$CGROOT/app1/i1/cgroup.procs")
	kill -STOP "$AGENT_PID"
	for p in $pids; do
		echo "$p" >"$CGROOT/elsewhere/cgroup.procs" || fail "move $p"
	done
	rmdir "$CGROOT/app1/i1" "$CGROOT/app1" || fail "rmdir app cgroup"
	kill -CONT "$AGENT_PID"
	[ "$E2E_FAILED" = 0 ] || return 1
	wait_for 300 '[ "$(n_apps)" -eq 0 ]' || fail "app not freed after its cgroup went"
	grep -q "app app1: cgroup .* is gone" "$AGENT_LOG" &&
		grep -q "app app1: all 3 workers detached (reconcile)" "$AGENT_LOG" || fail "not reported"
	maps_clear
	for p in $pids; do
		kill -0 "$p" || fail "process $p died: the agent must not kill"
	done
	echo 1 >"$CGROOT/elsewhere/cgroup.kill"
	wait "$RUN_PID"
	wait_for 300 'rmdir "$CGROOT/elsewhere"' || fail "rmdir elsewhere"

	# the agent serves the app again; then its processes die with the
	# cgroup removed at once
	start_server 2 || { fail "app not served again"; return 1; }
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || fail "listener not back"
	out=$(udp --flows 16 --rounds 2)
	[ "$(echo "$out" | field lost)" = 0 ] || fail "second app: $out"
	# whoever is first removes it: we (the agent gets ENOENT) or the agent
	echo 1 >"$CGROOT/app1/cgroup.kill"
	wait_for 100 'rmdir "$CGROOT/app1" 2>/dev/null || [ ! -d "$CGROOT/app1" ]' ||
		fail "rmdir app cgroup after kill"
	wait_for 300 '[ "$(n_apps)" -eq 0 ]' || fail "killed app not freed"
	maps_clear
	ctl show apps >/dev/null || fail "agent stopped serving"
	kill -0 "$AGENT_PID" || fail "agent died"
}

test_xdp_detached_under_agent() {
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || return 1
	local out s0 pass0 created0 s1 out2
	out=$(mktemp "$E2E_TMP/udp.XXXXXX")
	# fixed source ports: a later flow can never reuse an earlier one's
	udp_bg "$out" --flows 32 --rounds 30 --gap-ms 20 --sport-base 43000 --verbose
	local client=$BG_PID
	# the flows have their sessions (made by XDP) before it goes, and the
	# agent has seen xsl's program there (its scan runs with reconcile)
	wait_for 500 '[ "$(n_sessions app1)" -ge 32 ]' || fail "no sessions before the detach"
	wait_for 500 'ctl --json show stats | jq -e --arg d "$SRV_IF" ".xdp_devices | index(\$d) != null"' ||
		fail "the agent never saw XDP on $SRV_IF"
	s0=$(ctl --json show stats) || fail "show stats"
	in_srv ip link set dev "$SRV_IF" xdp off || return 1
	pass0=$(ctr xdp_pass)
	wait "$client"
	log "across the detach: $(tail -1 "$out")"
	[ "$(tail -1 "$out" | field lost)" = 0 ] || fail "replies lost across the detach"
	[ "$(tail -1 "$out" | field moved)" = 0 ] || fail "flows moved across the detach"
	# new flows: sessions now come from sk_lookup
	created0=$(ctr session_created)
	out2=$(udp --flows 16 --rounds 3 --sport-base 43100)
	log "new flows without XDP: $out2"
	[ "$(echo "$out2" | field lost)" = 0 ] || fail "new flows lost replies"
	[ "$(echo "$out2" | field moved)" = 0 ] || fail "new flows moved"
	[ "$(ctr session_created)" -ge $((created0 + 16)) ] ||
		fail "sk_lookup made no sessions: $created0 -> $(ctr session_created)"
	[ "$(ctr xdp_pass)" = "$pass0" ] || fail "xdp_pass counts without XDP"
	[ "$(n_sessions app1)" -ge 48 ] || fail "sessions: $(n_sessions app1), want >= 48"
	# counters are sane: none went backwards
	s1=$(ctl --json show stats) || fail "show stats"
	jq -n --argjson a "$s0" --argjson b "$s1" \
		'[$a.stats | keys[] as $k | select($b.stats[$k] < $a.stats[$k])] | length == 0' |
		grep -qx true || fail "counters went backwards: $s0 -> $s1"
	kill -0 "$AGENT_PID" || fail "agent died"
	# the agent noticed and says so
	wait_for 300 '[ "$(ctl --json show stats | jq .agent.xdp_detached_behind)" -ge 1 ]' ||
		fail "detach behind the agent not reported"
	ctl --json show stats | jq -e --arg d "$SRV_IF" '.xdp_devices | index($d) == null' >/dev/null ||
		fail "$SRV_IF still listed with XDP"
	grep -q "$SRV_IF no longer runs xsl's XDP program" "$AGENT_LOG" || fail "not logged"
	# attached again through the agent, XDP carries the traffic again
	ctl xdp attach "$SRV_IF" >/dev/null || fail "xdp attach"
	out2=$(udp --flows 16 --rounds 2 --sport-base 43200)
	[ "$(echo "$out2" | field lost)" = 0 ] || fail "after re-attach: $out2"
	[ "$(ctr xdp_pass)" -gt "$pass0" ] || fail "XDP not running after re-attach"
	ctl xdp attach "$SRV_IF" 2>&1 | grep -q "already attached" || fail "second attach not refused"
	ctl xdp detach "$SRV_IF" >/dev/null || fail "xdp detach"
	[ "$E2E_FAILED" = 0 ] && rm -f "$out"
}

test_ringbuf_overflow_reconcile_converges() {
	agent_fresh --ringbuf-kb 4 || return 1
	start_server 2 || return 1
	local n t0 t1 lost0
	lost0=$(ctr events_lost)
	# the agent stops reading while a fork storm and three forks happen
	kill -STOP "$AGENT_PID"
	kill -USR2 "$MASTER"
	wait_for 1000 'grep -q "^storm" "$SRV_OUT"' || fail "no storm"
	for n in 3 4 5; do
		kill -USR1 "$MASTER"
		wait_for 300 '[ "$(grep -c "^worker" "$SRV_OUT")" -ge $n ]' || fail "no fork $n"
	done
	t0=$(date +%s%N)
	kill -CONT "$AGENT_PID"
	wait_for 200 '[ "$(worker_pids app1)" = "$(server_pids)" ]' ||
		fail "workers $(worker_pids app1) != processes $(server_pids)"
	t1=$(date +%s%N)
	log "converged $(((t1 - t0) / 1000000)) ms after the agent went on"
	[ "$(ctr events_lost)" -gt "$lost0" ] || fail "no event was lost"
	log "events lost: $(ctr events_lost); registrations" \
		"$(ctl --json show app app1 | jq -c .app.registrations)"
	[ "$(n_workers app1)" -eq 6 ] || fail "want master + 5 workers, have $(n_workers app1)"
	grep -q "lost (ring buffer full), reconciling" "$AGENT_LOG" || fail "loss not reported"
	# the sockets of the forks it did not hear about were found too
	wait_for 300 '[ "$(udp_listener_workers)" -eq 5 ]' ||
		fail "udp listener has $(udp_listener_workers) workers, want 5"
}

test_session_table_full_new_flows_served() {
	agent_fresh --max-sessions 256 || return 1
	# not `ip link`: iproute2 loads the object with its declared table size,
	# which no longer matches the pinned map's
	ctl xdp attach "$SRV_IF" >/dev/null || return 1
	start_server 4 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 4 ]' || return 1
	local i out lost=0 total created refused evicted
	for i in 1 2 3 4; do
		out=$(udp --flows 250 --rounds 1)
		lost=$((lost + $(echo "$out" | field lost)))
	done
	total=$(n_sessions)
	created=$(ctr session_created)
	refused=$(ctr session_refused)
	evicted=$(ctr session_evicted)
	log "1000 flows: lost $lost, sessions $total, created $created, evicted $evicted," \
		"refused $refused"
	[ "$lost" = 0 ] || fail "$lost flows unanswered with a full table"
	[ "$total" -le 256 ] || fail "$total sessions in a table of 256"
	# answered flows are assured: a full table refuses new flows (served
	# statelessly) rather than evict them; a later client may reuse a source
	# port whose session is still there
	[ $((created + refused)) -ge 900 ] ||
		fail "created $created + refused $refused, want about 1000"
	[ "$refused" -ge $((900 - 256 - evicted)) ] || fail "refused $refused, want >= $((900 - 256 - evicted))"
	# the agent's GC has not expired any (default idle timeout)
	[ "$(ctl --json show app app1 | jq '.app.expired.idle + .app.expired.closed')" = 0 ] ||
		fail "sessions expired by the GC, eviction count unclear"
	in_srv ip link show dev "$SRV_IF" 2>/dev/null | grep -q xdp || fail "XDP was not attached"
	[ "$(ctr xdp_pass)" -ge 1000 ] || fail "XDP passed $(ctr xdp_pass) packets"
}

test_agent_sigterm_restart_keeps_state() {
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || return 1
	udp --flows 32 --rounds 1 >/dev/null
	local workers listeners sessions rc pins p
	workers=$(ctl --json show workers app1 | jq -c '[.workers[] | {pid, map_index}] | sort')
	listeners=$(ctl --json show listeners | jq -c '[.listeners[] | {proto, addr, port, workers}] | sort')
	sessions=$(ctl --json show sessions app1 --limit 1000 | jq -c '[.sessions[] | [.remote, .pid]] | sort')
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "agent exit status $rc after SIGTERM"
	grep -q "shutting down, pinned state kept" "$AGENT_LOG" || fail "shutdown not logged"
	for p in xsl_sessions xsl_workers xsl_listeners xsl_apps xsl_link_sklookup; do
		[ -e "$PIN/$p" ] || fail "$p unpinned by a clean shutdown"
	done
	# the data path answers while no agent runs
	[ "$(udp --flows 8 --rounds 2 | field lost)" = 0 ] || fail "no replies without the agent"
	agent_start || return 1
	[ "$(ctl --json show workers app1 | jq -c '[.workers[] | {pid, map_index}] | sort')" = "$workers" ] ||
		fail "workers after restart differ: $workers"
	[ "$(ctl --json show listeners | jq -c '[.listeners[] | {proto, addr, port, workers}] | sort')" = "$listeners" ] ||
		fail "listeners after restart differ: $listeners"
	# every session from before is there, on the same worker
	ctl --json show sessions app1 --limit 1000 | jq -c '[.sessions[] | [.remote, .pid]] | sort' |
		jq -e --argjson old "$sessions" '. as $new | $old - $new | length == 0' >/dev/null ||
		fail "sessions lost or moved by the restart"
	[ "$(worker_pids app1)" = "$(server_pids)" ] || fail "workers != processes after restart"
	# stopped again, --reset removes every xsl pin
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	in_srv "$AGENT" --reset --pin-root "$PIN" >>"$AGENT_LOG" 2>&1 || fail "--reset failed"
	pins=$(ls "$PIN" | grep '^xsl_')
	[ -z "$pins" ] || fail "pins left after --reset: $(echo $pins)"
}

ALL_TESTS="test_worker_sigstop_keeps_sessions test_process_group_killed_at_once
test_app_cgroup_removed_under_agent test_xdp_detached_under_agent
test_ringbuf_overflow_reconcile_converges test_session_table_full_new_flows_served
test_agent_sigterm_restart_keeps_state"
e2e_main
