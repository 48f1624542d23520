#!/usr/bin/env bash
# A graceful restart of a stateful UDP server, the plain way against xsl's
# `run --replace`: which established flows change process (and so lose
# their state) when the new server starts and when the old one stops.
#
# The server is tests/helpers/xsl_statesrv (4 workers, one reuseport socket
# each, a count per flow); the client xsl_stateclient keeps FLOWS flows
# (one source port each) from the peer namespace and sends one request per
# flow per round. Both runs do the same steps:
#  1. the old server runs; two rounds establish the flows;
#  2. the new server starts; two rounds ("start");
#  3. NEW more flows start (new during the drain) and get a round with the
#     established ones;
#  4. DRAIN seconds after the new server serves, the old one is stopped
#     (SIGTERM), two rounds ("stop").
# plain: both servers started directly with SO_REUSEPORT beside each other,
# no agent; the reuseport group grows to 8 sockets at 2 and shrinks at 4.
# xsl: agent, XDP attached with `ip link`, the old server by `xslctl run
# bench`, the new one by `xslctl run bench --replace --drain DRAIN`, which
# stops the old instance itself after the drain.
# A flow changed process at an event when the first answer after it came
# from another pid than the last answer before it; it lost its state when
# that answer's count did not go on from the last one.
#
# Knobs (environment): XSL_BENCH_RESTART_FLOWS (1000), XSL_BENCH_RESTART_NEW
# (200), XSL_BENCH_RESTART_DRAIN (3, seconds).
. "$(dirname "$0")/lib.sh"

FLOWS=${XSL_BENCH_RESTART_FLOWS:-1000}
NEW=${XSL_BENCH_RESTART_NEW:-200}
DRAIN=${XSL_BENCH_RESTART_DRAIN:-3}
WORKERS=4
STATESRV="$BUILD/tests/helpers/xsl_statesrv"
STATECLIENT="$BUILD/tests/helpers/xsl_stateclient"
for bin in "$STATESRV" "$STATECLIENT"; do
	[ -e "$bin" ] || die "$bin is missing (make the helpers first)"
done

udp_sockets() { in_srv "$1" ss -ulnH "sport = :$PORT" | wc -l; }

# Starts the state server in pair N: directly (APP "-") or by `xslctl run
# APP [RUN_ARGS...]`; its output in $2's file; sets SRV_MASTER.
state_server() {
	local n=$1 out=$2 app=$3
	shift 3
	if [ "$app" = - ]; then
		bg in_srv "$n" "$STATESRV" --port $PORT --workers $WORKERS >"$out" 2>&1
	else
		bg in_srv "$n" "$XSLCTL" --socket "$SOCK" run "$app" "$@" -- "$STATESRV" --port $PORT \
			--workers $WORKERS >"$out" 2>&1
	fi
	wait_for 500 '[ "$(grep -c "^worker" "$out")" -ge $WORKERS ]' ||
		die "state server in pair $n did not start: $(head -5 "$out")"
	SRV_MASTER=$(awk '/^master/ { print $2 }' "$out")
}

# Starts a client of F flows from source port BASE on in pair N, driven
# through file descriptor FD; its output in file OUT.
client_start() { # n fd out flows base dump
	local n=$1 fd=$2 out=$3 fifo="$B_TMP/fifo-$1-$2"
	mkfifo "$fifo"
	# opened read-write, so neither this open nor the client's blocks
	eval "exec $fd<>\"$fifo\""
	in_cli "$n" "$STATECLIENT" --addr "$(srv_ip "$n")" --port $PORT --flows "$4" \
		--sport-base "$5" --rounds 0 --timeout-ms 500 --dump "$6" <"$fifo" >"$out" &
	B_PIDS+=("$!")
	wait_for 500 'grep -q "^ready" "$out"' || die "client did not start: $(cat "$out")"
}

# One round labelled LABEL on the client of FD (output OUT), waited for.
round() { # fd out label
	local want
	want=$(($(grep -c '^round' "$2") + 1))
	echo "round $3" >&"$1"
	wait_for 1000 "grep -q '^round $want ' '$2'" || die "round $want ($3) did not end"
}

client_end() { # fd out
	echo end >&"$1"
	wait_for 1000 "grep -q '^total' '$2'" || die "client did not report"
	eval "exec $1>&-"
}

# From a client dump: "compared changed lost needless" between the last
# round labelled A and the first labelled B, over flows answered in both;
# needless: changed although their process (not one of the pids GONE) ran on.
changed() { # dump A B [gone]
	awk -v a="$2" -v b="$3" -v gone=" ${4:-} " '
	NR == 1 { for (i = 3; i <= NF; i++) { if ($i == a) ra = i - 2; if ($i == b && !rb) rb = i - 2 }; next }
	{
		if (!ra || !rb) exit 1
		split($(ra + 1), x, "/"); split($(rb + 1), y, "/")
		if (x[1] == "-" || y[1] == "-") next
		n++; if (x[1] != y[1]) { c++; if (index(gone, " " x[1] " ") == 0) u++ }
		if (y[3] != x[3] + 1) l++
	}
	END { printf "%d %d %d %d\n", n, c, l, u }' "$1"
}

# The whole restart in pair N, MODE plain or xsl; results in R_<mode>_*.
restart() {
	local mode=$1 n=$2 est="$B_TMP/est-$1" new="$B_TMP/new-$1" old_master old_pids t_serve
	pair_up "$n"
	if [ "$mode" = xsl ]; then
		agent_start "$n"
		xdp_on "$n"
		state_server "$n" "$B_TMP/srv1-$mode" bench
		wait_for 500 '[ "$(listener_workers udp)" -ge $WORKERS ]' ||
			die "xsl: the UDP listener does not have $WORKERS workers"
	else
		state_server "$n" "$B_TMP/srv1-$mode" -
		wait_for 500 '[ "$(udp_sockets "$n")" -eq $WORKERS ]' || die "plain: old server not bound"
	fi
	old_master=$SRV_MASTER
	client_start "$n" 7 "$est" "$FLOWS" 20000 "$est.dump"
	round 7 "$est" est
	round 7 "$est" est

	if [ "$mode" = xsl ]; then
		state_server "$n" "$B_TMP/srv2-$mode" bench --replace --drain "$DRAIN"
		# the new instance serves: new flows go to it
		wait_for 1000 '[ "$(taking_instance "$n")" = 2 ]' || die "xsl: instance 2 did not take new flows"
	else
		state_server "$n" "$B_TMP/srv2-$mode" -
		wait_for 500 '[ "$(udp_sockets "$n")" -eq $((2 * WORKERS)) ]' || die "plain: new server not bound"
	fi
	t_serve=$(date +%s%N)
	round 7 "$est" start
	round 7 "$est" start
	client_start "$n" 8 "$new" "$NEW" 30000 "$new.dump"
	round 8 "$new" drain
	round 7 "$est" drain

	# the old server goes DRAIN seconds after the new one served
	if [ "$mode" = xsl ]; then
		wait_for $((DRAIN * 100 + 1500)) '! kill -0 "$old_master" 2>/dev/null' ||
			die "xsl: the old instance was not stopped after the drain"
		wait_for 500 '! worker_pids bench | grep -qw "$old_master"' ||
			die "xsl: the old instance's workers are still registered"
	else
		while [ $(($(date +%s%N) - t_serve)) -lt $((DRAIN * 1000000000)) ]; do sleep 0.05; done
		kill "$old_master"
		wait_for 500 '[ "$(udp_sockets "$n")" -eq $WORKERS ]' || die "plain: old server did not stop"
	fi
	R_DRAIN_MS[$mode]=$((($(date +%s%N) - t_serve) / 1000000))
	round 7 "$est" stop
	round 8 "$new" stop
	round 7 "$est" stop
	client_end 7 "$est"
	client_end 8 "$new"

	old_pids=$(awk '/^(master|worker)/ { printf "%s ", $2 }' "$B_TMP/srv1-$mode")
	R_START[$mode]=$(changed "$est.dump" est start)
	R_STOP[$mode]=$(changed "$est.dump" drain stop "$old_pids")
	R_NEWSTOP[$mode]=$(changed "$new.dump" drain stop "$old_pids")
	R_NEEDLESS[$mode]=$(($(echo "${R_START[$mode]}" | cut -d' ' -f4) +
		$(echo "${R_STOP[$mode]}" | cut -d' ' -f4) + $(echo "${R_NEWSTOP[$mode]}" | cut -d' ' -f4)))
	R_UNANS[$mode]=$(($(grep '^total' "$est" | field unanswered) + $(grep '^total' "$new" | field unanswered)))
	R_REQ[$mode]=$(($(grep '^total' "$est" | field rounds) * FLOWS + $(grep '^total' "$new" | field rounds) * NEW))
	R_LOST[$mode]=$(($(grep '^total' "$est" | field restarted) + $(grep '^total' "$new" | field restarted)))
	[ "$mode" = xsl ] && agent_stop
	pair_down "$n"
}

# The instance new flows go to in pair N: a one-flow probe from a port no
# flow used before (below the ephemeral ones, away from the clients').
taking_instance() {
	local k
	k=$(($(cat "$B_TMP/probes" 2>/dev/null || echo 0) + 1))
	echo "$k" >"$B_TMP/probes"
	in_cli "$1" "$STATECLIENT" --addr "$(srv_ip "$1")" --port $PORT --flows 1 --rounds 1 \
		--timeout-ms 300 --sport-base $((10000 + k)) |
		awk '/^round/ { for (i = 1; i < NF; i++) if ($i == "insts") { split($(i + 1), a, "="); print a[1] } }'
}

# "changed/compared" of a "compared changed lost" triple as a percentage.
share() {
	local n c
	n=$(echo "$1" | cut -d' ' -f1)
	c=$(echo "$1" | cut -d' ' -f2)
	echo "$(pct "$c" "$n") ($c/$n)"
}
row() { printf '  %-52s %-20s %-20s\n' "$1" "$2" "$3"; }

declare -A R_START R_STOP R_NEWSTOP R_UNANS R_REQ R_LOST R_DRAIN_MS R_NEEDLESS
MODES=${XSL_BENCH_RESTART_MODES:-plain xsl}
echo "== restart: $FLOWS established UDP flows (+$NEW new during the drain), $WORKERS workers -> $WORKERS, drain $DRAIN s"
i=0
for m in $MODES; do
	i=$((i + 1))
	restart "$m" "$i"
done
echo
row "metric" "plain reuseport" "xsl run --replace"
row "----------------------------------------------------" "--------------------" "--------------------"
row "established flows that changed process at start" "$(share "${R_START[plain]:-0 0}")" "$(share "${R_START[xsl]:-0 0}")"
row "established flows that changed process at stop" "$(share "${R_STOP[plain]:-0 0}")" "$(share "${R_STOP[xsl]:-0 0}")"
row "flows new during the drain that changed at stop" "$(share "${R_NEWSTOP[plain]:-0 0}")" "$(share "${R_NEWSTOP[xsl]:-0 0}")"
row "moves off a process that kept running (all flows)" "${R_NEEDLESS[plain]:--}" "${R_NEEDLESS[xsl]:--}"
row "answers with the flow's state lost (count restarted)" "${R_LOST[plain]:--}" "${R_LOST[xsl]:--}"
row "requests unanswered" "$(pct "${R_UNANS[plain]:-0}" "${R_REQ[plain]:-0}") (${R_UNANS[plain]:--}/${R_REQ[plain]:--})" \
	"$(pct "${R_UNANS[xsl]:-0}" "${R_REQ[xsl]:-0}") (${R_UNANS[xsl]:--}/${R_REQ[xsl]:--})"
row "new server serving -> old stopped (ms)" "${R_DRAIN_MS[plain]:--}" "${R_DRAIN_MS[xsl]:--}"
echo
log "changed process: the first answer after the event came from another pid than the last before it"
log "at stop every established flow of the old server changes process (its process is gone); plain"
log "reuseport also moves flows between processes that keep running, at start and at stop"
