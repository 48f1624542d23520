#!/usr/bin/env bash
# End to end: the agent, xslctl and a forking test server in network
# namespaces; XDP attached with `ip link`, a UDP client in the peer namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5300

test_run_registers_every_process() {
	start_server 3 || return 1
	[ "$(worker_pids app1)" = "$(server_pids)" ] ||
		fail "workers $(worker_pids app1) != processes $(server_pids)"
	# map indexes 0..3, master first
	[ "$(ctl --json show workers app1 | jq -r '[.workers[].map_index] | sort | join(",")')" = "0,1,2,3" ] ||
		fail "map indexes $(ctl --json show workers app1 | jq -c '[.workers[].map_index]')"
	[ "$(ctl --json show workers app1 | jq -r ".workers[] | select(.pid == $MASTER) | .map_index")" = 0 ] ||
		fail "master is not map-index 0"
}

test_flows_stick_to_their_worker() {
	xdp_on || return 1
	start_server 4 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 4 ]' || fail "udp listener does not have 4 workers"
	local out
	out=$(udp --flows 64 --rounds 5)
	log "$out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "lost replies"
	[ "$(echo "$out" | field moved)" = 0 ] || fail "flows moved between workers"
	[ "$(echo "$out" | field workers)" -ge 3 ] || fail "flows not spread over workers"
	[ "$(ctl --json show sessions app1 --limit 1000 | jq '.total')" -ge 64 ] ||
		fail "sessions not in the table"
}

# The dead worker's sessions are re-homed by the agent's GC (one store of
# the route), not re-created: the same flows (fixed source ports) go on in
# the same sessions, whose packet counts continue, and the data path has
# nothing left to re-home when they come back.
test_killed_worker_cleaned_and_flows_rehomed() {
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || fail "udp listener does not have 3 workers"
	udp --flows 48 --rounds 1 --sport-base 20000 >/dev/null
	local victim t0 t1 ms out n_victim created0 reassigned0 stats counts
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	n_victim=$(ctl --json show sessions app1 --limit 1000 |
		jq --argjson p "$victim" '[.sessions[] | select(.pid == $p)] | length')
	[ "$n_victim" -gt 0 ] || fail "the victim $victim has no session"
	created0=$(ctl --json show stats | jq .stats.session_created)
	reassigned0=$(ctl --json show stats | jq .stats.session_reassigned)
	t0=$(date +%s%N)
	kill -9 "$victim"
	wait_for 500 '! worker_pids app1 | grep -qw "$victim"' || fail "killed worker still listed"
	t1=$(date +%s%N)
	# the agent's own time, from its log's stamp (ms): what the polling
	# xslctl and jq add on a busy machine is not the agent's
	ms=$(awk -v p="$victim" -v t0="$t0" '$0 ~ "detached pid " p " " {
		split($1, s, "."); printf "%d\n", s[1] * 1000 + s[2] - int(t0 / 1000000); exit }' "$AGENT_LOG")
	log "worker $victim detached by the agent after ${ms:-?} ms, gone from show workers after" \
		"$(((t1 - t0) / 1000000)) ms"
	[ -n "$ms" ] && [ "$ms" -le 100 ] || fail "cleanup took more than 100 ms"
	wait_for 500 '[ "$(ctl --json show stats | jq .agent.gc_rehomed)" -ge "$n_victim" ]' ||
		fail "GC re-homed $(ctl --json show stats | jq .agent.gc_rehomed) of $n_victim sessions"
	out=$(udp --flows 48 --rounds 3 --sport-base 20000)
	log "$out; $n_victim sessions of the victim re-homed"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "flows of the dead worker were not re-homed"
	stats=$(ctl --json show stats)
	[ "$(echo "$stats" | jq .stats.session_created)" = "$created0" ] ||
		fail "sessions re-created: created $created0 -> $(echo "$stats" | jq .stats.session_created)"
	[ "$(echo "$stats" | jq .stats.session_reassigned)" = "$reassigned0" ] ||
		fail "the data path re-homed sessions the agent should have"
	# 1 packet before the kill and 3 after: the same session all along
	counts=$(ctl --json show sessions app1 --limit 1000 | jq -c '[.sessions[].packets]')
	[ "$(echo "$counts" | jq '[.[] | select(. == 4)] | length')" = 48 ] ||
		fail "not every session counts 4 packets: $counts"
}

# An app's packets are the agent's sum over its workers: a dead worker's
# stay in the app's total when a new worker takes its index (the mirror
# retires them before zeroing its counters), and across an agent restart.
app_packets() { ctl --json show app app1 | jq .app.packets; }
index_of() { ctl --json show workers app1 | jq --argjson p "$1" '.workers[] | select(.pid == $p) | .index'; }
test_app_packets_kept_through_worker_reuse_and_restart() {
	xdp_on || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || return 1
	local victim index out n0 p
	out=$(udp --flows 20 --rounds 2)
	[ "$(echo "$out" | field lost)" = 0 ] || fail "lost replies: $out"
	n0=$(app_packets)
	[ "$n0" = 40 ] || fail "app packets $n0 after 40 datagrams"
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	index=$(index_of "$victim")
	kill -9 "$victim"
	wait_for 500 '! worker_pids app1 | grep -qw "$victim"' || fail "killed worker still listed"
	kill -USR1 "$MASTER"
	wait_for 300 '[ "$(n_workers app1)" -eq 3 ]' || return 1
	p=$(ctl --json show workers app1 | jq --argjson i "$index" '.workers[] | select(.index == $i) | .pid')
	[ -n "$p" ] && [ "$p" != "$victim" ] || fail "no new worker at index $index"
	[ "$(app_packets)" = "$n0" ] || fail "app packets $n0 -> $(app_packets) after the index was reused"
	[ "$(in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk '$1 == "xsl_app_packets_total{app=\"app1\"}" { print $2 }')" = "$n0" ] ||
		fail "xsl_app_packets_total differs from show app"
	agent_again || return 1
	[ "$(app_packets)" = "$n0" ] || fail "app packets $n0 -> $(app_packets) after an agent restart"
}

test_new_fork_is_registered() {
	start_server 2 || return 1
	kill -USR1 "$MASTER"
	wait_for 300 '[ "$(grep -c "^worker" "$SRV_OUT")" -eq 3 ]' || return 1
	wait_for 300 '[ "$(n_workers app1)" -eq 4 ]' || fail "forked worker not registered"
	[ "$(worker_pids app1)" = "$(server_pids)" ] || fail "pids differ"
}

test_all_exit_frees_app() {
	start_server 2 || return 1
	[ -d "$CGROOT/app1" ] || fail "no app cgroup"
	kill -TERM "$MASTER"
	wait "$RUN_PID"
	wait_for 300 '[ "$(ctl --json show apps | jq ".apps | length")" -eq 0 ]' || fail "app not freed"
	wait_for 300 '[ ! -d "$CGROOT/app1" ]' || fail "cgroup not removed"
	[ "$(bpftool map dump pinned "$PIN/xsl_listeners" -j | jq length)" = 0 ] ||
		fail "listeners left in the map"
	[ "$(bpftool map dump pinned "$PIN/xsl_app_cgroups" -j | jq length)" = 0 ] ||
		fail "app cgroup left in the map"
}

test_fork_storm_registered_and_cleaned() {
	start_server 1 || return 1
	wait_for 300 '[ "$(n_workers app1)" -eq 2 ]' || return 1
	# counted from here: the first worker may have been found by a
	# reconcile pass before its fork event was read
	local reg0 det0 reg det
	reg0=$(ctl --json show app app1 | jq '.app.registrations.fork')
	det0=$(ctl --json show app app1 | jq '.app.detaches.exit')
	kill -USR2 "$MASTER"
	wait_for 1000 'grep -q "^storm" "$SRV_OUT"' || return 1
	wait_for 1000 '[ "$(n_workers app1)" -eq 2 ]' || fail "storm workers left behind"
	reg=$(($(ctl --json show app app1 | jq '.app.registrations.fork') - reg0))
	det=$(($(ctl --json show app app1 | jq '.app.detaches.exit') - det0))
	log "storm: fork registrations $reg, exit detaches $det;" \
		"$(ctl --json show app app1 | jq -c '.app.registrations, .app.detaches' | tr '\n' ' ')" \
		"events lost $(ctl --json show stats | jq '.agent.events_lost')"
	[ "$reg" -eq 1000 ] || fail "expected 1000 fork registrations, got $reg"
	[ "$det" -eq 1000 ] || fail "expected 1000 exit detaches, got $det"
}

# Observations in histogram $1 on the agent's /metrics (empty: no such one).
hist_count() {
	in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v m="$1_count" '$1 == m { print $2 }'
}

# The agent times every fork from its kernel event to the registration,
# also a child gone before the agent got to it, and every exit from its
# event to the detach: a burst of short-lived children is counted in full.
test_every_fork_and_exit_is_timed() {
	start_server 2 --storm 200 || return 1
	local f0 f1 e0 e1 victim
	f0=$(hist_count xsl_fork_to_register_seconds)
	[ -n "$f0" ] || fail "no xsl_fork_to_register_seconds on /metrics"
	kill -USR2 "$MASTER"
	wait_for 1000 '[ "$(hist_count xsl_fork_to_register_seconds)" -ge $((f0 + 200)) ] &&
		[ "$(n_workers app1)" -eq 3 ]'
	f1=$(hist_count xsl_fork_to_register_seconds)
	[ "$f1" -eq $((f0 + 200)) ] || fail "$((f1 - f0)) of 200 forks timed"
	e0=$(hist_count xsl_exit_to_detach_seconds)
	[ -n "$e0" ] || fail "no xsl_exit_to_detach_seconds on /metrics"
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	kill -9 "$victim"
	wait_for 500 '! worker_pids app1 | grep -qw "$victim"' || fail "killed worker still listed"
	e1=$(hist_count xsl_exit_to_detach_seconds)
	[ "$e1" -eq $((e0 + 1)) ] || fail "exit of the killed worker timed $((e1 - e0)) times"
}

# A cgroup adopted with --cgroup may hold processes already, also in cgroups
# below it: every one becomes a worker (the whole tree is walked).
test_adopted_cgroup_tree_processes_become_workers() {
	local cg="$CGROOT/adopted" p1 p2 p3
	mkdir -p "$cg/a/b" "$cg/c" || return 1
	bg sleep 300
	p1=$BG_PID
	bg sleep 300
	p2=$BG_PID
	bg sleep 300
	p3=$BG_PID
	echo "$p1" >"$cg/cgroup.procs" && echo "$p2" >"$cg/a/b/cgroup.procs" &&
		echo "$p3" >"$cg/c/cgroup.procs" || return 1
	ctl app attach adopted --cgroup "$cg" >/dev/null || fail "attach with --cgroup $cg failed"
	[ "$(worker_pids adopted)" = "$(printf '%s\n' "$p1" "$p2" "$p3" | sort -n | tr '\n' ' ')" ] ||
		fail "workers $(worker_pids adopted), processes $p1 $p2 $p3"
	kill "$p2"
	wait_for 500 '! worker_pids adopted | grep -qw "$p2"' || fail "exited pid $p2 still a worker"
}

# Sends raw request lines to the agent as root; prints the replies.
raw() { in_srv socat -t 2 - UNIX-CONNECT:"$SOCK"; }

test_process_detach_keeps_other_workers() {
	start_server 3 || return 1
	local victim reply
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	reply=$(echo "{\"cmd\":\"app.leave\",\"name\":\"app1\",\"pid\":$victim}" | raw)
	[ "$(echo "$reply" | jq '.data.removed')" = 1 ] || fail "leave reply: $reply"
	[ "$(n_workers app1)" -eq 3 ] || fail "expected 3 workers left, got $(n_workers app1)"
	worker_pids app1 | grep -qw "$victim" && fail "detached pid still a worker"
	kill -0 "$victim" || fail "detach must not kill the process"
	# a second detach of the same process is a clear error
	reply=$(echo "{\"cmd\":\"app.leave\",\"name\":\"app1\",\"pid\":$victim}" | raw)
	echo "$reply" | jq -r .error | grep -q "no workers for app app1 pid $victim" ||
		fail "second leave: $reply"
}

test_outside_process_is_refused() {
	start_server 1 || return 1
	chmod 0666 "$SOCK"
	local reply
	# an unprivileged process outside the app cgroup asks to join it
	reply=$(in_srv setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		'exec socat -t 2 - UNIX-CONNECT:"$1" <<EOF
{"cmd":"app.join","name":"app1","pid":$$}
EOF' sh "$SOCK")
	[ "$(echo "$reply" | jq '.errno')" = 1 ] || fail "not refused: $reply"
	[ "$(n_workers app1)" -eq 2 ] || fail "worker count changed"
	# nor may it attach apps
	reply=$(in_srv setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		'echo "{\"cmd\":\"app.attach\",\"name\":\"evil\"}" | socat -t 2 - UNIX-CONNECT:"$1"' sh "$SOCK")
	[ "$(echo "$reply" | jq '.errno')" = 1 ] || fail "attach not refused: $reply"
}

test_garbage_on_control_socket() {
	start_server 1 || return 1
	head -c 200000 /dev/urandom | in_srv socat -t 1 -u - UNIX-CONNECT:"$SOCK" 2>/dev/null
	# one line far over the limit, then a valid request on the same connection
	{ head -c 100000 /dev/zero | tr '\0' 'x'; echo; echo '{"cmd":"show.apps"}'; } |
		raw | head -1 | jq -e '.errno == 90' >/dev/null || fail "oversized line not refused"
	printf '{"cmd":"show.ap' | in_srv socat -t 0.2 - UNIX-CONNECT:"$SOCK" >/dev/null 2>&1
	printf 'null\n[1,2]\n{"cmd":42}\n{"cmd":"nope"}\n{}\n' | raw | jq -r '.ok' | sort -u |
		grep -qx false || fail "bad requests not answered with errors"
	# a client that never reads its replies, and one that never sends
	bg in_srv sh -c "yes '{\"cmd\":\"show.stats\"}' | head -200000 | socat -u - UNIX-CONNECT:$SOCK 2>/dev/null"
	bg in_srv socat -u UNIX-CONNECT:"$SOCK" /dev/null
	# the agent is busy with the flood of requests nobody reads
	wait_for 500 '[ "$(ctl --json show stats | jq .agent.ctl_requests)" -gt 1000 ]' ||
		fail "the flooding client's requests did not arrive"
	ctl show apps >/dev/null || fail "agent stopped serving"
	[ "$(n_workers app1)" -eq 2 ] || fail "state changed"
	kill -0 "$AGENT_PID" || fail "agent died"
}

test_agent_kill9_keeps_traffic_and_state() {
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || return 1
	local before out victim
	before=$(worker_pids app1)
	# flows run across the agent's death and restart
	out=$(mktemp "$E2E_TMP/udp.XXXXXX")
	udp_bg "$out" --flows 32 --rounds 20 --gap-ms 50 --verbose
	local client=$BG_PID
	# the flows have their sessions before the agent dies
	wait_for 500 '[ "$(n_sessions app1)" -ge 32 ]' || fail "no sessions before the kill"
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	# a worker dies while nobody watches
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	kill -9 "$victim"
	# gone (or a zombie its master has not reaped yet)
	wait_for 300 '[ ! -e /proc/$victim ] || [ "$(awk "{ print \$3 }" /proc/$victim/stat)" = Z ]' ||
		fail "worker $victim did not die"
	agent_start || return 1
	wait "$client"
	log "$(tail -1 "$out")"
	# flows of live workers lose nothing and stay; the dead worker's flows
	# may lose the one request in flight when it was killed (a reply pid
	# of 0), and then move
	awk -v v="$victim" '$1 == "flow" && $3 != v { for (i = 3; i <= NF; i++) if ($i != $3) bad++ }
		END { exit bad > 0 }' "$out" || fail "flows of live workers lost packets or moved"
	awk -v v="$victim" '$1 == "flow" && $3 == v { n = 0; for (i = 4; i <= NF; i++) n += $i == 0
		if (n > 1) bad++ } END { exit bad > 0 }' "$out" ||
		fail "the dead worker's flows lost more than the request in flight"
	wait_for 300 '! worker_pids app1 | grep -qw "$victim"' || fail "dead worker not cleaned after restart"
	[ "$(worker_pids app1)" = "$(echo "$before" | awk -v v="$victim" '{ for (i = 1; i <= NF; i++) if ($i != v) printf "%s ", $i }')" ] ||
		fail "workers after restart: $(worker_pids app1), before: $before"
	[ "$(ctl --json show sessions app1 --limit 1 | jq '.total')" -ge 32 ] || fail "sessions lost"
	rm -f "$out"
}

test_drop_policy_drops_orphaned_flows() {
	xdp_on || return 1
	ctl app attach app1 --policy drop >/dev/null || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || return 1
	local out victim orphans before after
	out=$(udp --flows 40 --rounds 1 --sport-base 41000 --verbose)
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	orphans=$(echo "$out" | awk -v v="$victim" '$1 == "flow" && $3 == v' | wc -l)
	[ "$orphans" -gt 0 ] || fail "no flow was on the worker to be killed"
	kill -9 "$victim"
	wait_for 300 '! worker_pids app1 | grep -qw "$victim"' || return 1
	before=$(ctl --json show stats | jq .drops.worker_gone)
	# the same flows again: the dead worker's are dropped, the others answered
	out=$(udp --flows 40 --rounds 1 --sport-base 41000 --timeout-ms 200)
	after=$(ctl --json show stats | jq .drops.worker_gone)
	log "$orphans flows were on the killed worker; $out"
	[ "$(echo "$out" | field lost)" -eq "$orphans" ] || fail "expected $orphans lost"
	[ $((after - before)) -eq "$orphans" ] || fail "expected $orphans worker_gone drops, got $((after - before))"
}

# nginx-style: the master binds every socket, each worker keeps one.
test_sockets_go_to_the_worker_that_kept_them() {
	xdp_on || return 1
	start_server 4 --master-binds || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 4 ]' ||
		fail "udp listener has $(udp_listener_workers) workers, want the 4 that kept a socket"
	ctl --json show listeners | jq -e "[.listeners[] | select(.proto == \"udp\")] | .[0].sockets == 4" >/dev/null ||
		fail "want 4 sockets: $(ctl --json show listeners)"
	local out
	out=$(udp --flows 64 --rounds 3 --verbose)
	log "$(echo "$out" | tail -1)"
	[ "$(echo "$out" | tail -1 | field lost)" = 0 ] || fail "lost replies"
	[ "$(echo "$out" | tail -1 | field moved)" = 0 ] || fail "flows moved"
	[ "$(echo "$out" | tail -1 | field workers)" -ge 3 ] || fail "flows not spread"
	echo "$out" | awk -v m="$MASTER" '$1 == "flow" && $3 == m { bad = 1 } END { exit bad }' ||
		fail "the master answered a flow"
}

test_idle_sessions_expire() {
	xdp_on || return 1
	ctl app attach app1 --idle-timeout 1 >/dev/null || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || return 1
	udp --flows 20 --rounds 1 >/dev/null
	[ "$(ctl --json show sessions app1 | jq .total)" -ge 20 ] || fail "no sessions"
	# idle 1 s, GC every second: gone within about 2.5 s
	wait_for 400 '[ "$(ctl --json show sessions app1 | jq .total)" -eq 0 ]' || fail "sessions not expired"
	[ "$(ctl --json show app app1 | jq .app.expired.idle)" -ge 20 ] || fail "expiry not counted"
}

test_moved_process_joins() {
	start_server 1 || return 1
	bg in_srv sleep 30
	local pid=$BG_PID
	echo "$pid" >"$CGROOT/app1/cgroup.procs" || return 1
	wait_for 300 'worker_pids app1 | grep -qw "$pid"' || fail "moved process not registered"
	[ "$(ctl --json show app app1 | jq .app.registrations.join)" -ge 1 ] || fail "not counted as join"
	kill "$pid"
	wait_for 300 '! worker_pids app1 | grep -qw "$pid"' || fail "exited process not detached"
}

# A live worker moved to a cgroup outside the app leaves it at the next
# reconcile pass (it is no longer in cgroup.procs, and /proc/PID/cgroup
# says so too); its siblings, which cgroup.procs lists, stay.
test_worker_moved_out_is_detached_alive() {
	start_server 2 || return 1
	local victim rec0
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	rec0=$(ctl --json show app app1 | jq '.app.detaches.reconcile // 0')
	mkdir "$CGROOT/elsewhere" || return 1
	echo "$victim" >"$CGROOT/elsewhere/cgroup.procs" || return 1
	wait_for 300 '! worker_pids app1 | grep -qw "$victim"' || fail "moved-out worker still listed"
	[ "$(ctl --json show app app1 | jq '.app.detaches.reconcile // 0')" -eq $((rec0 + 1)) ] ||
		fail "detach not counted as reconcile: $(ctl --json show app app1 | jq -c .app.detaches)"
	[ "$(n_workers app1)" -eq 2 ] || fail "siblings lost: $(n_workers app1) workers, want 2"
	kill -0 "$victim" || fail "the agent killed the moved process"
	echo "$victim" >"$CGROOT/app1/cgroup.procs" || return 1
	wait_for 300 'worker_pids app1 | grep -qw "$victim"' || fail "moved-back worker not registered"
	wait_for 300 'rmdir "$CGROOT/elsewhere"' || fail "rmdir elsewhere"
}

test_static_listener_without_workers_drops() {
	xdp_on || return 1
	start_server 1 || return 1
	ctl listen app1 udp "$SRV_IP:5400" >/dev/null || return 1
	ctl --json show listeners | jq -e '.listeners[] | select(.port == 5400 and .static)' >/dev/null ||
		fail "listener not shown"
	local before after
	before=$(ctl --json show stats | jq .drops.no_worker)
	in_cli "$UDPCLIENT" --addr "$SRV_IP" --port 5400 --flows 5 --rounds 1 --timeout-ms 100 >/dev/null
	after=$(ctl --json show stats | jq .drops.no_worker)
	[ $((after - before)) -eq 5 ] || fail "expected 5 counted drops, got $((after - before))"
	# a bad listen is refused with a usage error
	ctl listen app1 sctp "$SRV_IP:1" 2>/dev/null && fail "sctp accepted"
	ctl listen nosuchapp udp "$SRV_IP:1" 2>/dev/null && fail "unknown app accepted"
	return 0
}

test_cpu_steer_pins_workers_and_redirects() {
	xdp_on || return 1
	# a veth hands over UDP with the checksum still to fill in, and a frame
	# redirected through a cpumap loses that mark: let the sender fill it
	in_cli ethtool -K "$CLI_IF" tx off >/dev/null || return 1
	ctl app attach app1 --cpu-steer >/dev/null || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || return 1
	local ncpu pid cpu out
	ncpu=$(nproc)
	[ -n "$(worker_pids app1)" ] || fail "no workers to check"
	for pid in $(worker_pids app1); do
		cpu=$(ctl --json show workers app1 | jq ".workers[] | select(.pid == $pid) | .cpu")
		[ "$cpu" -ge 0 ] && [ "$cpu" -lt "$ncpu" ] || fail "pid $pid: cpu $cpu"
		taskset -pc "$pid" | grep -q "list: $cpu\$" || fail "pid $pid not pinned to cpu $cpu"
	done
	out=$(udp --flows 32 --rounds 3)
	log "$out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "steered flows lost replies"
	[ "$(echo "$out" | field moved)" = 0 ] || fail "steered flows moved"
	[ "$(ctr xdp_redirect)" -ge 96 ] || fail "packets not redirected: $(ctr xdp_redirect)"
}

# Replaces the harness's agent (same maps) by one started with ARGS.
agent_again() {
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	agent_start "$@"
}

# The value of the unlabelled series $1 on /metrics.
metric() {
	in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v m="$1" '$1 == m { print $2 }'
}

# Observations of stage $1 of xsl_fork_stage_seconds on /metrics.
stage_count() {
	in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v s="stage=\"$1\"" 'index($1, "xsl_fork_stage_seconds_count{") == 1 &&
			index($1, s) { print $2 }'
}

# --sched puts the agent under the policy asked for once it is started
# (chrt shows it, real-time ones not inherited by children), with its
# watchdog's limit (RLIMIT_RTTIME) set; the fork latency's parts are timed.
test_sched_option_is_applied() {
	local pol
	agent_again --sched fifo:7 || return 1
	pol=$(chrt -p "$AGENT_PID")
	log "$(echo "$pol" | tr '\n' ' ')"
	echo "$pol" | grep -q "policy: SCHED_FIFO|SCHED_RESET_ON_FORK$" || fail "not SCHED_FIFO: $pol"
	echo "$pol" | grep -q "priority: 7$" || fail "not priority 7: $pol"
	[ "$(prlimit --pid "$AGENT_PID" --rttime --noheadings -o SOFT,HARD | xargs)" = "200000 2000000" ] ||
		fail "RLIMIT_RTTIME: $(prlimit --pid "$AGENT_PID" --rttime --noheadings -o SOFT,HARD)"
	grep -q "scheduling: SCHED_FIFO priority 7" "$AGENT_LOG" || fail "policy not logged"
	start_server 2 || return 1
	kill -USR1 "$MASTER"
	wait_for 300 '[ "$(n_workers app1)" -eq 4 ]' || fail "fork not registered"
	local w q h
	w=$(stage_count wake) q=$(stage_count queue) h=$(stage_count handle)
	[ -n "$w" ] && [ "$w" -ge 1 ] && [ "$w" = "$q" ] && [ "$q" = "$h" ] ||
		fail "fork stages counted wake=$w queue=$q handle=$h"
	agent_again --sched rr:3 || return 1
	pol=$(chrt -p "$AGENT_PID")
	echo "$pol" | grep -q "policy: SCHED_RR|SCHED_RESET_ON_FORK$" || fail "not SCHED_RR: $pol"
	echo "$pol" | grep -q "priority: 3$" || fail "not priority 3: $pol"
	# other undoes a real-time policy the agent was started with (this
	# shell's, for the agent's start only)
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	chrt -f -p 5 "$BASHPID" || return 1
	agent_start --sched other
	chrt -o -p 0 "$BASHPID" || return 1
	pol=$(chrt -p "$AGENT_PID")
	echo "$pol" | grep -q "policy: SCHED_OTHER$" || fail "--sched other left: $pol"
}

# Bad --sched values: exit 2 with a message naming the value and why,
# before anything is touched.
test_sched_bad_values_refused() {
	local v out rc
	for v in "" fifo fifo:0 fifo:100 fifo:-1 fifo:7x rr rr:x other:5 batch FIFO:7; do
		out=$(in_srv "$AGENT" --pin-root "$PIN" --socket "$E2E_TMP/bad.sock" --sched "$v" 2>&1)
		rc=$?
		[ "$rc" = 2 ] || fail "--sched '$v': exit $rc"
		echo "$out" | grep -q "^xsl-agent: bad --sched '$v': " || fail "--sched '$v': $out"
	done
	[ -e "$E2E_TMP/bad.sock" ] && fail "a refused agent made its socket"
	log "$(in_srv "$AGENT" --sched fifo:0 2>&1 | head -1)"
	return 0
}

# A real-time agent that runs past its limit without sleeping drops to
# SCHED_OTHER at once, and is real-time again a second later. Its limit is
# cut to one clock tick here; a full scan of the session table (show
# sessions) runs for several.
test_sched_watchdog_drops_a_busy_agent() {
	agent_again --sched fifo:7 || return 1
	prlimit --pid "$AGENT_PID" --rttime=1:2000000 || return 1
	# The limit counts whole ticks run without sleeping: bursts of 20 table
	# scans (a one-off request can end within a tick on a loaded machine).
	# Each burst is answered before the next is sent, so once the limit is
	# back to 200 ms no backlog is left to run it out again.
	local i
	for i in $(seq 20); do echo '{"cmd":"show.sessions"}'; done >"$E2E_TMP/burst"
	wait_for 500 'in_srv socat -t 5 - UNIX-CONNECT:"$SOCK" <"$E2E_TMP/burst" >/dev/null 2>&1
		grep -q "scheduling: ran its real-time limit" "$AGENT_LOG"' ||
		fail "watchdog never fired"
	kill -0 "$AGENT_PID" || fail "agent died"
	[ "$(metric xsl_agent_sched_demotions_total)" -ge 1 ] ||
		fail "xsl_agent_sched_demotions_total: $(metric xsl_agent_sched_demotions_total)"
	wait_for 300 'grep -q "scheduling: real-time again" "$AGENT_LOG"' || fail "not real-time again"
	wait_for 500 'chrt -p "$AGENT_PID" | grep -q "policy: SCHED_FIFO" &&
		[ "$(prlimit --pid "$AGENT_PID" --rttime --noheadings -o SOFT | xargs)" = 200000 ]' ||
		fail "not real-time with the limit re-armed: $(chrt -p "$AGENT_PID"), limit" \
			"$(prlimit --pid "$AGENT_PID" --rttime --noheadings -o SOFT)"
}

# make bench's lifecycle benchmark, small: the agent as the unit runs it,
# SCHED_OTHER beside it, and one goal line per control-path target (met or
# missed depends on the machine: not checked here).
test_bench_prints_the_control_path_goals() {
	local out g
	# (its metrics port is not the one of this test's agent, nor a bench's beside it)
	out=$(XSL_BENCH_STORM=20 XSL_BENCH_PACED=5 XSL_BENCH_HOLD=200 \
		XSL_BENCH_METRICS_PORT=$((METRICS_PORT + 1000)) \
		bash "$E2E_ROOT/tests/bench/bench-lifecycle.sh" "$E2E_BUILD" 2>&1) ||
		{ fail "bench failed: $(echo "$out" | tail -5)"; return 1; }
	echo "$out" | grep -q "agent as shipped ( --sched fifo:10): SCHED_FIFO|SCHED_RESET_ON_FORK/10" ||
		fail "agent not run as shipped: $(echo "$out" | grep "as shipped (")"
	echo "$out" | grep -q "^  paced, agent SCHED_OTHER (not shipped) " || fail "no SCHED_OTHER figures"
	echo "$out" | grep -q "^  paced, as shipped  .*us" || fail "no stage means"
	for g in fork_burst_counted fork_burst_p99 fork_paced_p99 kill_to_gone_max exit_to_detach_max; do
		[ "$(echo "$out" | grep -cE "^goal $g measured=[^ ]+ target=[^ ]+ (met|missed)$")" = 1 ] ||
			fail "goal line $g: $(echo "$out" | grep "^goal $g")"
	done
	log "$(echo "$out" | grep "^goal" | tr '\n' ';')"
	[ "$(echo "$out" | grep -c "^goal")" = 5 ] || fail "$(echo "$out" | grep -c "^goal") goal lines"
}

ALL_TESTS="test_run_registers_every_process test_flows_stick_to_their_worker
test_killed_worker_cleaned_and_flows_rehomed test_app_packets_kept_through_worker_reuse_and_restart
test_new_fork_is_registered
test_all_exit_frees_app test_fork_storm_registered_and_cleaned test_every_fork_and_exit_is_timed
test_adopted_cgroup_tree_processes_become_workers
test_process_detach_keeps_other_workers test_outside_process_is_refused
test_garbage_on_control_socket test_agent_kill9_keeps_traffic_and_state
test_sockets_go_to_the_worker_that_kept_them test_idle_sessions_expire
test_moved_process_joins test_worker_moved_out_is_detached_alive test_static_listener_without_workers_drops
test_drop_policy_drops_orphaned_flows test_cpu_steer_pins_workers_and_redirects
test_sched_option_is_applied test_sched_bad_values_refused test_sched_watchdog_drops_a_busy_agent
test_bench_prints_the_control_path_goals"
e2e_main
