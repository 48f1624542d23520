#!/usr/bin/env bash
# End to end: graceful restart with app instances (`xslctl run NAME
# --replace`). A stateful UDP/TCP server (tests/helpers/xsl_statesrv: a
# count per flow, answers with pid, instance and count) is replaced under
# clients that keep their flows open (xsl_stateclient, one round of requests
# at a time, driven from here): during the drain the old flows stay with
# their old workers, their counts going on, and new flows go to the new
# instance; after the drain the old instance is stopped and its flows follow
# the app's policy. Also: a new instance that never serves is aborted while
# the old one keeps serving; long-lived TCP connections stay with the old
# instance until it stops, new ones go to the new instance; the README's
# restart commands.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5300
WORKERS=4
FLOWS=1000
NEW_FLOWS=200
DRAIN=3
STATESRV="$BUILD/tests/helpers/xsl_statesrv"
STATECLIENT="$BUILD/tests/helpers/xsl_stateclient"

# Starts xsl_statesrv (WORKERS workers) by `xslctl run APP RUN_ARGS`, with
# SRV_ARGS more for the server; output (and xslctl's errors) in SRV_OUT,
# one file per start. Sets SRV_OUT and RUN_PID (xslctl run's pid).
srv_run() { # app "run args" "server args"
	N_RUNS=$((${N_RUNS:-0} + 1))
	SRV_OUT="$E2E_TMP/srv-$N_RUNS.out"
	# shellcheck disable=SC2086 # the args are word lists
	bg nsenter --net="/run/netns/$SRV_NS" setsid "$XSLCTL" --socket "$SOCK" run "$1" $2 -- \
		"$STATESRV" --port $PORT --workers $WORKERS $3 >"$SRV_OUT" 2>&1
	RUN_PID=$BG_PID
	wait_for 500 '[ "$(grep -c "^worker" "$SRV_OUT")" -ge $WORKERS ]' ||
		{ fail "state server did not start: $(head -5 "$SRV_OUT")"; return 1; }
}

# The pids of one server start (master and workers), from its output.
srv_pids() { awk '/^(master|worker)/ { print $2 }' "$1" | sort -n | tr '\n' ' '; }
# Whether any of the pids is alive.
any_alive() {
	local p
	for p in $1; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}

# Whether a word of $1 is one of $2.
any_of() {
	local w
	for w in $1; do
		case " $2 " in *" $w "*) return 0 ;; esac
	done
	return 1
}

# Starts a client of F flows (from source port BASE up, or ephemeral with
# 0) driven through file descriptor FD; its output in E2E_TMP/<name>.out
# and its dump in E2E_TMP/<name>.dump. Extra args go to the client.
client_start() { # name fd flows base [args]
	local name=$1 fd=$2 flows=$3 base=$4 fifo="$E2E_TMP/$1.fifo" out="$E2E_TMP/$1.out"
	shift 4
	mkfifo "$fifo"
	# opened read-write, so neither this open nor the client's blocks
	eval "exec $fd<>\"$fifo\""
	local sb=()
	[ "$base" != 0 ] && sb=(--sport-base "$base")
	nsenter --net="/run/netns/$CLI_NS" "$STATECLIENT" --addr "$SRV_IP" --port $PORT \
		--flows "$flows" "${sb[@]}" --rounds 0 --timeout-ms 1000 --dump "$E2E_TMP/$name.dump" \
		"$@" <"$fifo" >"$out" 2>&1 &
	E2E_PIDS+=("$!")
	wait_for 1000 "grep -q '^ready' '$out'" || { fail "client $name did not start: $(cat "$out")"; return 1; }
}

# One round labelled LABEL by client NAME on FD; sets LINE to its result.
round() { # name fd label
	local out="$E2E_TMP/$1.out" want
	want=$(($(grep -c '^round' "$out") + 1))
	echo "round $3" >&"$2"
	wait_for 2000 "grep -q '^round $want ' '$out'" || { fail "$1: round $want ($3) did not end"; return 1; }
	LINE=$(grep "^round $want " "$out")
}

client_end() { # name fd
	echo end >&"$2"
	wait_for 1000 "grep -q '^total' '$E2E_TMP/$1.out'" || fail "client $1 did not report"
	eval "exec $2>&-"
	TOTAL=$(grep '^total' "$E2E_TMP/$1.out")
}

# Checks KEY=VALUE pairs in LINE (a round's result); WHAT names the check.
expect() { # what key=value...
	local what=$1 kv bad=0
	shift
	for kv in "$@"; do
		[ "$(echo "$LINE" | field "${kv%%=*}")" = "${kv#*=}" ] || bad=1
	done
	[ "$bad" = 0 ] || fail "$what: expected $* in: $LINE"
}

# The instance new flows go to now: a one-flow probe from a port no flow
# used before (below the ephemeral ones, away from the clients' bases).
taking_instance() {
	local k
	# a file, not a variable: this runs in a command substitution
	k=$(($(cat "$E2E_TMP/probes" 2>/dev/null || echo 0) + 1))
	echo "$k" >"$E2E_TMP/probes"
	in_cli "$STATECLIENT" --addr "$SRV_IP" --port $PORT --flows 1 --rounds 1 --timeout-ms 300 \
		--sport-base $((10000 + k)) "$@" |
		awk '/^round/ { for (i = 1; i < NF; i++) if ($i == "insts") { split($(i + 1), a, "="); print a[1] } }'
}

# Instance directories i<N> below APP's cgroup.
instance_dirs() { (cd "$CGROOT/$1" 2>/dev/null && ls -d i[0-9]* 2>/dev/null | sort -V | tr '\n' ' '); }
# Live instances of APP in `show instances`: "N:state" words, oldest first.
instances() {
	ctl --json show instances "$1" 2>/dev/null | jq -r '[.instances[] | "\(.instance):\(.state)"] | join(" ")'
}

drops() { ctl --json show stats | jq ".drops.$1"; }
# The value of one sample line of the agent's /metrics (NAME{LABELS} as written).
metric() { in_srv curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# The whole replace under 1,000 established flows, with the app's POLICY.
replace_under_flows() {
	local policy=$1 old_pids new_pids d0 d1 t_serve
	xdp_on || return 1
	ctl app attach app1 --policy "$policy" >/dev/null || return 1
	srv_run app1 "" "" || return 1
	old_pids=$(srv_pids "$SRV_OUT")
	local old_run=$RUN_PID
	wait_for 500 '[ "$(udp_listener_workers)" -ge $WORKERS ]' ||
		{ fail "udp listener does not have $WORKERS workers: $(ctl show listeners)"; return 1; }
	[ "$(instances app1)" = "1:serving" ] || fail "before: instances $(instances app1)"

	client_start est 7 $FLOWS 20000 || return 1
	round est 7 est || return 1
	expect "first round" answered=$FLOWS insts=1=$FLOWS
	round est 7 est || return 1
	expect "established" answered=$FLOWS continued=$FLOWS moved=0 insts=1=$FLOWS

	# the new flows' sockets, no request yet: their flows start in the drain
	client_start new 8 $NEW_FLOWS 30000 || return 1
	srv_run app1 "--replace --drain $DRAIN" "" || return 1
	new_pids=$(srv_pids "$SRV_OUT")
	local new_run=$RUN_PID
	# from the moment the new instance serves, new flows go to it
	wait_for 500 '[ "$(taking_instance)" = 2 ]' || { fail "new flows do not go to instance 2"; return 1; }
	t_serve=$(date +%s%N)
	round est 7 drain || return 1
	expect "drain, old flows" answered=$FLOWS continued=$FLOWS moved=0 restarted=0 insts=1=$FLOWS
	[ "$(instances app1)" = "1:draining 2:serving" ] || fail "during the drain: instances $(instances app1)"
	round new 8 drain || return 1
	expect "drain, new flows" answered=$NEW_FLOWS insts=2=$NEW_FLOWS
	round est 7 drain || return 1
	expect "drain, old flows again" answered=$FLOWS continued=$FLOWS moved=0 insts=1=$FLOWS
	# the rounds above must have run inside the drain to prove anything
	any_alive "$old_pids" || fail "the old instance was gone before the drain rounds ended" \
		"($((($(date +%s%N) - t_serve) / 1000000)) ms after it took over: machine too slow?)"
	log "drain rounds done $((($(date +%s%N) - t_serve) / 1000000)) ms after instance 2 took over"

	# the drain ends, the old instance gets its TERM and is gone
	wait_for $((DRAIN * 100 + 1500)) '! any_alive "$old_pids"' ||
		{ fail "old instance not stopped: $(ps -o pid,stat,cmd -p "${old_pids// /,}" 2>&1)"; return 1; }
	log "old instance gone $((($(date +%s%N) - t_serve) / 1000000)) ms after instance 2 took over"
	wait_for 500 '! any_of "$old_pids" "$(worker_pids app1)"' ||
		fail "old workers still registered: $(worker_pids app1)"
	wait_for 500 '! kill -0 "$old_run" 2>/dev/null' || fail "the old xslctl run did not end"
	wait "$old_run"
	[ $? = 0 ] || fail "the old xslctl run ended non-zero (its server stops cleanly on TERM)"

	d0=$(drops worker_gone)
	round est 7 after || return 1
	d1=$(drops worker_gone)
	if [ "$policy" = reassign ]; then
		expect "after, old flows" answered=$FLOWS moved=$FLOWS restarted=$FLOWS insts=2=$FLOWS
		[ "$d1" = "$d0" ] || fail "reassign dropped $((d1 - d0)) packets (worker_gone)"
		round est 7 after || return 1
		expect "after, old flows again" answered=$FLOWS continued=$FLOWS moved=0 insts=2=$FLOWS
	else
		expect "after, old flows dropped" answered=0 unanswered=$FLOWS
		[ $((d1 - d0)) = "$FLOWS" ] || fail "expected $FLOWS worker_gone drops, got $((d1 - d0))"
		log "drop policy: $((d1 - d0)) packets of the old flows counted in drops.worker_gone"
	fi
	round new 8 after || return 1
	expect "after, new flows" answered=$NEW_FLOWS continued=$NEW_FLOWS moved=0 insts=2=$NEW_FLOWS

	client_end est 7
	# nothing unanswered but what the drop policy dropped
	local lost=0
	[ "$policy" = drop ] && lost=$FLOWS
	[ "$(echo "$TOTAL" | field unanswered)" = "$lost" ] || fail "old flows: $TOTAL"
	client_end new 8
	[ "$(echo "$TOTAL" | field unanswered)" = 0 ] || fail "new flows: $TOTAL"

	[ "$(instances app1)" = "2:serving" ] || fail "at the end: instances $(instances app1)"
	[ "$(instance_dirs app1)" = "i2 " ] || fail "instance cgroups at the end: $(instance_dirs app1)"
	[ "$(worker_pids app1)" = "$new_pids" ] || fail "workers $(worker_pids app1) != instance 2 $new_pids"
	kill -0 "$new_run" || fail "the new xslctl run ended"
	[ "$(metric 'xsl_restarts_total{app="app1",result="replaced"}')" = 1 ] &&
		[ "$(metric 'xsl_restarts_total{app="app1",result="aborted"}')" = 0 ] ||
		fail "restarts: $(in_srv curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep '^xsl_restarts_total')"
	# one drain: from the take-over to the old instance gone, about DRAIN s
	[ "$(metric xsl_drain_seconds_count)" = 1 ] &&
		awk -v s="$(metric xsl_drain_seconds_sum)" -v d=$DRAIN 'BEGIN { exit !(s >= d && s < d + 3) }' ||
		fail "drain: count $(metric xsl_drain_seconds_count), sum $(metric xsl_drain_seconds_sum) s"
}

test_replace_drains_old_flows_then_reassigns() { replace_under_flows reassign; }
test_replace_drains_old_flows_then_drops() { replace_under_flows drop; }

# A new instance that never binds is stopped after --ready-timeout; the old
# one serves old and new flows all along, with 0 loss.
test_replace_never_serving_is_aborted() {
	xdp_on || return 1
	srv_run app1 "" "" || return 1
	local old_pids old_workers i rc
	old_pids=$(srv_pids "$SRV_OUT")
	wait_for 500 '[ "$(udp_listener_workers)" -ge $WORKERS ]' ||
		{ fail "udp listener does not have $WORKERS workers"; return 1; }
	old_workers=$(worker_pids app1)
	client_start est 7 $FLOWS 20000 || return 1
	round est 7 est || return 1
	expect "established" answered=$FLOWS insts=1=$FLOWS

	srv_run app1 "--replace --ready-timeout 2" "--no-bind" || return 1
	local new_run=$RUN_PID new_pids
	new_pids=$(srv_pids "$SRV_OUT")
	[ "$(instances app1)" = "1:serving 2:starting" ] || fail "while starting: instances $(instances app1)"
	# rounds while it starts: old flows and new ones stay with instance 1
	client_start new 8 $NEW_FLOWS 30000 || return 1
	i=0
	while kill -0 "$new_run" 2>/dev/null && [ "$i" -lt 40 ]; do
		i=$((i + 1))
		round est 7 starting || return 1
		expect "old flows while instance 2 starts" answered=$FLOWS moved=0 insts=1=$FLOWS
		round new 8 starting || return 1
		expect "new flows while instance 2 starts" answered=$NEW_FLOWS moved=0 insts=1=$NEW_FLOWS
		sleep 0.2
	done
	wait_for 500 '! kill -0 "$new_run" 2>/dev/null' || { fail "run --replace did not give up"; return 1; }
	wait "$new_run"
	rc=$?
	log "run --replace ended with $rc after $i rounds: $(grep '^xslctl' "$SRV_OUT")"
	[ "$rc" != 0 ] || fail "run --replace of a never serving instance exited 0"
	[ "$(grep -c '^xslctl:' "$SRV_OUT")" = 1 ] || fail "not one line of reason: $(cat "$SRV_OUT")"
	wait_for 500 '! any_alive "$new_pids"' || fail "the new instance's processes are left: $new_pids"
	wait_for 500 '[ "$(instance_dirs app1)" = "i1 " ]' || fail "instance cgroups: $(instance_dirs app1)"
	[ "$(instances app1)" = "1:serving" ] || fail "after: instances $(instances app1)"
	[ "$(worker_pids app1)" = "$old_workers" ] || fail "workers $(worker_pids app1), before $old_workers"
	round est 7 after || return 1
	expect "old flows after the abort" answered=$FLOWS continued=$FLOWS insts=1=$FLOWS
	round new 8 after || return 1
	expect "new flows after the abort" answered=$NEW_FLOWS continued=$NEW_FLOWS insts=1=$NEW_FLOWS
	client_end est 7
	[ "$(echo "$TOTAL" | field unanswered)" = 0 ] || fail "old flows: $TOTAL"
	client_end new 8
	[ "$(echo "$TOTAL" | field unanswered)" = 0 ] || fail "new flows: $TOTAL"
	any_alive "$old_pids" || fail "the old instance was stopped"
	[ "$(metric 'xsl_restarts_total{app="app1",result="aborted"}')" = 1 ] &&
		[ "$(metric 'xsl_restarts_total{app="app1",result="replaced"}')" = 0 ] ||
		fail "restarts: $(in_srv curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep '^xsl_restarts_total')"
}

# A TCP connection made to the old instance keeps working through the
# drain and ends when the old instance stops; new connections go to the new
# instance.
test_replace_tcp_connections() {
	xdp_on || return 1
	srv_run app1 "" "" || return 1
	local old_pids
	old_pids=$(srv_pids "$SRV_OUT")
	wait_for 500 '[ "$(ctl --json show listeners | jq "[.listeners[] | select(.proto == \"tcp\")] | .[0].workers // 0")" -ge $WORKERS ]' ||
		{ fail "tcp listener does not have $WORKERS workers"; return 1; }
	client_start old 7 20 0 --tcp || return 1
	round old 7 est || return 1
	expect "connections to instance 1" answered=20 insts=1=20

	srv_run app1 "--replace --drain $DRAIN" "" || return 1
	wait_for 500 '[ "$(taking_instance --tcp)" = 2 ]' || { fail "new connections do not go to instance 2"; return 1; }
	round old 7 drain || return 1
	expect "old connections in the drain" answered=20 continued=20 moved=0 insts=1=20
	client_start new 8 20 0 --tcp || return 1
	round new 8 drain || return 1
	expect "new connections in the drain" answered=20 insts=2=20
	round old 7 drain || return 1
	expect "old connections in the drain again" answered=20 continued=20 insts=1=20
	any_alive "$old_pids" || fail "the old instance was gone before the drain rounds ended"

	wait_for $((DRAIN * 100 + 1500)) '! any_alive "$old_pids"' || { fail "old instance not stopped"; return 1; }
	round old 7 after || return 1
	expect "old connections after the stop" answered=0 unanswered=20
	round new 8 after || return 1
	expect "new connections after the stop" answered=20 continued=20 insts=2=20
	client_end old 7
	log "old connections: $TOTAL"
	client_end new 8
	[ "$(echo "$TOTAL" | field unanswered)" = 0 ] || fail "new connections: $TOTAL"
	[ "$(instances app1)" = "2:serving" ] || fail "at the end: instances $(instances app1)"
}

HTTP_PORT=8080
NGINX=/usr/sbin/nginx

# A new TCP connection from the source port of an earlier, closed one is a
# new session: in the drain it goes to the new instance, not to the old
# instance's worker that had that port's connection (wrk and busy clients
# reuse ports all the time; one steered to the old instance is reset when
# that instance stops).
test_replace_tcp_port_reuse_goes_to_new_instance() {
	xdp_on || return 1
	srv_run app1 "" "" || return 1
	wait_for 500 '[ "$(ctl --json show listeners | jq "[.listeners[] | select(.proto == \"tcp\")] | .[0].workers // 0")" -ge $WORKERS ]' ||
		{ fail "tcp listener does not have $WORKERS workers"; return 1; }
	LINE=$(in_cli "$STATECLIENT" --addr "$SRV_IP" --port $PORT --flows 20 --rounds 1 --tcp --sport-base 21000 | grep '^round')
	expect "connections before the replace (closed at the client's exit)" answered=20 insts=1=20
	srv_run app1 "--replace --drain 20" "" || return 1
	wait_for 500 '[ "$(taking_instance --tcp)" = 2 ]' || { fail "new connections do not go to instance 2"; return 1; }
	LINE=$(in_cli "$STATECLIENT" --addr "$SRV_IP" --port $PORT --flows 20 --rounds 1 --tcp --sport-base 21000 | grep '^round')
	expect "new connections from the same ports in the drain" answered=20 insts=2=20
}

# ---- nginx ----

# Starts nginx in a new directory below E2E_TMP by `xslctl run web ARGS`;
# sets NGX_DIR and NGX_MASTER.
nginx_run() {
	NGX_DIR=$(mktemp -d "$E2E_TMP/nginx.XXXXXX")
	nginx_conf "$NGX_DIR" reuseport
	# shellcheck disable=SC2086 # a word list
	bg in_srv "$XSLCTL" --socket "$SOCK" run web $1 -- "$NGINX" -p "$NGX_DIR" \
		-e "$NGX_DIR/error.log" -c "$NGX_DIR/nginx.conf" -g 'daemon off;'
	wait_for 1000 '[ -s "$NGX_DIR/nginx.pid" ]' || { fail "nginx did not start: $(cat "$NGX_DIR/error.log")"; return 1; }
	NGX_MASTER=$(cat "$NGX_DIR/nginx.pid")
}

words() { echo $#; }
wrk_errors() {
	awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx/ { n += $NF } END { print n + 0 }' "$1"
}

# nginx replaced three times (QUIT to the old one) under wrk, a new
# connection per request: no request fails, and at the end the app's
# workers are exactly the last nginx's processes.
test_nginx_replaced_under_wrk() {
	xdp_on || return 1
	nginx_run "" || return 1
	local out="$E2E_TMP/wrk.out" client k old
	wait_for 1000 '[ "$(words $(ps_tree "$NGX_MASTER"))" -eq 5 ] && [ "$(worker_pids web)" = "$(ps_tree "$NGX_MASTER")" ]' ||
		{ fail "nginx not registered: workers $(worker_pids web), nginx $(ps_tree "$NGX_MASTER")"; return 1; }
	bg in_cli wrk -t2 -c32 -d30s --timeout 2s -H "Connection: close" "http://$SRV_IP:$HTTP_PORT/" >"$out" 2>&1
	client=$BG_PID
	# wrk is under way: the first replacement comes amid its traffic
	wait_for 1000 '[ "$(ctl --json show app web | jq .app.created)" -gt 100 ]' ||
		{ fail "wrk's connections never reached nginx"; return 1; }
	for k in 1 2 3; do
		old=$(ps_tree "$NGX_MASTER")
		nginx_run "--replace --stop-signal QUIT --drain 1" || return 1
		wait_for 1500 '! any_alive "$old"' || { fail "replacement $k: old nginx $old not gone"; break; }
		wait_for 1000 '[ "$(words $(ps_tree "$NGX_MASTER"))" -eq 5 ] && [ "$(worker_pids web)" = "$(ps_tree "$NGX_MASTER")" ]' ||
			fail "replacement $k: workers $(worker_pids web) != nginx $(ps_tree "$NGX_MASTER")"
		kill -0 "$client" 2>/dev/null || { fail "wrk ended before replacement $k was done"; break; }
	done
	wait "$client"
	log "wrk: $(awk '/requests in/ { print $1 }' "$out") requests, $(wrk_errors "$out") errors over 3 replacements"
	[ "$(awk '/requests in/ { print $1 }' "$out")" -gt 0 ] 2>/dev/null || fail "wrk got nothing: $(cat "$out")"
	[ "$(wrk_errors "$out")" = 0 ] || fail "wrk errors: $(grep -E 'errors|Non-2xx' "$out")"
	[ "$(worker_pids web)" = "$(ps_tree "$NGX_MASTER")" ] ||
		fail "end: workers $(worker_pids web) != nginx $(ps_tree "$NGX_MASTER")"
	[ "$(instances web)" = "4:serving" ] || fail "at the end: instances $(instances web)"
}

# ---- the README's commands ----

# The README's restart commands, as written (on this test's agent socket):
# the second server replaces the first after its drain.
test_readme_restart_commands() {
	local line n=0 first
	while IFS= read -r line; do
		n=$((n + 1))
		line=${line%%#*}
		line=${line//build\/xslctl/build/xslctl --socket $SOCK}
		log "\$ $line"
		case $line in
		*\&*)
			bg in_srv bash -c "cd '$E2E_ROOT' && exec ${line%&*}" >>"$E2E_TMP/readme.out" 2>&1
			# each server serves before the next line
			wait_for 1000 '[ "$(ctl --json show workers dns 2>/dev/null | jq "[.workers[] | select(.instance == $n)] | length")" -eq 5 ]' ||
				fail "the server of line $n is not registered as instance $n: $(ctl show workers dns)"
			if [ "$n" = 1 ]; then
				first=$(worker_pids dns)
				# sessions of the first server: its drain lasts --drain
				in_cli "$STATECLIENT" --addr "$SRV_IP" --port 5300 --flows 8 --rounds 1 |
					grep -q 'unanswered 0' || fail "the first server does not answer"
			else
				# the new server takes over before the next line looks
				wait_for 1000 '[ "$(instances dns)" = "1:draining 2:serving" ]' ||
					fail "no takeover: instances $(instances dns)"
			fi
			;;
		*) (cd "$E2E_ROOT" && in_srv bash -c "$line") >>"$E2E_TMP/readme.out" 2>&1 ||
			fail "README command failed: $line" ;;
		esac
	done < <(readme_block "## Restarting without dropping flows")
	[ "$n" -ge 3 ] || fail "only $n lines under \"## Restarting without dropping flows\" in README.md"
	grep -q draining "$E2E_TMP/readme.out" || fail "show instances: $(cat "$E2E_TMP/readme.out")"
	# --drain 10: the first server is stopped 10 s after the second serves
	wait_for 2000 '[ "$(instances dns)" = "2:serving" ]' || fail "instances $(instances dns)"
	! any_of "$first" "$(worker_pids dns)" || fail "the first server's workers are left: $(worker_pids dns)"
}

ALL_TESTS="test_replace_drains_old_flows_then_reassigns test_replace_drains_old_flows_then_drops
test_replace_never_serving_is_aborted test_replace_tcp_connections
test_replace_tcp_port_reuse_goes_to_new_instance test_nginx_replaced_under_wrk test_readme_restart_commands"
e2e_main
