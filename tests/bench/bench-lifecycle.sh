#!/usr/bin/env bash
# Worker lifecycle costs under xsl: fork -> registration latency, and the
# cleanup of a killed worker that holds many sessions.
#
# Fork latency comes from the agent's own histogram
# (xsl_fork_to_register_seconds on /metrics: from the fork tracepoint's
# timestamp to the worker being in the registry and the maps, or to the
# agent finding a child already gone), scraped before and after each phase;
# p50/p99 are the upper bounds of the buckets the quantiles fall in. The
# parts of it (xsl_fork_stage_seconds: wake = kernel timestamp -> the
# agent's loop awake, queue = -> the agent reaching the event, handle = ->
# registered) are printed as means. Phases: a burst (SIGUSR2: the test
# server forks STORM short-lived children at once) and paced forks (SIGUSR1
# one at a time, PACED long-lived workers that bind sockets, 20 ms apart).
#
# The agent runs the way it is shipped: with the options of the ExecStart
# line of scripts/xsl-agent.service (--sched fifo:10) and its default log
# level. Both fork phases run again with the agent restarted with --sched
# other (plain SCHED_OTHER) for comparison: on a machine whose CPUs are busy
# with other work, such an agent's latencies are mostly its wait on the run
# queue, whatever it does (that wait, from /proc/PID/schedstat, is printed).
# The load average is printed before and after: the figures depend on it.
#
# Cleanup: a 2-worker app with XDP; 64 real UDP flows every 5 ms
# (xsl_flowclient). The victim worker gets HOLD extra sessions written
# straight into the pinned xsl_sessions map (xsl_sessfill, cloned from one
# of its real sessions: a shortcut for the benchmark, 100k real flows would
# need 100k client sockets). Then kill -9, and measured: the time until
# `show workers` no longer lists it (polled over one control connection:
# resolution one request, well under a millisecond; the poller runs
# SCHED_FIFO 5, below the agent, so that its own wait for a CPU is not
# counted: the killed worker's is), and until every real
# flow it had is answered by the other worker. Done with 0 and with HOLD
# sessions, the agent as shipped. The agent's own histogram
# xsl_exit_to_detach_seconds gives the part from the exit event to the
# detach.
#
# The control-path targets are printed, for the shipped configuration, as
# "goal NAME measured=X target=Y met|missed" lines: fork -> registration
# p99 <= 250 us paced and <= 1 ms in the burst with every fork counted,
# kill -9 -> gone <= 10 ms.
#
# Knobs (environment): XSL_BENCH_STORM (200), XSL_BENCH_PACED (100),
# XSL_BENCH_HOLD (100000), XSL_BENCH_METRICS_PORT (19477).
. "$(dirname "$0")/lib.sh"

STORM=${XSL_BENCH_STORM:-200}
PACED=${XSL_BENCH_PACED:-100}
HOLD=${XSL_BENCH_HOLD:-100000}
P=1

# Histogram $1 (xsl_..._seconds) on /metrics.
scrape() { in_srv $P curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep "^$1"; }
forks() { ctl --json show app "$1" | jq '.app.registrations.fork'; }
n_workers() { ctl --json show workers "$1" 2>/dev/null | jq '.workers | length'; }
sessions() { ctl --json show sessions "$1" --limit 1 | jq .total; }
app_packets() { ctl --json show app "$1" | jq .app.packets; }

# Prints "count p50 p99 mean" (seconds; a quantile above the last bucket is
# "inf") of the observations between two scrapes.
quantiles() {
	awk '
	function le(s) { sub(/.*le="/, "", s); sub(/".*/, "", s); return s }
	FNR == 1 { file++ }
	/_bucket/ { k = le($1); if (file == 1) b[k] = $2; else { d[k] = $2 - b[k]; if (!(k in seen)) { order[++n] = k; seen[k] = 1 } } }
	/_count/ { if (file == 1) c0 = $2; else c1 = $2 }
	/_sum/ { if (file == 1) s0 = $2; else s1 = $2 }
	function q(f,   i) { for (i = 1; i <= n; i++) if (order[i] != "+Inf" && d[order[i]] >= f * (c1 - c0)) return order[i]; return "inf" }
	END {
		total = c1 - c0
		if (total <= 0) { print "0 - - -"; exit }
		printf "%d %s %s %.9f\n", total, q(0.5), q(0.99), (s1 - s0) / total
	}' "$1" "$2"
}

# Seconds as text: 250us, 2.5ms, >1s, "-" for none.
show() {
	awk -v v="$1" 'BEGIN {
		if (v == "-") print "-"; else if (v == "inf") print ">1s"
		else if (v < 0.001) printf "%.3gus\n", v * 1e6; else printf "%.3gms\n", v * 1e3 }'
}

# goal NAME MEASURED TARGET (seconds, or plain counts with "count"): met
# when measured <= target (counts: when equal).
goal() {
	local name=$1 m=$2 t=$3 kind=${4:-time} ok
	if [ "$kind" = count ]; then
		ok=$([ "$m" = "$t" ] && echo met || echo missed)
		echo "goal $name measured=$m target=$t $ok"
		return
	fi
	ok=$(awk -v m="$m" -v t="$t" 'BEGIN { print (m != "-" && m != "inf" && m + 0 <= t + 0) ? "met" : "missed" }')
	echo "goal $name measured=$(show "$m") target=$(show "$t") $ok"
}

# The agent's pid (it runs under nsenter and maybe chrt, which exec it).
agent_pid() { pgrep -f -- "^$AGENT .*--socket $SOCK" | head -1; }
# "wait_ns timeslices" of the agent so far (/proc/PID/schedstat).
sched_now() { awk '{ print $2, $3 }' "/proc/$(agent_pid)/schedstat" 2>/dev/null || echo "0 0"; }
# Run-queue wait between two sched_now lines: "total_ms mean_us".
sched_wait() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[2] - x[2]
		w = n > 0 ? sprintf("%.0fus", (y[1] - x[1]) / n / 1e3) : "-"
		printf "%.1fms %s\n", (y[1] - x[1]) / 1e6, w }'
}

# The agent's options as shipped: the ExecStart line of the systemd unit.
UNIT="$BENCH_ROOT/scripts/xsl-agent.service"
SHIPPED=$(sed -n 's|^ExecStart=@SBINDIR@/xsl-agent||p' "$UNIT")
[ -n "$(grep '^ExecStart=@SBINDIR@/xsl-agent' "$UNIT")" ] || die "no ExecStart line in $UNIT"
# the agent's policy as chrt shows it, e.g. "SCHED_FIFO|SCHED_RESET_ON_FORK/10"
agent_policy() {
	chrt -p "$(agent_pid)" | awk -F': ' '/policy/ { p = $2 } /priority/ { print p "/" $2 }'
}

# Restarts the agent (pinned state kept) with the shipped options and ARGS;
# --log-level info: the default, which the shipped unit keeps.
agent_restart() {
	local pid
	pid=$(agent_pid)
	if [ -n "$pid" ]; then
		kill -TERM "$pid"
		wait_for 500 '! kill -0 "$pid" 2>/dev/null' || die "agent $pid did not stop"
	fi
	# shellcheck disable=SC2086 # the unit's options, split as systemd does
	agent_start $P $SHIPPED --log-level info "$@"
	wait_for 500 '[ -n "$(agent_pid)" ]' || die "agent not found"
}

echo "== worker lifecycle under xsl: fork -> registration latency, cleanup of a worker holding sessions"
pair_up $P
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
agent_restart
S_POLICY=$(agent_policy)
log "agent as shipped ($SHIPPED): $S_POLICY"
xdp_on $P

# -- fork -> registration latency, the agent as it runs now (its policy
# named $1 in file names); sets FR to "forks timed p50 p99 mean burst_wait
# burst_wake", PR to "timed p50 p99 mean paced_wait paced_wake", and ST to
# the stage means "burst_wake burst_queue burst_handle paced_wake
# paced_queue paced_handle"
stages() {
	local st out=
	for st in wake queue handle; do
		out="$out $(quantiles <(grep "stage=\"$st\"" "$1") <(grep "stage=\"$st\"" "$2") |
			awk '{ print $4 }')"
	done
	echo "$out"
}
fork_run() {
	local S0="$B_TMP/m0-$1" S1="$B_TMP/m1-$1" S2="$B_TMP/m2-$1" FL=xsl_fork_to_register_seconds
	local FS=xsl_fork_stage_seconds f0 q0 q1 q2 forks_seen
	server_start $P 1 forks --storm "$STORM"
	wait_for 500 '[ "$(n_workers forks)" -eq 2 ]' || die "forks: master and worker not registered"
	scrape $FL >"$S0" || die "cannot scrape /metrics"
	scrape $FS >"$S0.st"
	f0=$(forks forks)
	q0=$(sched_now)
	kill -USR2 "$MASTER"
	# a child that exits before the agent gets to it counts as registered
	# (and detached), timed to when the agent found it gone
	wait_for 2000 '[ "$(forks forks)" -ge $((f0 + STORM)) ] && [ "$(n_workers forks)" -eq 2 ]' ||
		log "burst ($1): only $(($(forks forks) - f0)) of $STORM forks registered"
	scrape $FL >"$S1"
	scrape $FS >"$S1.st"
	q1=$(sched_now)
	forks_seen=$(($(forks forks) - f0))
	for _ in $(seq "$PACED"); do
		kill -USR1 "$MASTER"
		# forks 20 ms apart: the paced phase (pacing, not a wait)
		sleep 0.02
	done
	wait_for 2000 '[ "$(n_workers forks)" -eq $((PACED + 2)) ]' ||
		log "paced ($1): $(n_workers forks) workers registered, expected $((PACED + 2))"
	scrape $FL >"$S2"
	scrape $FS >"$S2.st"
	q2=$(sched_now)
	FR="$forks_seen $(quantiles "$S0" "$S1") $(sched_wait "$q0" "$q1")"
	PR="$(quantiles "$S1" "$S2") $(sched_wait "$q1" "$q2")"
	ST="$(stages "$S0.st" "$S1.st") $(stages "$S1.st" "$S2.st")"
	kill -TERM "$MASTER"
	wait_for 1000 '[ "$(ctl --json show apps | jq ".apps | length")" -eq 0 ]' ||
		log "app forks not freed"
}

fork_run shipped
read -r s_forks s_bn s_b50 s_b99 s_bmean s_bwait s_bwake <<<"$FR"
read -r s_pn s_p50 s_p99 s_pmean s_pwait s_pwake <<<"$PR"
read -r s_bw s_bq s_bh s_pw s_pq s_ph <<<"$ST"

# -- cleanup of a killed worker holding N extra sessions; sets CR to
# "held gone_us rehome_ms lost_after_kill late exit_detach_s"
cleanup_run() {
	local app=$1 hold=$2 fifo="$B_TMP/marks-$1" out="$B_TMP/flows-$1.out" client victim idx
	local held=0 t0 t1 fill e0="$B_TMP/e0-$1" e1="$B_TMP/e1-$1" req line n xd pkts
	server_start $P 2 "$app"
	wait_for 500 '[ "$(listener_workers udp)" -eq 2 ]' || die "$app: UDP listener without 2 workers"
	mkfifo "$fifo"
	exec 7<>"$fifo"
	in_cli $P "$FLOWCLIENT" --addr "$(srv_ip $P)" --port $PORT --flows 64 --period-ms 5 \
		--duration 60 <"$fifo" >"$out" &
	client=$!
	B_PIDS+=("$client")
	wait_for 1000 '[ "$(sessions "$app")" -ge 64 ]' || die "$app: $(sessions "$app") of 64 flows have sessions"
	victim=$(awk '/^worker/ { print $2; exit }' "$SRV_OUT")
	idx=$(ctl --json show workers "$app" | jq ".workers[] | select(.pid == $victim) | .index")
	if [ "$hold" -gt 0 ]; then
		fill=$("$SESSFILL" --map "$PIN/xsl_sessions" --worker "$idx" --count "$hold") ||
			die "cannot fill sessions"
		log "$app: $fill"
	fi
	# the agent's GC publishes per-worker counts once a pass is through: the
	# filled sessions and at least one of its real flows
	wait_for 1000 '[ "$(ctl --json show workers "$app" | jq ".workers[] | select(.pid == $victim) | .sessions")" -gt "$hold" ]'
	held=$(ctl --json show workers "$app" | jq ".workers[] | select(.pid == $victim) | .sessions")
	scrape xsl_exit_to_detach_seconds >"$e0"
	# one control connection, one show.workers request per poll: no
	# process start per poll
	coproc POLL { exec socat -t 30 - UNIX-CONNECT:"$SOCK"; }
	req="{\"cmd\":\"show.workers\",\"name\":\"$app\"}"
	echo "kill $victim" >&7
	# the observer (this shell and its socat) real-time below the agent:
	# its own wait for a CPU on a busy machine is not the agent's
	chrt -f -p 5 "$POLL_PID" && chrt -f -p 5 "$BASHPID" || die "cannot make the poller real-time"
	t0=${EPOCHREALTIME/./}
	kill -9 "$victim"
	for ((n = 0; n < 100000; n++)); do
		echo "$req" >&"${POLL[1]}"
		IFS= read -r -t 5 line <&"${POLL[0]}" || break
		[[ $line =~ \"pid\":\ ?$victim[,}] ]] || break
	done
	t1=${EPOCHREALTIME/./}
	chrt -o -p 0 "$BASHPID"
	kill "$POLL_PID" 2>/dev/null
	wait "$POLL_PID" 2>/dev/null
	scrape xsl_exit_to_detach_seconds >"$e1"
	read -r _ _ xd _ < <(quantiles "$e0" "$e1")
	# 20 rounds of the flows after the detach (64 packets a round), for rehome_ms
	pkts=$(app_packets "$app")
	wait_for 1000 '[ "$(app_packets "$app")" -ge $((pkts + 20 * 64)) ]' ||
		log "$app: only $(($(app_packets "$app") - pkts)) packets after the detach"
	echo end >&7
	exec 7>&-
	wait "$client"
	CR="$held $((t1 - t0)) $(awk '$1 == "phase"' "$out" | field rehome_ms)"
	CR="$CR $(awk '$1 == "phase"' "$out" | field lost) $(grep '^total' "$out" | field late) $xd"
	kill -TERM "$MASTER"
	wait_for 1000 '[ "$(ctl --json show apps | jq ".apps | length")" -eq 0 ]' || log "app $app not freed"
}

cleanup_run hold0 0
read -r c0_held c0_gone c0_rehome c0_lost c0_late c0_xd <<<"$CR"
cleanup_run hold1 "$HOLD"
read -r c1_held c1_gone c1_rehome c1_lost c1_late c1_xd <<<"$CR"
# the same forks, the agent restarted under plain SCHED_OTHER
agent_restart --sched other
fork_run other
read -r o_forks o_bn o_b50 o_b99 o_bmean o_bwait o_bwake <<<"$FR"
read -r o_pn o_p50 o_p99 o_pmean o_pwait o_pwake <<<"$PR"
read -r o_bw o_bq o_bh o_pw o_pq o_ph <<<"$ST"
o_policy=$(agent_policy)
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }

echo
printf '  %-46s %10s %10s %10s %10s\n' "fork -> registration" "forks" "p50 <=" "p99 <=" "mean"
printf '  %-46s %10s %10s %10s %10s\n' "----------------------------------------------" "----------" "----------" "----------" "----------"
row() { printf '  %-46s %10s %10s %10s %10s\n' "$1" "$2" "$(show "$3")" "$(show "$4")" "$(show "$5")"; }
row "burst: $STORM forks at once (short-lived)" "$s_bn" "$s_b50" "$s_b99" "$s_bmean"
row "paced: one every 20 ms (workers with sockets)" "$s_pn" "$s_p50" "$s_p99" "$s_pmean"
row "burst, agent SCHED_OTHER (not shipped)" "$o_bn" "$o_b50" "$o_b99" "$o_bmean"
row "paced, agent SCHED_OTHER (not shipped)" "$o_pn" "$o_p50" "$o_p99" "$o_pmean"
echo
printf '  %-46s %10s %10s %10s\n' "mean of its parts" "wake" "queue" "handle"
printf '  %-46s %10s %10s %10s\n' "----------------------------------------------" "----------" "----------" "----------"
part() { printf '  %-46s %10s %10s %10s\n' "$1" "$(show "$2")" "$(show "$3")" "$(show "$4")"; }
part "burst, as shipped" "$s_bw" "$s_bq" "$s_bh"
part "paced, as shipped" "$s_pw" "$s_pq" "$s_ph"
part "burst, SCHED_OTHER" "$o_bw" "$o_bq" "$o_bh"
part "paced, SCHED_OTHER" "$o_pw" "$o_pq" "$o_ph"
echo
printf '  %-46s %16s %16s\n' "worker killed (kill -9), 2-worker app" "no extra" "$HOLD extra"
printf '  %-46s %16s %16s\n' "----------------------------------------------" "----------------" "----------------"
printf '  %-46s %16s %16s\n' "sessions the worker held" "$c0_held" "$c1_held"
printf '  %-46s %16s %16s\n' "gone from \`show workers\` after (polled)" "$(ms "$c0_gone")" "$(ms "$c1_gone")"
printf '  %-46s %16s %16s\n' "exit event -> detached (agent, bucket <=)" "$(show "$c0_xd")" "$(show "$c1_xd")"
printf '  %-46s %16s %16s\n' "its flows answered by the other worker after" "$c0_rehome ms" "$c1_rehome ms"
printf '  %-46s %16s %16s\n' "requests lost from the kill on" "$c0_lost" "$c1_lost"
printf '  %-46s %16s %16s\n' "replies later than 5 ms, whole run" "$c0_late" "$c1_late"
echo
log "p50/p99 are bucket upper bounds of the agent's histogram (mean from its sum); forks: timed registrations"
log "shipped: $SHIPPED ($S_POLICY); not shipped: --sched other ($o_policy)"
log "burst: $s_forks and $o_forks forks registered, $s_bn and $o_bn timed (a child gone already is timed to when the agent found it gone)"
log "parts: wake = fork's kernel timestamp -> agent awake, queue = -> its turn, handle = -> registered (plus the log line)"
log "agent's run-queue wait (schedstat), as shipped: burst $s_bwait (mean $s_bwake per wake-up), paced $s_pwait (mean $s_pwake)"
log "agent's run-queue wait (schedstat), SCHED_OTHER: burst $o_bwait (mean $o_bwake per wake-up), paced $o_pwait (mean $o_pwake)"
log "64 real flows, one request each every 5 ms; a reply later than that counts as lost"
log "the killed worker's sessions are not walked on removal: each is re-homed on its next packet or expires idle"
log "gone: polled over one control connection from kill -9 on; flows: resolution 5 ms (one flow round)"
echo
goal fork_burst_counted "$s_bn" "$STORM" count
goal fork_burst_p99 "$s_b99" 0.001
goal fork_paced_p99 "$s_p99" 0.00025
gone_max=$(( c0_gone > c1_gone ? c0_gone : c1_gone ))
goal kill_to_gone_max "$(awk -v u="$gone_max" 'BEGIN { printf "%.6f", u / 1e6 }')" 0.010
goal exit_to_detach_max "$(awk -v a="$c0_xd" -v b="$c1_xd" 'BEGIN { if (a == "-" || b == "-") print "-"; else if (a == "inf" || b == "inf") print "inf"; else print (a + 0 > b + 0 ? a : b) }')" 0.010
