#!/usr/bin/env bash
# Worker lifecycle costs under xsl: fork -> registration latency, and the
# cleanup of a killed worker that holds many sessions.
#
# Fork latency comes from the agent's own histogram
# (xsl_fork_to_register_seconds on /metrics: from the fork tracepoint's
# timestamp to the worker being in the registry and the maps), scraped
# before and after each phase; p50/p99 are the upper bounds of the buckets
# the quantiles fall in. Phases: a burst (SIGUSR2: the test server forks
# STORM short-lived children at once) and paced forks (SIGUSR1 one at a
# time, PACED long-lived workers that bind sockets, 20 ms apart).
#
# Cleanup: a 2-worker app with XDP; 64 real UDP flows every 5 ms
# (xsl_flowclient). The victim worker gets HOLD extra sessions written
# straight into the pinned xsl_sessions map (xsl_sessfill, cloned from one
# of its real sessions: a shortcut for the benchmark, 100k real flows would
# need 100k client sockets). Then kill -9, and measured: the time until
# `xslctl show workers` no longer lists it, and until every real flow it
# had is answered by the other worker. Done with 0 and with HOLD sessions.
#
# Knobs (environment): XSL_BENCH_STORM (200), XSL_BENCH_PACED (100),
# XSL_BENCH_HOLD (100000).
. "$(dirname "$0")/lib.sh"

STORM=${XSL_BENCH_STORM:-200}
PACED=${XSL_BENCH_PACED:-100}
HOLD=${XSL_BENCH_HOLD:-100000}
P=1

scrape() { in_srv $P curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep '^xsl_fork_to_register_seconds'; }
forks() { ctl --json show app "$1" | jq '.app.registrations.fork'; }
n_workers() { ctl --json show workers "$1" 2>/dev/null | jq '.workers | length'; }

# Prints "count p50 p99 mean" of the observations between two scrapes.
quantiles() {
	awk '
	function le(s) { sub(/.*le="/, "", s); sub(/".*/, "", s); return s }
	FNR == 1 { file++ }
	/_bucket/ { k = le($1); if (file == 1) b[k] = $2; else { d[k] = $2 - b[k]; if (!(k in seen)) { order[++n] = k; seen[k] = 1 } } }
	/_count/ { if (file == 1) c0 = $2; else c1 = $2 }
	/_sum/ { if (file == 1) s0 = $2; else s1 = $2 }
	function q(f,   i) { for (i = 1; i <= n; i++) if (d[order[i]] >= f * (c1 - c0)) return order[i]; return "+Inf" }
	function show(v) { return v == "+Inf" ? ">1s" : (v < 0.001 ? sprintf("%gus", v * 1e6) : sprintf("%gms", v * 1e3)) }
	END {
		total = c1 - c0
		if (total <= 0) { print "0 - - -"; exit }
		printf "%d %s %s %.2fms\n", total, show(q(0.5)), show(q(0.99)), (s1 - s0) / total * 1e3
	}' "$1" "$2"
}

echo "== worker lifecycle under xsl: fork -> registration latency, cleanup of a worker holding sessions"
pair_up $P
agent_start $P
xdp_on $P

# -- fork -> registration latency
server_start $P 1 forks --storm "$STORM"
wait_for 500 '[ "$(n_workers forks)" -eq 2 ]' || die "forks: master and worker not registered"
S0="$B_TMP/m0" S1="$B_TMP/m1" S2="$B_TMP/m2"
scrape >"$S0" || die "cannot scrape /metrics"
f0=$(forks forks)
kill -USR2 "$MASTER"
# children that exit before the agent gets to them count as registered, but
# have no latency: the histogram has only the ones registered alive
wait_for 2000 '[ "$(forks forks)" -ge $((f0 + STORM)) ] && [ "$(n_workers forks)" -eq 2 ]' ||
	log "burst: only $(($(forks forks) - f0)) of $STORM forks registered"
scrape >"$S1"
b_forks=$(($(forks forks) - f0))
for _ in $(seq "$PACED"); do
	kill -USR1 "$MASTER"
	sleep 0.02
done
wait_for 2000 '[ "$(n_workers forks)" -eq $((PACED + 2)) ]' ||
	log "paced: $(n_workers forks) workers registered, expected $((PACED + 2))"
scrape >"$S2"
read -r b_n b_50 b_99 b_mean < <(quantiles "$S0" "$S1")
read -r p_n p_50 p_99 p_mean < <(quantiles "$S1" "$S2")
kill -TERM "$MASTER"
wait_for 1000 '[ "$(ctl --json show apps | jq ".apps | length")" -eq 0 ]' || log "app forks not freed"

# -- cleanup of a killed worker holding N extra sessions; sets CR to
# "held gone_ms rehome_ms lost_after_kill late"
cleanup_run() {
	local app=$1 hold=$2 fifo="$B_TMP/marks-$1" out="$B_TMP/flows-$1.out" client victim idx
	local held=0 t0 t1 fill
	server_start $P 2 "$app"
	wait_for 500 '[ "$(listener_workers udp)" -eq 2 ]' || die "$app: UDP listener without 2 workers"
	mkfifo "$fifo"
	exec 7<>"$fifo"
	in_cli $P "$FLOWCLIENT" --addr "$(srv_ip $P)" --port $PORT --flows 64 --period-ms 5 \
		--duration 60 <"$fifo" >"$out" &
	client=$!
	B_PIDS+=("$client")
	sleep 0.5
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	idx=$(ctl --json show workers "$app" | jq ".workers[] | select(.pid == $victim) | .index")
	if [ "$hold" -gt 0 ]; then
		fill=$("$SESSFILL" --map "$PIN/xsl_sessions" --worker "$idx" --count "$hold") ||
			die "cannot fill sessions"
		log "$app: $fill"
	fi
	# the agent's GC publishes per-worker counts once a pass is through
	wait_for 1000 '[ "$(ctl --json show workers "$app" | jq ".workers[] | select(.pid == $victim) | .sessions")" -ge "$hold" ]'
	held=$(ctl --json show workers "$app" | jq ".workers[] | select(.pid == $victim) | .sessions")
	echo "kill $victim" >&7
	t0=$(date +%s%N)
	kill -9 "$victim"
	# the plain table, no jq: a poll costs ~2-3 ms instead of ~15
	while ctl show workers "$app" | awk -v p="$victim" '$4 == p { f = 1 } END { exit !f }'; do
		[ $(($(date +%s%N) - t0)) -gt 10000000000 ] && break
	done
	t1=$(date +%s%N)
	sleep 0.5
	echo end >&7
	exec 7>&-
	wait "$client"
	CR="$held $(((t1 - t0) / 1000000)) $(awk '$1 == "phase"' "$out" | field rehome_ms)"
	CR="$CR $(awk '$1 == "phase"' "$out" | field lost) $(grep '^total' "$out" | field late)"
	kill -TERM "$MASTER"
	wait_for 1000 '[ "$(ctl --json show apps | jq ".apps | length")" -eq 0 ]' || log "app $app not freed"
}

cleanup_run hold0 0
read -r c0_held c0_gone c0_rehome c0_lost c0_late <<<"$CR"
cleanup_run hold1 "$HOLD"
read -r c1_held c1_gone c1_rehome c1_lost c1_late <<<"$CR"

echo
printf '  %-46s %10s %10s %10s %10s\n' "fork -> registration" "forks" "p50 <=" "p99 <=" "mean"
printf '  %-46s %10s %10s %10s %10s\n' "----------------------------------------------" "----------" "----------" "----------" "----------"
printf '  %-46s %10s %10s %10s %10s\n' "burst: $STORM forks at once (short-lived)" "$b_n" "$b_50" "$b_99" "$b_mean"
printf '  %-46s %10s %10s %10s %10s\n' "paced: one every 20 ms (workers with sockets)" "$p_n" "$p_50" "$p_99" "$p_mean"
echo
printf '  %-46s %16s %16s\n' "worker killed (kill -9), 2-worker app" "no extra" "$HOLD extra"
printf '  %-46s %16s %16s\n' "----------------------------------------------" "----------------" "----------------"
printf '  %-46s %16s %16s\n' "sessions the worker held" "$c0_held" "$c1_held"
printf '  %-46s %16s %16s\n' "gone from \`xslctl show workers\` after" "$c0_gone ms" "$c1_gone ms"
printf '  %-46s %16s %16s\n' "its flows answered by the other worker after" "$c0_rehome ms" "$c1_rehome ms"
printf '  %-46s %16s %16s\n' "requests lost from the kill on" "$c0_lost" "$c1_lost"
printf '  %-46s %16s %16s\n' "replies later than 5 ms, whole run" "$c0_late" "$c1_late"
echo
log "p50/p99 are bucket upper bounds of the agent's histogram (mean from its sum); forks: timed registrations"
log "burst: $b_forks forks seen, $b_n registered while alive (the rest had exited already, nothing to time)"
log "64 real flows, one request each every 5 ms; a reply later than that counts as lost"
log "the killed worker's sessions are not walked on removal: each is re-homed on its next packet or expires idle"
log "times measured by polling from this script: resolution ~3 ms (show workers) and 5 ms (one flow round)"
