#!/usr/bin/env bash
# End to end, process-tracking races, each made deterministic: events held
# by stopping the agent (SIGSTOP) while the race happens, pids recycled on
# purpose (clone3 with set_tid: the exact pid, no race with other forks),
# and a process whose main thread called pthread_exit. The agent runs with
# a long reconcile period, so nothing here is fixed up by the reconcile pass:
# every event must be handled right by itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

E2E_NO_AGENT=1
PROCTEST="$BUILD/tests/helpers/xsl_proctest"

raw() { in_srv socat -t 5 - UNIX-CONNECT:"$SOCK"; }
app_field() { ctl --json show app "$1" | jq "$2"; }
# Handled events of a type (fork, exit, join), from /metrics.
events_seen() {
	in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v t="$1" '$1 == "xsl_events_total{type=\"" t "\"}" { print $2 }'
}
hold_agent() { kill -STOP "$AGENT_PID"; }
release_agent() { kill -CONT "$AGENT_PID"; }
agent_up() { kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died"; }
workers_are() {
	local n
	n=$(app_field "$1" .app.workers)
	[ "$n" = "$2" ] || fail "app $1 has $n workers, expected $2"
}

# Starts `sleep` inside app cgroup $1 (a JOIN); SLEEPER is its pid. With
# --wait, returns once it is a worker of app $1.
sleeper() {
	local app=$1
	bg sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 300' sh "$CGROOT/$app"
	SLEEPER=$BG_PID
	[ "${2:-}" != --wait ] || wait_for 500 'worker_pids "$app" | grep -qw "$SLEEPER"' ||
		fail "sleeper $SLEEPER not registered in $app"
}

proc_state() { awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null; }

test_join_of_other_apps_worker_is_refused() {
	agent_start --reconcile-ms 600000 || return 1
	ctl app attach app1 >/dev/null && ctl app attach app2 >/dev/null || return 1
	sleeper app1 --wait || return 1
	local p=$SLEEPER reply
	# root: an error, no side effect (the process stays in app1's cgroup)
	reply=$(echo "{\"cmd\":\"app.join\",\"name\":\"app2\",\"pid\":$p}" | raw)
	[ "$(echo "$reply" | jq .errno)" = 16 ] || fail "root join of app1's worker: $reply"
	agent_up || return 1
	worker_pids app1 | grep -qw "$p" || fail "pid $p lost from app1"
	worker_pids app2 | grep -qw "$p" && fail "pid $p became a worker of app2"
	grep -qx "$p" "$CGROOT/app1/cgroup.procs" || fail "pid $p moved out of app1's cgroup"

	# a non-root worker of app3, whose cgroup is inside app2's, asks to join
	# app2 (it is in app2's cgroup tree, so it may ask)
	mkdir "$CGROOT/app2/inner" &&
		ctl app attach app3 --cgroup "$CGROOT/app2/inner" >/dev/null || return 1
	chmod 0666 "$SOCK"
	local out="$E2E_TMP/nonroot.reply" n
	bg nsenter --net="/run/netns/$SRV_NS" setpriv --reuid=65534 --regid=65534 --clear-groups \
		sh -c 'kill -STOP $$; exec socat -t 5 - UNIX-CONNECT:"$1" <<EOF
{"cmd":"app.join","name":"app2","pid":$$}
EOF' sh "$SOCK" >"$out"
	n=$BG_PID
	wait_for 500 '[ "$(proc_state "$n")" = T ]' || return 1
	echo "$n" >"$CGROOT/app2/inner/cgroup.procs" || return 1
	wait_for 500 'worker_pids app3 | grep -qw "$n"' || fail "pid $n not a worker of app3"
	kill -CONT "$n"
	wait_for 500 '[ -s "$out" ]' || fail "no reply to the non-root join"
	[ "$(jq .errno "$out")" = 16 ] || fail "non-root join of app3's worker: $(cat "$out")"
	agent_up || return 1
	ctl show apps >/dev/null || fail "agent stopped answering"
}

test_moved_pid_leaves_old_app_at_once() {
	agent_start --reconcile-ms 600000 || return 1
	ctl app attach app1 >/dev/null && ctl app attach app2 >/dev/null || return 1
	# one more process in each app keeps the app alive
	sleeper app1 --wait && sleeper app2 --wait && sleeper app1 --wait || return 1
	local p=$SLEEPER
	echo "$p" >"$CGROOT/app2/cgroup.procs" || return 1
	wait_for 500 'worker_pids app2 | grep -qw "$p"' || fail "pid $p not registered in app2"
	wait_for 500 '! worker_pids app1 | grep -qw "$p"' || fail "pid $p still a worker of app1"
	[ "$(app_field app1 .app.detaches.api)" = 1 ] || fail "app1: not counted as detached"
	workers_are app1 1
	# and back: moving is not leaving by request, app1 takes it again
	echo "$p" >"$CGROOT/app1/cgroup.procs" || return 1
	wait_for 500 'worker_pids app1 | grep -qw "$p"' || fail "pid $p not registered in app1 again"
	wait_for 500 '! worker_pids app2 | grep -qw "$p"' || fail "pid $p still a worker of app2"
	workers_are app2 1
	kill "$p"
	wait_for 500 '! worker_pids app1 | grep -qw "$p"' || fail "exited pid $p still in app1"
	workers_are app1 1
	workers_are app2 1
}

# An event queued for app A, handled after A was freed and B took A's
# index, must not land on B. A control client, accepted before the agent is
# stopped, asks for "detach A" and "attach B"; then a process joins A's
# cgroup (a JOIN naming A's index). The agent, continued, sees the client
# ready before the ring buffer (epoll's ready list is in order).
test_event_for_freed_app_skips_reused_index() {
	agent_start --reconcile-ms 600000 || return 1
	ctl app attach appa >/dev/null || return 1
	sleeper appa --wait || return 1
	local ia ib joins p
	ia=$(app_field appa .app.index)
	joins=$(events_seen join)
	# held: "detach appa", "attach appb" queued, then a process joins appa's cgroup
	printf '%s\n' '{"cmd":"app.detach","name":"appa"}' '{"cmd":"app.attach","name":"appb"}' |
		"$PROCTEST" --held "$SOCK" "$AGENT_PID" sh -c \
		'sleep 300 >/dev/null & echo $! >"$2" && echo $! >"$1/cgroup.procs"' \
		sh "$CGROOT/appa" "$E2E_TMP/joined.pid" >"$E2E_TMP/replies" ||
		fail "held requests failed"
	p=$(cat "$E2E_TMP/joined.pid")
	E2E_PIDS+=("$p")
	[ "$(jq -s '[.[] | .ok] | all' "$E2E_TMP/replies")" = true ] ||
		fail "requests: $(cat "$E2E_TMP/replies")"
	wait_for 500 '[ "$(events_seen join)" -gt "$joins" ]' || fail "join event not seen"
	ib=$(app_field appb .app.index)
	[ "$ia" = "$ib" ] || log "appb took index $ib, not appa's $ia"
	worker_pids appb | grep -qw "$p" && fail "appa's join event landed on appb (pid $p)"
	[ "$(app_field appb .app.registrations.join)" = 0 ] || fail "appb counted a join"
	agent_up
}

# FORK of a process that exits (out of the app, so no EXIT event) and
# whose pid is given to another process, outside the app, before the agent
# handles the FORK: that other process is not the fork's worker. A process
# with a recycled pid inside the app is registered by its own FORK.
test_recycled_pid_is_not_the_forks_worker() {
	agent_start --reconcile-ms 600000 || return 1
	ctl app attach app1 >/dev/null || return 1
	sleeper app1 --wait || return 1
	mkdir "$CGROOT/park" || return 1
	local pidfile="$E2E_TMP/child.pid" g exits q
	exits=$(events_seen exit)
	hold_agent
	# a shell in the app forks a child that leaves for a cgroup of no app and exits
	sh -c 'echo $$ >"$1/app1/cgroup.procs"
		sh -c "echo \$\$ >\"$1/park/cgroup.procs\"; echo \$\$ >\"$2\""
		exit 0' sh "$CGROOT" "$pidfile"
	g=$(cat "$pidfile")
	# its pid now names a process outside any app
	"$PROCTEST" --set-pid "$g" sleep 300 >/dev/null ||
		{ release_agent; fail "could not recycle pid $g"; return 1; }
	q=$g
	E2E_PIDS+=("$q")
	release_agent
	# the shell's JOIN, the child's FORK, the shell's EXIT (the last): all handled
	wait_for 500 '[ "$(events_seen exit)" -gt "$exits" ]' || fail "events not handled"
	worker_pids app1 | grep -qw "$g" && fail "pid $g (recycled, outside the app) registered"
	workers_are app1 1
	kill "$q"

	# the same, but the recycled process is in the app: it is registered
	hold_agent
	sh -c 'echo $$ >"$1/app1/cgroup.procs"
		sh -c "echo \$\$ >\"$1/park/cgroup.procs\"; echo \$\$ >\"$2\""
		exit 0' sh "$CGROOT" "$pidfile"
	g=$(cat "$pidfile")
	sh -c 'echo $$ >"$1/app1/cgroup.procs" && exec "$2" --set-pid "$3" sleep 300' \
		sh "$CGROOT" "$PROCTEST" "$g" >/dev/null ||
		{ release_agent; fail "could not recycle $g"; return 1; }
	q=$g
	E2E_PIDS+=("$q")
	release_agent
	wait_for 500 'worker_pids app1 | grep -qw "$q"' ||
		fail "pid $q (recycled, in the app) not registered"
	workers_are app1 2
	agent_up
}

# app.leave remembers the process that left (pid + start time): a later
# process that gets its pid and joins the app is a new worker.
test_leave_list_keys_pid_and_start() {
	agent_start --reconcile-ms 600000 || return 1
	ctl app attach app1 >/dev/null || return 1
	sleeper app1 --wait && sleeper app1 --wait || return 1
	local p=$SLEEPER reply q joins
	reply=$(echo "{\"cmd\":\"app.leave\",\"name\":\"app1\",\"pid\":$p}" | raw)
	[ "$(echo "$reply" | jq .data.removed)" = 1 ] || fail "leave: $reply"
	# it stays in the cgroup: a JOIN for it (moved again) is refused
	joins=$(events_seen join)
	echo "$p" >"$CGROOT/app1/cgroup.procs"
	wait_for 500 '[ "$(events_seen join)" -gt "$joins" ]' || fail "join event not seen"
	worker_pids app1 | grep -qw "$p" && fail "pid $p that left came back"
	kill "$p" && wait "$p" 2>/dev/null
	# its pid, reused by a process that joins the app
	"$PROCTEST" --set-pid "$p" sleep 300 >/dev/null ||
		{ fail "could not recycle pid $p"; return 1; }
	q=$p
	E2E_PIDS+=("$q")
	echo "$q" >"$CGROOT/app1/cgroup.procs" || return 1
	wait_for 500 'worker_pids app1 | grep -qw "$q"' ||
		fail "pid $q (a new process with the pid that left) not registered"
}

# A process whose main thread called pthread_exit (its other thread runs)
# shows PF_EXITING / state Z for its leader: it is alive and registered.
test_leader_exited_process_is_registered() {
	agent_start --reconcile-ms 600000 || return 1
	ctl app attach app1 >/dev/null || return 1
	sleeper app1 --wait || return 1
	local out="$E2E_TMP/leader.pid" l
	hold_agent
	bg sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" --leader-exit' \
		sh "$CGROOT/app1" "$PROCTEST" >"$out"
	l=$BG_PID
	wait_for 500 '[ "$(proc_state "$l")" = Z ] && [ "$(ls "/proc/$l/task" | wc -l)" = 2 ]' ||
		{ release_agent; fail "leader of $l did not exit alone"; return 1; }
	release_agent
	wait_for 500 'worker_pids app1 | grep -qw "$l"' ||
		fail "pid $l (leader exited, a thread live) not registered"
	# and it goes when its last thread does
	kill "$l"
	wait_for 500 '! worker_pids app1 | grep -qw "$l"' || fail "pid $l still a worker after exit"
	agent_up
}

ALL_TESTS="test_join_of_other_apps_worker_is_refused test_moved_pid_leaves_old_app_at_once
test_event_for_freed_app_skips_reused_index test_recycled_pid_is_not_the_forks_worker
test_leave_list_keys_pid_and_start test_leader_exited_process_is_registered"
e2e_main
