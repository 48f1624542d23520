#!/usr/bin/env bash
# End to end: app instances (graceful restart). `run` adds to the current
# instance in <app cgroup>/i<N>; `run --replace` starts a new instance, the
# old one drains once the new one serves, gets its stop signal after the
# drain and is killed after --stop-timeout; a new instance that never serves
# is stopped after --ready-timeout; one replace at a time; an app attached
# by the operator survives its last worker (the systemd restart case); an
# agent restarted mid-drain finishes the drain, with the options it was given.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5300

raw() { in_srv socat -t 2 - UNIX-CONNECT:"$SOCK"; }
# The state of instance $2 of app $1: starting, serving, draining, stopping, gone.
inst_state() {
	echo "{\"cmd\":\"instance.status\",\"name\":\"$1\",\"instance\":$2}" | raw |
		jq -r '.data.state // .error'
}
# The pids in the cgroup $1 (one directory), sorted, one line.
cg_pids() { sort -n "$1/cgroup.procs" 2>/dev/null | tr '\n' ' '; }
# The agent's own time (ms) of its first log line matching $1: what the
# polling test adds on a busy machine is not the agent's.
log_ms() { awk -v p="$1" '$0 ~ p { split($1, s, "."); printf "%d%03d\n", s[1], s[2]; exit }' "$AGENT_LOG"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
metric() { in_srv curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# The instance number (low 8 bits) the maps give the worker of pid $1.
map_inst() {
	bpftool map dump pinned "$PIN/xsl_workers" -j |
		jq -r --argjson p "$1" '[.[] | .formatted.value | objects | select(.pid == $p and .state != 0)] | .[0].instance // "none"'
}

# A second server started by `run --replace` (args: run options); its
# output in $NEW_OUT, xslctl's stderr in $NEW_ERR, xslctl's pid $NEW_RUN.
start_new() {
	NEW_OUT="$E2E_TMP/new.out"
	NEW_ERR="$E2E_TMP/new.err"
	bg nsenter --net="/run/netns/$SRV_NS" setsid "$XSLCTL" --socket "$SOCK" run app1 --replace "$@" \
		-- "$TESTSRV" --port "$PORT" --workers 1 >"$NEW_OUT" 2>"$NEW_ERR"
	NEW_RUN=$BG_PID
	wait_for 500 '[ "$(grep -c "^worker" "$NEW_OUT")" -ge 1 ]' || { fail "new server did not start"; return 1; }
	NEW_MASTER=$(awk '/^master/ { print $2 }' "$NEW_OUT")
}

test_run_adds_to_current_instance() {
	start_server 2 || return 1
	[ "$(cg_pids "$CGROOT/app1/i1")" = "$(server_pids)" ] ||
		fail "i1 holds $(cg_pids "$CGROOT/app1/i1"), the server is $(server_pids)"
	[ "$(inst_state app1 1)" = serving ] || fail "instance 1: $(inst_state app1 1)"
	[ "$(ctl --json show app app1 | jq .app.held)" = false ] || fail "an app made by run is held"
	# a second run: more workers of the same instance
	local out2="$E2E_TMP/second.out" m2
	bg nsenter --net="/run/netns/$SRV_NS" setsid "$XSLCTL" --socket "$SOCK" run app1 -- \
		"$TESTSRV" --port "$PORT" --workers 1 >"$out2" 2>&1
	wait_for 500 '[ "$(grep -c "^worker" "$out2")" -ge 1 ]' || return 1
	m2=$(awk '/^master/ { print $2 }' "$out2")
	wait_for 500 '[ "$(n_workers app1)" -eq 5 ]' || fail "workers: $(worker_pids app1)"
	grep -qw "$m2" "$CGROOT/app1/i1/cgroup.procs" || fail "second run's $m2 is not in i1"
	[ ! -e "$CGROOT/app1/i2" ] || fail "a plain run made an instance 2"
	[ "$(inst_state app1 2)" = gone ] || fail "instance 2: $(inst_state app1 2)"
	# a fork is in its parent's instance
	kill -USR1 "$MASTER"
	wait_for 500 '[ "$(n_workers app1)" -eq 6 ]' || fail "fork not registered"
	[ "$(wc -l <"$CGROOT/app1/i1/cgroup.procs")" -eq 6 ] || fail "fork not in i1"
}

# run --replace of an app with no instance yet is a plain run.
test_replace_of_new_app_is_a_run() {
	local out="$E2E_TMP/first.out" m
	bg nsenter --net="/run/netns/$SRV_NS" "$XSLCTL" --socket "$SOCK" run app1 --replace \
		--ready-timeout 1 -- "$TESTSRV" --port "$PORT" --workers 1 >"$out" 2>&1
	wait_for 500 '[ "$(n_workers app1)" -eq 2 ]' || fail "workers: $(worker_pids app1)"
	m=$(awk '/^master/ { print $2 }' "$out")
	grep -qw "$m" "$CGROOT/app1/i1/cgroup.procs" || fail "not in i1"
	[ "$(inst_state app1 1)" = serving ] || fail "instance 1: $(inst_state app1 1)"
	[ "$(inst_state app1 2)" = gone ] || fail "instance 2: $(inst_state app1 2)"
	! grep -q "started to replace" "$AGENT_LOG" || fail "a replace was started"
}

test_replace_drains_then_stops_old() {
	start_server 1 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || return 1
	local old="$(server_pids)" t0 t1 st out
	# sessions of the old instance (idle timeout 60 s): the drain lasts
	out=$(udp --flows 8 --rounds 1)
	[ "$(echo "$out" | field lost)" = 0 ] || fail "old instance does not answer: $out"
	start_new --drain 4 --stop-timeout 20 || return 1
	wait_for 500 '[ "$(inst_state app1 2)" = serving ]' || fail "instance 2: $(inst_state app1 2)"
	grep -qw "$NEW_MASTER" "$CGROOT/app1/i2/cgroup.procs" || fail "new master not in i2"
	# marked on the agent's next tick after the takeover
	wait_for 300 '[ "$(inst_state app1 1)" = draining ]' || fail "instance 1 not draining: $(inst_state app1 1)"
	[ "$(map_inst "$NEW_MASTER")" = 2 ] || fail "new master in instance $(map_inst "$NEW_MASTER")"
	[ "$(map_inst "$MASTER")" = 1 ] || fail "old master in instance $(map_inst "$MASTER")"
	# a fork of the draining instance is in it, not in the current one
	kill -USR1 "$MASTER"
	wait_for 300 '[ "$(grep -c "^worker" "$SRV_OUT")" -eq 2 ]' || fail "old master did not fork"
	local forked
	forked=$(awk '/^worker/ { p = $2 } END { print p }' "$SRV_OUT")
	wait_for 300 '[ "$(map_inst "$forked")" = 1 ]' || fail "fork $forked of the old master in instance $(map_inst "$forked")"
	old="$old $forked"
	# the old server lives through the drain, then gets SIGTERM and stops
	for p in $old; do
		kill -0 "$p" || fail "old pid $p gone during the drain"
	done
	wait_for 1000 '! kill -0 "$MASTER" 2>/dev/null' || fail "old master not stopped"
	grep -q "app app1: instance 1: SIGTERM to its first process $MASTER" "$AGENT_LOG" ||
		fail "no stop signal logged"
	grep -q "app app1: instance 1 drained (drain time over)" "$AGENT_LOG" || fail "drain not timed out"
	t0=$(log_ms "instance 2 serves")
	log "instance 2 took over $((t0 - $(log_ms "for pid $NEW_MASTER \\(api\\)"))) ms after its first" \
		"process joined (its workers forked, bound, were attributed)"
	t1=$(log_ms "instance 1: SIGTERM")
	log "the old instance got SIGTERM $((t1 - t0)) ms after the new one served (--drain 4)"
	[ $((t1 - t0)) -ge 3900 ] || fail "stopped before the drain was over"
	wait "$RUN_PID"
	st=$?
	[ "$st" = 0 ] || fail "old run exited $st"
	wait_for 500 '[ "$(inst_state app1 1)" = gone ]' || fail "instance 1: $(inst_state app1 1)"
	wait_for 500 '[ ! -d "$CGROOT/app1/i1" ]' || fail "i1 not removed"
	# the new run goes on, its server serves
	kill -0 "$NEW_RUN" || fail "run --replace exited: $(cat "$NEW_ERR")"
	[ -s "$NEW_ERR" ] && fail "run --replace said: $(cat "$NEW_ERR")"
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || fail "listener: $(udp_listener_workers)"
	out=$(udp --flows 8 --rounds 1)
	[ "$(echo "$out" | field lost)" = 0 ] || fail "new instance does not answer: $out"
	[ "$(metric 'xsl_restarts_total{app="app1",result="replaced"}')" = 1 ] || fail "restarts not counted"
	[ "$(metric 'xsl_drain_seconds_count')" = 1 ] || fail "drain not timed"
}

test_replace_kills_old_that_ignores_stop_signal() {
	start_server 1 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || return 1
	start_new --drain 1 --stop-signal WINCH --stop-timeout 2 || return 1
	wait_for 500 '[ "$(inst_state app1 1)" = stopping ]' || fail "instance 1: $(inst_state app1 1)"
	local t0 t1 st
	grep -q "instance 1: SIGWINCH to its first process" "$AGENT_LOG" || fail "no WINCH logged"
	kill -0 "$MASTER" || fail "the old master did not ignore WINCH"
	wait_for 1000 '! kill -0 "$MASTER" 2>/dev/null' || fail "old master not killed"
	t0=$(log_ms "instance 1: SIGWINCH")
	t1=$(log_ms "instance 1 killed")
	log "killed $((t1 - t0)) ms after the stop signal (--stop-timeout 2)"
	[ $((t1 - t0)) -ge 1900 ] || fail "killed before the stop timeout"
	wait "$RUN_PID"
	st=$?
	[ "$st" = 137 ] || fail "old run exited $st, not 128 + SIGKILL"
	wait_for 500 '[ ! -d "$CGROOT/app1/i1" ]' || fail "i1 not removed"
	[ "$(inst_state app1 2)" = serving ] || fail "instance 2: $(inst_state app1 2)"
}

test_ready_timeout_aborts_new_instance() {
	xdp_on || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || return 1
	local out t0 st err="$E2E_TMP/abort.err"
	udp_bg "$E2E_TMP/during" --flows 32 --rounds 40 --gap-ms 100 --sport-base 42000
	t0=$(now_ms)
	in_srv "$XSLCTL" --socket "$SOCK" run app1 --replace --ready-timeout 2 -- sleep 100 2>"$err"
	st=$?
	log "run exited $st after $(($(now_ms) - t0)) ms: $(cat "$err")"
	[ "$st" != 0 ] || fail "run --replace of a server that never serves exited 0"
	[ "$(wc -l <"$err")" = 1 ] && grep -q "instance 2 did not serve .* within 2 s" "$err" ||
		fail "not one line with the reason: $(cat "$err")"
	wait_for 500 '[ ! -d "$CGROOT/app1/i2" ]' || fail "i2 not removed"
	[ "$(inst_state app1 2)" = gone ] || fail "instance 2: $(inst_state app1 2)"
	[ "$(inst_state app1 1)" = serving ] || fail "instance 1: $(inst_state app1 1)"
	[ "$(worker_pids app1)" = "$(server_pids)" ] || fail "old workers changed"
	wait "$BG_PID"
	out=$(cat "$E2E_TMP/during")
	log "flows during the abort: $out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "the old instance lost replies: $out"
	[ "$(echo "$out" | field moved)" = 0 ] || fail "flows moved: $out"
	[ "$(metric 'xsl_restarts_total{app="app1",result="aborted"}')" = 1 ] || fail "abort not counted"
}

# CMD starts the server in the background and exits 0 (a daemon): run
# --replace still waits for the instance to serve, then exits 0. The old
# instance has no session: its drain ends with the next GC passes, long
# before --drain.
test_replace_daemonizing_cmd() {
	start_server 1 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || return 1
	local st err="$E2E_TMP/daemon.err"
	in_srv "$XSLCTL" --socket "$SOCK" run app1 --replace --drain 60 -- sh -c \
		'"$1" --port "$2" --workers 1 >/dev/null 2>&1 &' sh "$TESTSRV" "$PORT" 2>"$err"
	st=$?
	[ "$st" = 0 ] || fail "run --replace of a daemonizing CMD exited $st: $(cat "$err")"
	[ "$(inst_state app1 2)" = serving ] || fail "instance 2 not serving when run returned: $(inst_state app1 2)"
	[ "$(cg_pids "$CGROOT/app1/i2" | wc -w)" = 2 ] || fail "i2 holds $(cg_pids "$CGROOT/app1/i2")"
	wait_for 1500 '! kill -0 "$MASTER" 2>/dev/null' || fail "old master not stopped"
	grep -q "app app1: instance 1 drained (no sessions left)" "$AGENT_LOG" ||
		fail "the drain did not end with the sessions"
}

test_concurrent_replace_refused() {
	start_server 1 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || return 1
	local err="$E2E_TMP/second.err" st
	bg nsenter --net="/run/netns/$SRV_NS" "$XSLCTL" --socket "$SOCK" run app1 --replace \
		--ready-timeout 30 -- sleep 100
	wait_for 500 '[ "$(inst_state app1 2)" = starting ]' || fail "instance 2: $(inst_state app1 2)"
	in_srv "$XSLCTL" --socket "$SOCK" run app1 --replace -- sleep 100 2>"$err"
	st=$?
	log "second replace exited $st: $(cat "$err")"
	[ "$st" = 1 ] || fail "second replace exited $st"
	[ "$(wc -l <"$err")" = 1 ] && grep -q "EBUSY" "$err" || fail "not one EBUSY line: $(cat "$err")"
	[ "$(inst_state app1 3)" = gone ] && [ ! -e "$CGROOT/app1/i3" ] || fail "an instance 3 was made"
	[ "$(inst_state app1 2)" = starting ] || fail "the first replace was disturbed"
}

test_held_app_survives_last_worker() {
	ctl app attach app1 >/dev/null || return 1
	[ "$(ctl --json show app app1 | jq .app.held)" = true ] || fail "attached app not held"
	start_server 1 || return 1
	local runs
	kill -TERM "$MASTER"
	wait "$RUN_PID"
	wait_for 500 '[ "$(n_workers app1)" -eq 0 ]' || fail "workers left"
	# two reconcile passes later it is still there
	runs=$(ctl --json show stats | jq .agent.reconcile_runs)
	wait_for 500 '[ "$(ctl --json show stats | jq .agent.reconcile_runs)" -ge $((runs + 2)) ]'
	[ "$(n_apps)" = 1 ] || fail "held app freed with its last worker"
	[ -d "$CGROOT/app1" ] || fail "held app's cgroup removed"
	wait_for 500 '[ ! -d "$CGROOT/app1/i1" ]' || fail "freed instance's cgroup stays"
	start_server 1 || fail "the held app takes workers again"
	grep -qw "$MASTER" "$CGROOT/app1/i2/cgroup.procs" || fail "new run not in instance 2"
	ctl app detach app1 >/dev/null || fail "detach failed"
	[ "$(n_apps)" = 0 ] || fail "app stays after detach"
}

# An adopted systemd-style cgroup: PARENT/kresd@1.service, the process put
# there by its "service manager" (registered by join); a restart in the same
# child cgroup keeps the app, and the new process is a worker again.
test_systemd_child_cgroup_restart() {
	local parent="$CGROOT/system-kresd.slice" svc out
	svc="$parent/kresd@1.service"
	mkdir -p "$svc" || return 1
	ctl app attach kresd --cgroup "$parent" >/dev/null || return 1
	start_unit() {
		: >"$E2E_TMP/unit.out"
		bg nsenter --net="/run/netns/$SRV_NS" sh -c \
			'echo $$ >"$1/cgroup.procs" && exec "$2" --port "$3" --workers 1' sh \
			"$svc" "$TESTSRV" "$PORT" >"$E2E_TMP/unit.out"
		wait_for 500 'grep -q "^worker" "$E2E_TMP/unit.out"' || fail "unit did not start"
		UNIT_PID=$(awk '/^master/ { print $2 }' "$E2E_TMP/unit.out")
	}
	start_unit
	wait_for 500 '[ "$(n_workers kresd)" -eq 2 ]' || fail "unit not registered: $(worker_pids kresd)"
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || fail "not served"
	# systemctl restart kresd@1: stop, then start in the same cgroup
	kill -TERM "$UNIT_PID"
	wait "$BG_PID"
	wait_for 500 '[ "$(n_workers kresd)" -eq 0 ]' || fail "workers of the stopped unit stay"
	[ "$(n_apps)" = 1 ] || fail "app lost with the restart"
	start_unit
	wait_for 500 '[ "$(n_workers kresd)" -eq 2 ]' || fail "restarted unit not registered"
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || fail "restarted unit not served"
	[ "$(inst_state kresd 2)" = serving ] || fail "instance 2: $(inst_state kresd 2)"
	out=$(udp --flows 8 --rounds 2)
	[ "$(echo "$out" | field lost)" = 0 ] || fail "restarted unit does not answer: $out"
	[ -d "$svc" ] && [ ! -e "$parent/i1" ] && [ ! -e "$parent/i2" ] ||
		fail "the agent changed the unit's cgroups: $(ls "$parent")"
}

test_agent_restart_mid_drain() {
	start_server 1 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || return 1
	# sessions of the old instance (idle timeout 60 s): the drain lasts its
	# --drain, it does not end early for want of sessions
	local out
	out=$(udp --flows 8 --rounds 1)
	[ "$(echo "$out" | field lost)" = 0 ] || fail "old instance does not answer: $out"
	start_new --drain 4 --stop-signal INT --stop-timeout 20 || return 1
	wait_for 500 '[ "$(inst_state app1 1)" = draining ]' || fail "instance 1: $(inst_state app1 1)"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	# the cgroup of an instance that ended while no agent ran
	mkdir "$CGROOT/app1/i9" || return 1
	agent_start || return 1
	[ ! -e "$CGROOT/app1/i9" ] || fail "the stale i9 stays"
	local t0 t1
	[ "$(inst_state app1 1)" = draining ] || fail "instance 1 after the restart: $(inst_state app1 1)"
	[ "$(inst_state app1 2)" = serving ] || fail "instance 2 after the restart: $(inst_state app1 2)"
	grep -q "recover: app app1: instance 1 drains again (up to 4 s)" "$AGENT_LOG" ||
		fail "drain not resumed with its options"
	wait_for 1500 '! kill -0 "$MASTER" 2>/dev/null' || fail "old master not stopped"
	t0=$(log_ms "instance 1 drains again")
	t1=$(log_ms "instance 1: SIGINT")
	log "the old instance got SIGINT $((t1 - t0)) ms after the agent came back (--drain 4)"
	[ $((t1 - t0)) -ge 3900 ] || fail "the resumed drain was cut short"
	grep -q "app app1: instance 1: SIGINT to its first process $MASTER" "$AGENT_LOG" ||
		fail "stop signal not the one asked for"
	wait_for 500 '[ ! -d "$CGROOT/app1/i1" ]' || fail "i1 not removed"
	[ "$(inst_state app1 2)" = serving ] || fail "instance 2: $(inst_state app1 2)"
}

# A replace still starting when the agent restarts: its ready timer starts
# again with its --ready-timeout; run (reconnecting) gets the reason.
test_agent_restart_mid_start() {
	start_server 1 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 1 ]' || return 1
	local err="$E2E_TMP/start.err" run st
	bg nsenter --net="/run/netns/$SRV_NS" "$XSLCTL" --socket "$SOCK" run app1 --replace \
		--ready-timeout 3 -- sleep 100 2>"$err"
	run=$BG_PID
	wait_for 500 '[ "$(inst_state app1 2)" = starting ]' || fail "instance 2: $(inst_state app1 2)"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	agent_start || return 1
	[ "$(inst_state app1 2)" = starting ] || fail "instance 2 after the restart: $(inst_state app1 2)"
	grep -q "recover: app app1: instance 2 starting again (ready within 3 s)" "$AGENT_LOG" ||
		fail "start not resumed with its options"
	wait "$run"
	st=$?
	[ "$st" = 1 ] && grep -q "instance 2 did not serve .* within 3 s" "$err" ||
		fail "run exited $st: $(cat "$err")"
	[ "$(inst_state app1 1)" = serving ] || fail "instance 1: $(inst_state app1 1)"
	wait_for 500 '[ ! -d "$CGROOT/app1/i2" ]' || fail "i2 not removed"
}

ALL_TESTS="test_run_adds_to_current_instance test_replace_of_new_app_is_a_run
test_replace_drains_then_stops_old
test_replace_kills_old_that_ignores_stop_signal test_ready_timeout_aborts_new_instance
test_replace_daemonizing_cmd test_concurrent_replace_refused test_held_app_survives_last_worker
test_systemd_child_cgroup_restart test_agent_restart_mid_drain test_agent_restart_mid_start"
e2e_main
