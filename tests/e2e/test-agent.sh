#!/usr/bin/env bash
# End to end: the agent, xslctl and a forking test server in network
# namespaces; XDP attached with `ip link`, a UDP client in the peer namespace.
. "$(dirname "$0")/lib.sh"

PORT=5300

# Starts the test server as app1 with N workers; sets MASTER and SRV_OUT.
start_server() {
	local n=$1
	shift
	SRV_OUT=$(mktemp /tmp/xsl-e2e-srv.XXXXXX)
	bg in_srv "$XSLCTL" --socket "$SOCK" run app1 "$@" -- "$TESTSRV" --port $PORT \
		--workers "$n" --storm 1000 >"$SRV_OUT" 2>&1
	RUN_PID=$BG_PID
	wait_for 500 '[ "$(grep -c "^worker" "$SRV_OUT")" -ge "$n" ]' || return 1
	MASTER=$(awk '/^master/ { print $2 }' "$SRV_OUT")
	# master + n workers registered
	wait_for 500 '[ "$(n_workers app1)" -eq $((n + 1)) ]'
}

n_workers() { ctl --json show workers "$1" 2>/dev/null | jq '.workers | length'; }
worker_pids() { ctl --json show workers "$1" | jq -r '.workers[].pid' | sort -n | tr '\n' ' '; }
server_pids() {
	{ echo "$MASTER"; awk '/^worker/ { print $2 }' "$SRV_OUT"; } | while read -r p; do
		kill -0 "$p" 2>/dev/null && echo "$p"
	done | sort -n | tr '\n' ' '
}
udp_listener_workers() {
	ctl --json show listeners | jq '[.listeners[] | select(.proto == "udp")] | .[0].workers // 0'
}
udp() { in_cli "$UDPCLIENT" --addr "$SRV_IP" --port $PORT "$@"; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

xdp_on() { in_srv ip link set dev "$SRV_IF" xdp obj "$BUILD/xsl_xdp.bpf.o" sec xdp; }

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

test_killed_worker_cleaned_and_flows_rehomed() {
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' || fail "udp listener does not have 3 workers"
	udp --flows 48 --rounds 1 >/dev/null
	local victim t0 t1 out
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	t0=$(date +%s%N)
	kill -9 "$victim"
	wait_for 500 '! worker_pids app1 | grep -qw "$victim"' || fail "killed worker still listed"
	t1=$(date +%s%N)
	log "worker $victim gone from show workers after $(((t1 - t0) / 1000000)) ms"
	[ $(((t1 - t0) / 1000000)) -le 100 ] || fail "cleanup took more than 100 ms"
	out=$(udp --flows 48 --rounds 3)
	log "$out"
	[ "$(echo "$out" | field lost)" = 0 ] || fail "flows of the dead worker were not re-homed"
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
	kill -USR2 "$MASTER"
	wait_for 1000 'grep -q "^storm" "$SRV_OUT"' || return 1
	wait_for 1000 '[ "$(n_workers app1)" -eq 2 ]' || fail "storm workers left behind"
	local reg det
	reg=$(ctl --json show app app1 | jq '.app.registrations.fork')
	det=$(ctl --json show app app1 | jq '.app.detaches.exit')
	log "fork registrations $reg, exit detaches $det"
	[ "$reg" -eq 1001 ] || fail "expected 1001 fork registrations, got $reg"
	[ "$det" -eq 1000 ] || fail "expected 1000 exit detaches, got $det"
}

ALL_TESTS="test_run_registers_every_process test_flows_stick_to_their_worker
test_killed_worker_cleaned_and_flows_rehomed test_new_fork_is_registered
test_all_exit_frees_app test_fork_storm_registered_and_cleaned"
e2e_main
