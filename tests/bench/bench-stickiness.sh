#!/usr/bin/env bash
# Stickiness under worker churn, xsl against the kernel's own SO_REUSEPORT.
#
# The same forking UDP server (tests/helpers/xsl_testsrv, 4 workers, one
# reuseport socket each) runs twice in this run: (a) started directly, plain
# SO_REUSEPORT, no agent, no XDP, no sk_lookup; (b) under xsl: agent, XDP
# attached with `ip link`, server started by `xslctl run`. Each time K flows
# (one source port each) send one datagram per round from the peer namespace
# (xsl_flowclient), and while they run the master forks ADDS more workers one
# by one, then one of the first workers is killed with SIGKILL. Reported per
# run: flows that stayed on their worker across each add, the killed worker's
# flows answered by a live worker afterwards, the other flows that did not
# move, and requests without a reply.
#
# Knobs (environment): XSL_BENCH_FLOWS (1000), XSL_BENCH_PERIOD_MS (50),
# XSL_BENCH_ADDS (3), XSL_BENCH_PAUSE (1, seconds between events).
. "$(dirname "$0")/lib.sh"

FLOWS=${XSL_BENCH_FLOWS:-1000}
PERIOD_MS=${XSL_BENCH_PERIOD_MS:-50}
ADDS=${XSL_BENCH_ADDS:-3}
PAUSE=${XSL_BENCH_PAUSE:-1}
WORKERS=4

# Runs the churn scenario in pair N; the client's report goes to $OUT.
# MODE: reuseport or xsl.
churn() {
	local mode=$1 n=$2 fifo="$B_TMP/marks-$1" client victim i replies
	OUT="$B_TMP/flows-$mode.out"
	pair_up "$n"
	if [ "$mode" = xsl ]; then
		agent_start "$n"
		xdp_on "$n"
		server_start "$n" $WORKERS bench
		wait_for 500 '[ "$(listener_workers udp)" -eq $WORKERS ]' ||
			die "xsl: the UDP listener does not have $WORKERS workers"
	else
		server_start "$n" $WORKERS -
	fi
	mkfifo "$fifo"
	# opened read-write, so neither this open nor the client's blocks
	exec 7<>"$fifo"
	replies=$(cli_udp_in "$n")
	# the whole scenario plus slack; the client stops at "end"
	# (not through bg: an explicit stdin, or `&` would give it /dev/null)
	in_cli "$n" "$FLOWCLIENT" --addr "$(srv_ip "$n")" --port $PORT --flows "$FLOWS" \
		--period-ms "$PERIOD_MS" --duration $((ADDS * PAUSE + 30)) <"$fifo" >"$OUT" &
	client=$!
	B_PIDS+=("$client")
	# the flows are established: two rounds of replies
	wait_for 1000 '[ "$(cli_udp_in "$n")" -ge $((replies + 2 * FLOWS)) ]' ||
		die "$mode: the flows got $(($(cli_udp_in "$n") - replies)) replies"
	# the events come PAUSE apart, and the kill's phase lasts PAUSE too (pacing,
	# not a wait)
	for i in $(seq "$ADDS"); do
		echo add >&7
		kill -USR1 "$MASTER"
		sleep "$PAUSE"
	done
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	echo "kill $victim" >&7
	kill -9 "$victim"
	sleep "$PAUSE"
	# and one more round's worth of replies after the pause
	replies=$(cli_udp_in "$n")
	wait_for 1000 '[ "$(cli_udp_in "$n")" -ge $((replies + FLOWS)) ]' ||
		log "$mode: only $(($(cli_udp_in "$n") - replies)) replies after the kill's pause"
	echo end >&7
	exec 7>&-
	wait "$client"
	grep -q '^total' "$OUT" || die "$mode: the flow client did not report"
	if [ "$mode" = xsl ]; then
		END_WORKERS=$(listener_workers udp)
		CREATED=$(ctl --json show stats | jq '.stats.session_created')
		REASSIGNED=$(ctl --json show stats | jq '.stats.session_reassigned + .stats.sk_repicked')
		GC_REHOMED=$(ctl --json show stats | jq '.agent.gc_rehomed')
		agent_stop
	fi
	kill "$MASTER" 2>/dev/null
	pair_down "$n"
}

# Sums KEY over the add phases of a client report; a field of its kill
# phase; a field of its total line.
sum_adds() { awk -v k="$2" '$1 == "phase" && $3 == "add" { for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }' "$1"; }
kill_field() { awk '$1 == "phase" && $3 == "kill"' "$1" | field "$2"; }
total_field() { grep '^total' "$1" | field "$2"; }

# A table row: metric, reuseport, xsl; frac renders num/den as a percentage
# with the counts.
row() {
	printf '  %-44s %-22s %-22s\n' "$1" "$2" "$3"
}
frac() { echo "$(pct "$1" "$2") ($1/$2)"; }

echo "== stickiness under churn: $FLOWS UDP flows, a round every $PERIOD_MS ms, $WORKERS workers, +$ADDS forks, 1 SIGKILL"
churn reuseport 1
R=$OUT
churn xsl 2
X=$OUT

declare -A add_st add_est kill_dead kill_reh kill_oth kill_unm lost req rehome
for m in reuseport xsl; do
	f=$R
	[ $m = xsl ] && f=$X
	add_st[$m]=$(sum_adds "$f" stayed)
	add_est[$m]=$(($(sum_adds "$f" stayed) + $(sum_adds "$f" moved)))
	kill_dead[$m]=$(kill_field "$f" dead)
	kill_reh[$m]=$(kill_field "$f" rehomed)
	kill_oth[$m]=$(kill_field "$f" others)
	kill_unm[$m]=$(kill_field "$f" unmoved)
	lost[$m]=$(total_field "$f" lost)
	req[$m]=$(total_field "$f" requests)
	rehome[$m]=$(kill_field "$f" rehome_ms)
done

echo
row "metric" "reuseport" "xsl"
row "--------------------------------------------" "----------------------" "----------------------"
i=0
while read -r rl && read -r xl <&3; do
	i=$((i + 1))
	row "stayed on their worker, add $i" \
		"$(frac "$(echo "$rl" | field stayed)" $(($(echo "$rl" | field stayed) + $(echo "$rl" | field moved))))" \
		"$(frac "$(echo "$xl" | field stayed)" $(($(echo "$xl" | field stayed) + $(echo "$xl" | field moved))))"
done < <(awk '$1 == "phase" && $3 == "add"' "$R") 3< <(awk '$1 == "phase" && $3 == "add"' "$X")
row "stayed on their worker, all adds" "$(frac "${add_st[reuseport]}" "${add_est[reuseport]}")" \
	"$(frac "${add_st[xsl]}" "${add_est[xsl]}")"
row "kill: dead worker's flows re-homed" "$(frac "${kill_reh[reuseport]}" "${kill_dead[reuseport]}")" \
	"$(frac "${kill_reh[xsl]}" "${kill_dead[xsl]}")"
row "kill: other flows not moved" "$(frac "${kill_unm[reuseport]}" "${kill_oth[reuseport]}")" \
	"$(frac "${kill_unm[xsl]}" "${kill_oth[xsl]}")"
row "kill: handled correctly (both above)" \
	"$(frac $((kill_reh[reuseport] + kill_unm[reuseport])) $((kill_dead[reuseport] + kill_oth[reuseport])))" \
	"$(frac $((kill_reh[xsl] + kill_unm[xsl])) $((kill_dead[xsl] + kill_oth[xsl])))"
row "kill: every dead flow answered again after" "${rehome[reuseport]} ms" "${rehome[xsl]} ms"
row "kill: requests lost from the kill on" "$(kill_field "$R" lost)" "$(kill_field "$X" lost)"
row "requests without reply (lost), whole run" "$(frac "${lost[reuseport]}" "${req[reuseport]}")" \
	"$(frac "${lost[xsl]}" "${req[xsl]}")"
echo
log "xsl: sessions created $CREATED, re-homed by the data path $REASSIGNED and by the agent's GC $GC_REHOMED, UDP listener workers at the end $END_WORKERS"
log "a flow stayed when every reply after the event came from the pid that answered it last before"
log "\"answered again after\": first round start after the kill in which all its flows got live replies (resolution one round, $PERIOD_MS ms)"
if [ "${add_st[xsl]}" = "${add_est[xsl]}" ] && [ "${add_est[xsl]}" -gt 0 ]; then
	log "goal met: 100% of established flows stayed on their worker when workers were added"
else
	log "goal NOT met: xsl moved established flows when workers were added"
fi
