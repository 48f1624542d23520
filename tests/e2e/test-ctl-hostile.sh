#!/usr/bin/env bash
# End to end: the control socket against hostile clients. App names that
# would walk out of the cgroup root or remove it, a pinned record naming a
# cgroup outside the root, a peer whose pid is recycled after it exits, idle
# connections filling every slot, clients that never read their replies,
# and a client flooding requests while another one asks for `show apps`.
# Raw clients: tests/helpers/ctl_client.py.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

CLIENT="$E2E_ROOT/tests/helpers/ctl_client.py"

# Sends raw request lines (stdin) to the agent as root; prints the replies.
raw() { in_srv socat -t 2 - UNIX-CONNECT:"$SOCK"; }
# One request line as root; prints its one reply.
req() { printf '%s\n' "$1" | raw; }

# xslctl as root, failing if it takes longer than $1 seconds.
ctl_within() { timeout "$1" nsenter --net="/run/netns/$SRV_NS" "$XSLCTL" --socket "$SOCK" "${@:2}"; }
vmrss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status"; }
# Connections the agent has accepted from the raw clients (they run in this
# network namespace, where the accepting end of a unix connection lives too).
agent_conns() { ss -xH state established src "$SOCK" | wc -l; }
# The agent's own counters (show stats): control requests, reconcile passes.
agent_stat() { ctl --json show stats | jq ".agent.$1"; }

# Replaces the harness's agent (same maps) by one started with ARGS.
agent_restart() {
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	agent_start "$@"
}

# A cgroup outside the agent's root (a sibling of it), removed by
# cleanup_dirs. Called as $(outside_cgroup NAME), a subshell: the clean-up
# finds them by this file's prefix, not by a list the subshell can't extend.
outside_cgroup() {
	local dir="$CG2/xsl-e2e-outside-$E2E_ID-$E2E_N-$1"
	mkdir "$dir" && echo "$dir"
}
cleanup_dirs() {
	local d
	for d in "$CG2/xsl-e2e-outside-$E2E_ID-"*; do
		[ -d "$d" ] && cgroup_destroy "$d"
	done
}
# after every test, pass or fail: the harness's clean-up, then ours
eval "$(declare -f e2e_cleanup | sed '1s/e2e_cleanup/e2e_cleanup_harness/')"
e2e_cleanup() {
	e2e_cleanup_harness
	cleanup_dirs
}

test_attach_dotdot_name_keeps_outside_cgroup() {
	local sib reply
	sib=$(outside_cgroup sib) || return 1
	reply=$(req "{\"cmd\":\"app.attach\",\"name\":\"../$(basename "$sib")\"}")
	log "reply: $reply"
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "'../' name not refused with EINVAL: $reply"
	[ -d "$sib" ] || fail "the cgroup $sib outside the root was removed"
	[ -d "$CGROOT" ] || fail "the cgroup root was removed"
	# a name that is all dots, and one with a slash
	reply=$(req '{"cmd":"app.attach","name":".."}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "'..' not refused: $reply"
	reply=$(req '{"cmd":"app.attach","name":"a/b"}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "'a/b' not refused: $reply"
	[ -z "$(ls "$CGROOT" | grep -v '^cgroup\.\|^cpu\|^io\.\|^memory\.\|^pids\.')" ] ||
		fail "refused names left directories: $(ls "$CGROOT")"
	cleanup_dirs
}

test_attach_empty_name_keeps_cgroup_root() {
	local reply
	reply=$(req '{"cmd":"app.attach","name":""}')
	log "reply: $reply"
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "empty name not refused: $reply"
	[ -d "$CGROOT" ] || fail "the agent's cgroup root $CGROOT was removed"
	ctl app attach after-empty >/dev/null || fail "attach after an empty name failed"
	[ -d "$CGROOT/after-empty" ] || fail "no cgroup for the app attached after"
	# arguments of the wrong type are refused, not ignored or defaulted
	reply=$(req '{"cmd":"app.attach","name":42}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "numeric name not refused: $reply"
	reply=$(req '{"cmd":"app.attach","name":"typed","cgroup":7}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "numeric cgroup not refused: $reply"
	reply=$(req '{"cmd":"app.attach","name":"typed","policy":1}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "numeric policy not refused: $reply"
	reply=$(req '{"cmd":"app.attach","name":"typed","cpu_steer":"yes"}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "string cpu_steer not refused: $reply"
	reply=$(req '{"cmd":"app.attach","name":"typed","idle_timeout":-1}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "negative idle_timeout not refused: $reply"
	reply=$(req '{"cmd":"app.attach","name":"typed","idle-timeout":5}')
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "unknown argument not refused: $reply"
	[ -e "$CGROOT/typed" ] && fail "a refused attach left $CGROOT/typed"
	[ "$(ctl --json show apps | jq '.apps | length')" = 1 ] || fail "apps: $(ctl show apps)"
}

test_attach_newline_name_gets_its_own_error() {
	local reply
	ctl app attach app1 >/dev/null || return 1
	# leave a registry error behind: a process with no worker
	reply=$(req "{\"cmd\":\"app.leave\",\"name\":\"app1\",\"pid\":$$}")
	echo "$reply" | jq -r .error | grep -q "no workers" || fail "setup: $reply"
	reply=$(req '{"cmd":"app.attach","name":"a\nb"}')
	log "reply: $reply"
	[ "$(echo "$reply" | jq .errno)" = 22 ] || fail "newline name not refused: $reply"
	echo "$reply" | jq -r .error | grep -q "no workers" && fail "stale error text: $reply"
	echo "$reply" | jq -r .error | grep -q "0x0a" || fail "error does not name the newline: $reply"
	[ -d "$CGROOT" ] || fail "the cgroup root was removed"
}

# The pinned app record is edited while the agent is down to name a cgroup
# outside the agent's root (with a process in it): the restarted agent must
# not adopt it, make its process a worker, or remove it.
test_restore_refuses_cgroup_outside_root() {
	local victim ino sleeper value runs
	ctl app attach r >/dev/null || return 1
	victim=$(outside_cgroup victim) || return 1
	sleep 1000 &
	sleeper=$!
	E2E_PIDS+=("$sleeper")
	echo "$sleeper" >"$victim/cgroup.procs" || return 1
	ino=$(stat -c %i "$victim")
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	# xsl_apps[0] is app r; cgroup_id is the u64 at offset 16
	value=$(bpftool map lookup pinned "$PIN/xsl_apps" key 0 0 0 0 -j | python3 -c '
import json, struct, sys
v = bytes(int(b, 16) for b in json.load(sys.stdin)["value"])
v = v[:16] + struct.pack("<Q", int(sys.argv[1])) + v[24:]
print(" ".join(str(b) for b in v))' "$ino") || return 1
	bpftool map update pinned "$PIN/xsl_apps" key 0 0 0 0 value $value || return 1
	agent_start || return 1
	grep -q "recover: app r: .*refused" "$AGENT_LOG" || fail "no refusal logged"
	ctl --json show apps | jq -r '.apps[].cgroup' | grep -qx "$victim" &&
		fail "the outside cgroup was adopted"
	worker_pids r 2>/dev/null | grep -qw "$sleeper" && fail "its process became a worker"
	ctl app detach r >/dev/null 2>&1
	kill "$sleeper"
	wait "$sleeper" 2>/dev/null
	# with its process gone the outside cgroup could be removed (at a
	# reconcile pass, or by a tick's retry of removals): two passes later
	# it must still be there
	runs=$(agent_stat reconcile_runs)
	wait_for 500 '[ "$(agent_stat reconcile_runs)" -ge $((runs + 2)) ]' || fail "no reconcile pass"
	[ -d "$victim" ] || fail "the outside cgroup $victim was removed"
	ctl app attach r2 >/dev/null || fail "attach after restore failed"
	cleanup_dirs
}

# A non-root client connects from a child that then exits; its pid is given
# to a worker of an app (ns_last_pid). The parent, still holding the
# connection, asks to detach "itself": the agent must not take the worker
# for the peer.
test_recycled_peer_pid_not_trusted() {
	local try peer victim reply ok=0
	ctl app attach v >/dev/null || return 1
	chmod 0666 "$SOCK"
	for try in 1 2 3 4 5; do
		coproc PEER { exec python3 "$CLIENT" "$SOCK" dead-peer --uid 65534; }
		E2E_PIDS+=("$PEER_PID")
		read -r -t 10 -u "${PEER[0]}" peer || { fail "no peer pid"; return 1; }
		# the next pid the kernel gives is $peer: our sleep's, if nobody forks first
		victim=$(echo $((peer - 1)) >/proc/sys/kernel/ns_last_pid &&
			{ sleep 1000 >/dev/null 2>&1 & echo $!; })
		E2E_PIDS+=("$victim")
		if [ "$victim" = "$peer" ]; then
			ok=1
			break
		fi
		log "pid $peer was taken by another process first (got $victim): again"
		kill "$victim" "$PEER_PID" 2>/dev/null
		wait "$PEER_PID" 2>/dev/null
	done
	[ "$ok" = 1 ] || { fail "could not recycle the peer's pid"; return 1; }
	echo "$victim" >"$CGROOT/v/cgroup.procs" || return 1
	wait_for 300 'worker_pids v | grep -qw "$victim"' || fail "victim $victim not a worker"
	echo "{\"cmd\":\"app.leave\",\"name\":\"v\",\"pid\":$victim}" >&"${PEER[1]}"
	read -r -t 10 -u "${PEER[0]}" reply
	log "reply to the dead peer: $reply"
	[ "$(echo "$reply" | jq .errno)" = 3 ] || fail "not refused with ESRCH: $reply"
	worker_pids v | grep -qw "$victim" || fail "the victim $victim was detached"
	# a live non-root peer still may (it is not in the app: refused for that)
	reply=$(in_srv setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		'exec socat -t 2 - UNIX-CONNECT:"$1" <<EOF
{"cmd":"app.leave","name":"v","pid":$$}
EOF' sh "$SOCK")
	[ "$(echo "$reply" | jq .errno)" = 2 ] || fail "live peer's own leave: $reply"
	eval "exec ${PEER[1]}>&-"
	kill "$victim"
}

# The peer checks do not refuse a live non-root worker that leaves and joins
# its app itself.
test_live_peer_leaves_and_joins_itself() {
	local me reply other
	ctl app attach v >/dev/null || return 1
	chmod 0666 "$SOCK"
	# a worker that stays, so the app lives on when ours leaves
	sleep 1000 &
	other=$!
	E2E_PIDS+=("$other")
	echo "$other" >"$CGROOT/v/cgroup.procs" || return 1
	coproc ME { exec python3 "$CLIENT" "$SOCK" self --uid 65534; }
	E2E_PIDS+=("$ME_PID")
	read -r -t 10 -u "${ME[0]}" me || { fail "no pid"; return 1; }
	echo "$me" >"$CGROOT/v/cgroup.procs" || return 1
	wait_for 300 'worker_pids v | grep -qw "$me"' || fail "$me not a worker"
	echo '{"cmd":"app.leave","name":"v","pid":PID}' >&"${ME[1]}"
	read -r -t 10 -u "${ME[0]}" reply
	[ "$(echo "$reply" | jq .data.removed)" = 1 ] || fail "leave: $reply"
	worker_pids v | grep -qw "$me" && fail "still a worker after leaving"
	echo '{"cmd":"app.join","name":"v","pid":PID}' >&"${ME[1]}"
	read -r -t 10 -u "${ME[0]}" reply
	[ "$(echo "$reply" | jq .data.worker.pid)" = "$me" ] || fail "join: $reply"
	worker_pids v | grep -qw "$me" || fail "not a worker after joining"
	# another process's pid is still refused
	echo "{\"cmd\":\"app.leave\",\"name\":\"v\",\"pid\":$$}" >&"${ME[1]}"
	read -r -t 10 -u "${ME[0]}" reply
	[ "$(echo "$reply" | jq .errno)" = 1 ] || fail "leave of another pid: $reply"
	eval "exec ${ME[1]}>&-"
}

test_idle_connections_leave_room_for_root() {
	local out
	agent_restart --client-idle-s 3 || return 1
	chmod 0666 "$SOCK"
	out="$E2E_TMP/idle.out"
	# 4 uids x 16 connections that send nothing
	bg python3 "$CLIENT" "$SOCK" idle --uids 65531,65532,65533,65534 --per-uid 16 --hold 20 >"$out"
	wait_for 1000 'grep -q "^opened" "$out"' || { fail "idle client did not start"; return 1; }
	log "$(grep '^opened' "$out")"
	# every slot but root's is taken: root still gets in, at once
	ctl_within 2 show apps >/dev/null || fail "root locked out"
	ctl app attach app1 >/dev/null || fail "root attach locked out"
	# the idle connections are dropped after the idle timeout
	wait_for 1500 'grep -q "^closed 6[0-9]" "$out"' || fail "idle clients not dropped: $(cat "$out")"
	log "$(grep '^closed' "$out")"
	# and a non-root client gets in again
	in_srv setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		'echo "{\"cmd\":\"show.apps\"}" | socat -t 2 - UNIX-CONNECT:"$1"' sh "$SOCK" |
		jq -e .ok >/dev/null || fail "non-root client refused after the drop"
}

test_non_reading_clients_keep_agent_small() {
	local before peak now i
	agent_restart --client-idle-s 3 || return 1
	for i in $(seq 20); do
		ctl app attach "app$i" >/dev/null || return 1
	done
	before=$(vmrss_kb)
	# 4 clients send `show apps` as fast as they can and never read
	for i in 1 2 3 4; do
		bg python3 "$CLIENT" "$SOCK" no-read --seconds 15 --line '{"cmd":"show.apps"}' \
			>"$E2E_TMP/no-read.$i"
	done
	# the agent's largest RSS while they push: from when all four are in
	wait_for 1000 '[ "$(agent_conns)" -ge 4 ]' || fail "non-reading clients did not connect"
	peak=$before
	for i in $(seq 25); do
		# a sample every 100 ms for 2.5 s (what is measured, not a wait)
		sleep 0.1
		now=$(vmrss_kb)
		[ "$now" -gt "$peak" ] && peak=$now
	done
	log "agent VmRSS ${before} kB before, at most ${peak} kB with 4 clients that do not read"
	[ $((peak - before)) -lt 16384 ] || fail "agent grew by $((peak - before)) kB"
	# the agent still answers others quickly
	ctl_within 2 show apps >/dev/null || fail "agent stopped serving"
	# they are dropped once idle (nothing of theirs was handled for 3 s)
	wait_for 1500 '[ "$(cat "$E2E_TMP"/no-read.* | grep -c dropped)" = 4 ]' ||
		fail "non-reading clients were not dropped: $(cat "$E2E_TMP"/no-read.*)"
}

test_flood_does_not_starve_others() {
	local i t0 t1 ms worst=0 times=() reqs
	for i in $(seq 20); do
		ctl app attach "app$i" >/dev/null || return 1
	done
	reqs=$(agent_stat ctl_requests)
	# two clients send requests as fast as they can, reading their replies
	bg python3 "$CLIENT" "$SOCK" flood --seconds 6 --line '{"cmd":"show.stats"}' \
		>"$E2E_TMP/flood.1"
	bg python3 "$CLIENT" "$SOCK" flood --seconds 6 --line '{"cmd":"show.apps"}' \
		>"$E2E_TMP/flood.2"
	# measured once both are connected and their requests are being served
	wait_for 1000 '[ "$(agent_conns)" -ge 2 ] && [ "$(agent_stat ctl_requests)" -ge $((reqs + 256)) ]' ||
		fail "flood clients did not start: $(agent_conns) connected, $(($(agent_stat ctl_requests) - reqs)) requests"
	for i in $(seq 10); do
		t0=$(date +%s%N)
		in_srv "$XSLCTL" --socket "$SOCK" show apps >/dev/null || fail "show apps failed"
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		times+=("$ms")
		[ "$ms" -gt "$worst" ] && worst=$ms
	done
	log "show apps under flood: ${times[*]} ms"
	# generous: a loaded machine may be slow to start xslctl now and then
	[ "$worst" -lt 1000 ] || fail "show apps took $worst ms under flood"
	# the flooders were served all along, not dropped
	wait_for 1500 '[ "$(cat "$E2E_TMP"/flood.* | wc -l)" = 2 ]' || fail "flood clients hung"
	log "flood clients: $(cat "$E2E_TMP"/flood.* | tr '\n' ' ')"
	[ "$(grep -c ' open$' "$E2E_TMP"/flood.* | grep -c ':1$')" = 2 ] ||
		fail "a flooding client was dropped: $(cat "$E2E_TMP"/flood.*)"
}

test_every_request_gets_one_reply() {
	local out
	out=$(python3 "$CLIENT" "$SOCK" pipeline --count 3000) || fail "pipeline: $out"
	log "$out"
	kill -0 "$AGENT_PID" || fail "agent died"
}

ALL_TESTS="test_attach_dotdot_name_keeps_outside_cgroup test_attach_empty_name_keeps_cgroup_root
test_attach_newline_name_gets_its_own_error test_restore_refuses_cgroup_outside_root
test_recycled_peer_pid_not_trusted test_live_peer_leaves_and_joins_itself
test_idle_connections_leave_room_for_root
test_non_reading_clients_keep_agent_small test_flood_does_not_starve_others
test_every_request_gets_one_reply"
e2e_main
