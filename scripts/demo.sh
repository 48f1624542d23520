#!/usr/bin/env bash
# The xsl demo (`make demo`): a forking UDP+TCP server under xsl, traffic
# from a peer network namespace, and what a newcomer should see: the app,
# its workers and listeners, flows sticking to their worker, a new worker
# forked and registered, a worker killed and its flows re-homed, /metrics.
#
# Usage (as root, after make and the helper binaries):
#   bash scripts/demo.sh [BUILD_DIR]      (default build)
# Everything it makes (network namespaces, veth pair, bpffs pins, cgroups,
# processes, temp files) is removed when it ends, also on Ctrl-C. Every step
# checks what it shows: exit status 0 when all held, 1 when one did not.
# shellcheck disable=SC2016 # wait_for's conditions are evaluated later, on purpose
set -u

DEMO_BUILD=${1:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case $DEMO_BUILD in
/*) BUILD=$DEMO_BUILD ;;
*) BUILD="$ROOT/$DEMO_BUILD" ;;
esac

if [ -z "${XSL_DEMO_INNER:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }
	for f in xsl-agent xslctl xsl_xdp.bpf.o tests/helpers/xsl_testsrv; do
		[ -e "$BUILD/$f" ] || { echo "demo: $BUILD/$f missing; run make demo" >&2; exit 1; }
	done
	for t in unshare nsenter ip socat curl jq; do
		command -v "$t" >/dev/null || { echo "demo: $t missing; run make deps" >&2; exit 1; }
	done
	# A private mount namespace: our own bpffs and /run/netns mounts,
	# which go away with us whatever happens.
	exec unshare -m env XSL_DEMO_INNER=1 bash "$0" "$@"
fi

. "$ROOT/scripts/ns-lib.sh"
xsl_ns_setup || { echo "demo: cannot set up private mounts (bpffs, cgroup2)" >&2; exit 1; }

T0=$(date +%s%N)
ID=$$
SRV_NS="xsl-demo-srv-$ID"
CLI_NS="xsl-demo-cli-$ID"
SRV_IF="xdsrv$ID"
CLI_IF="xdcli$ID"
SRV_IP=10.77.0.1
CLI_IP=10.77.0.2
PORT=5300
APP=demo
TMP=$(mktemp -d /tmp/xsl-demo.XXXXXX)
CGROOT="$CG2/xsl-demo-$ID"
AGENT_LOG="$TMP/agent.log"
SRV_OUT="$TMP/server.out"
export XSL_SOCKET="$TMP/xsl.sock"
export PATH="$BUILD:$BUILD/tests/helpers:$PATH"
PIDS=()
AGENT_PID=

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[36m' N=$'\e[0m'
else
	B='' D='' N=''
fi

# ---- output ------------------------------------------------------------

step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '   %s\n' "$@"; }
ok() { printf '   ok: %s\n' "$*"; }
indent() { sed 's/^/     /'; }
# A command as it is run, with where it runs as the prompt; more TEXT
# arguments are its continuation lines.
show() { # host|srv|cli TEXT...
	local where=$1 text=$2
	shift 2
	printf '   %s%s$ %s%s\n' "$D" "$where" "$text" "$N"
	for text in "$@"; do
		printf '   %s        %s%s\n' "$D" "$text" "$N"
	done
}
srv() { nsenter --net="/run/netns/$SRV_NS" "$@"; }
cli() { nsenter --net="/run/netns/$CLI_NS" "$@"; }
run_srv() { show srv "$*"; srv "$@" 2>&1 | indent; return "${PIPESTATUS[0]}"; }
# The same with a comment after the command.
run_srv_note() { # NOTE CMD...
	local note=$1
	shift
	show srv "$*    # $note"
	srv "$@" 2>&1 | indent
	return "${PIPESTATUS[0]}"
}

# Prints items in COLS columns, column by column, each WIDTH wide.
grid() { # COLS WIDTH ITEM...
	local cols=$1 width=$2 rows r c i
	shift 2
	rows=$((($# + cols - 1) / cols))
	for ((r = 0; r < rows; r++)); do
		printf '     '
		for ((c = 0; c < cols; c++)); do
			i=$((c * rows + r + 1))
			[ "$i" -le $# ] && printf "%-${width}s" "${!i}"
		done
		printf '\n'
	done | sed 's/ *$//'
}

# ^C reaches the agent too (one process group). bash runs its INT trap only
# once the command it waits for has died of the signal: one that had just
# ended by itself hides the ^C from it, and the step then fails on the
# stopped agent. That failure is the interruption, and is told as one.
interrupted_agent() {
	[ -n "$AGENT_PID" ] && grep -q 'info: signal 2: shutting down' "$AGENT_LOG" 2>/dev/null
}

fail() {
	if interrupted_agent; then
		printf '\ndemo: interrupted, cleaning up\n' >&3
		exit 130
	fi
	printf '\n%sdemo FAILED: %s%s\n' "$B" "$*" "$N"
	if [ -s "$AGENT_LOG" ]; then
		echo "   agent log (last 20 lines):"
		tail -20 "$AGENT_LOG" | indent
	fi
	if [ -s "$SRV_OUT" ]; then
		echo "   server output:"
		indent <"$SRV_OUT"
	fi
	exit 1
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- clean-up ----------------------------------------------------------

any_alive() { # PID...
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

# Idempotent: the EXIT trap runs it again after the last step ran it.
cleanup() {
	local p
	trap '' INT TERM HUP	# a second ^C must not cut the clean-up short
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	# SIGTERM first (the agent exits cleanly on it); SIGKILL after 2 s
	for _ in $(seq 100); do
		any_alive "${PIDS[@]}" || break
		sleep 0.02
	done
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
	for p in $(ip netns pids "$SRV_NS" 2>/dev/null) $(ip netns pids "$CLI_NS" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	cgroup_destroy "$CGROOT"
	# deleting the namespaces deletes the veth pair and its XDP program
	[ -e "/run/netns/$SRV_NS" ] && ip netns del "$SRV_NS"
	[ -e "/run/netns/$CLI_NS" ] && ip netns del "$CLI_NS"
	find /sys/fs/bpf -mindepth 1 ! -name '*.debug' -delete 2>/dev/null
	rm -rf "$TMP"
}
# fd 3: the demo's stdout, for the trap, which may run while a command
# (wait_for's) has its stdout on /dev/null
exec 3>&1
trap cleanup EXIT
trap 'printf "\ndemo: interrupted, cleaning up\n" >&3; exit 130' INT TERM HUP

# ---- helpers -----------------------------------------------------------

workers_json() { srv xslctl --json show workers "$APP" 2>/dev/null; }
n_workers() { workers_json | jq '.workers | length'; }
worker_pids() { workers_json | jq -r '.workers[].pid' | sort -n | tr '\n' ' '; }
listener_workers() { # udp|tcp
	srv xslctl --json show listeners |
		jq --arg p "$1" '[.listeners[] | select(.proto == $p)] | .[0].workers // 0'
}
server_workers() { awk '/^worker/ { print $2 }' "$SRV_OUT"; }

# One UDP datagram from client source port P; prints the pid that answered.
udp_send() { # P TIMEOUT
	nsenter --net="/run/netns/$CLI_NS" socat -t "$2" - \
		"UDP4:$SRV_IP:$PORT,sourceport=$1,reuseaddr" <<<hi 2>/dev/null |
		awk '/^pid/ { print $2; exit }'
}

# One datagram from each client source port (a flow is its source port),
# all at once; sets REPLY_OF[port] to the pid that answered, "-" when none
# did. A flow left unanswered is tried once more (same port: same flow), so
# a datagram lost on a busy machine does not fail the demo.
declare -A REPLY_OF
udp_round() { # PORT...
	local p pids=()
	for p in "$@"; do
		udp_send "$p" 0.3 >"$TMP/flow.$p" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for p in "$@"; do
		REPLY_OF[$p]=$(cat "$TMP/flow.$p")
		[ -n "${REPLY_OF[$p]}" ] || REPLY_OF[$p]=$(udp_send "$p" 1)
		[ -n "${REPLY_OF[$p]}" ] || REPLY_OF[$p]=-
	done
}

# ---- 0. set-up ---------------------------------------------------------

echo "${B}xsl demo${N}: an eBPF/XDP session layer keeps each client flow on the worker"
echo "process that first served it, while the server's workers come and go."
say "Prompts say where a command runs: host, srv (the server namespace, entered" \
	"with nsenter --net=/run/netns/$SRV_NS) or cli (the client's)."

step "0. Set-up: two network namespaces joined by a veth pair, the agent, XDP"
show host "ip netns add $SRV_NS; ip netns add $CLI_NS"
show host "ip link add $SRV_IF netns $SRV_NS type veth \\" \
	"peer name $CLI_IF netns $CLI_NS    # + $SRV_IP/24, $CLI_IP/24, up"
ip netns add "$SRV_NS" && ip netns add "$CLI_NS" &&
	ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS" &&
	ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF" &&
	ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF" &&
	ip -n "$SRV_NS" link set "$SRV_IF" up && ip -n "$CLI_NS" link set "$CLI_IF" up &&
	ip -n "$SRV_NS" link set lo up && ip -n "$CLI_NS" link set lo up ||
	fail "network namespaces and veth pair"

show host "export PATH=$DEMO_BUILD:$DEMO_BUILD/tests/helpers:\$PATH XSL_SOCKET=$XSL_SOCKET"
show srv "xsl-agent --socket \$XSL_SOCKET --gc-ms 200 \\" \
	"--cgroup-root $CGROOT >agent.log 2>&1 &"
# nsenter execs the agent: $! is its pid (a function here would be a subshell's)
nsenter --net="/run/netns/$SRV_NS" xsl-agent --socket "$XSL_SOCKET" --gc-ms 200 \
	--cgroup-root "$CGROOT" >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_for 500 'srv xslctl show apps' || fail "the agent did not start"

show srv "ip link set dev $SRV_IF xdp obj $DEMO_BUILD/xsl_xdp.bpf.o sec xdp"
srv ip link set dev "$SRV_IF" xdp obj "$BUILD/xsl_xdp.bpf.o" sec xdp 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "XDP attach on $SRV_IF"
ok "agent running (pid $AGENT_PID, metrics on 127.0.0.1:9477), XDP on $SRV_IF"

# ---- 1. the app --------------------------------------------------------

step "1. An app: a forking UDP+TCP server started through xslctl run"
say "Its master and every process it forks become the app's workers."
show srv "xslctl run $APP -- xsl_testsrv --port $PORT --workers 3 &"
nsenter --net="/run/netns/$SRV_NS" xslctl run "$APP" -- xsl_testsrv --port "$PORT" \
	--workers 3 >"$SRV_OUT" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
wait_for 500 '[ "$(server_workers | wc -l)" -ge 3 ]' || fail "the server did not start 3 workers"
MASTER=$(awk '/^master/ { print $2 }' "$SRV_OUT")
wait_for 500 '[ "$(n_workers)" -eq 4 ]' || fail "master + 3 workers not registered"
wait_for 500 '[ "$(listener_workers udp)" -eq 3 ] && [ "$(listener_workers tcp)" -eq 3 ]' ||
	fail "listeners do not have 3 worker sockets each"
[ "$(worker_pids)" = "$({ echo "$MASTER"; server_workers; } | sort -n | tr '\n' ' ')" ] ||
	fail "registered pids $(worker_pids) differ from the server's"
run_srv xslctl show apps || fail "show apps"
say "Workers: the master (pid $MASTER, binds nothing) and its 3 children:"
run_srv xslctl show workers || fail "show workers"
run_srv_note "each child bound UDP and TCP *:$PORT (SO_REUSEPORT)" xslctl show listeners ||
	fail "show listeners"

# ---- 2. traffic --------------------------------------------------------

step "2. Traffic: 12 UDP flows x 3 rounds from the client namespace"
say "A flow is one client source port; each worker answers \"pid <its pid>\"."
mapfile -t OLD < <(seq 40001 40012)
show cli "echo hi | socat - UDP4:$SRV_IP:$PORT,sourceport=40001    # ... 40012"
declare -A FIRST ROW
moved=0
for r in 1 2 3; do
	udp_round "${OLD[@]}"
	for p in "${OLD[@]}"; do
		[ "${REPLY_OF[$p]}" != - ] || fail "flow $p got no reply in round $r"
		if [ "$r" = 1 ]; then
			FIRST[$p]=${REPLY_OF[$p]}
			ROW[$p]="$p  ${REPLY_OF[$p]}"
		else
			ROW[$p]+=" ${REPLY_OF[$p]}"
			[ "${REPLY_OF[$p]}" = "${FIRST[$p]}" ] || moved=$((moved + 1))
		fi
	done
done
say "flow   answered by (rounds 1 2 3)"
cells=()
for p in "${OLD[@]}"; do
	cells+=("${ROW[$p]}")
done
grid 3 28 "${cells[@]}"
[ "$moved" = 0 ] || fail "$moved replies came from another worker than round 1's"
ok "36 of 36 datagrams answered; every flow stayed on one worker"
run_srv_note "the sessions XDP made, one per flow" xslctl show sessions "$APP" --limit 12 ||
	fail "show sessions"
[ "$(srv xslctl --json show sessions "$APP" --limit 1 | jq .total)" -ge 12 ] ||
	fail "fewer than 12 sessions"
# show workers counts sessions at the GC pass (every 200 ms here)
wait_for 300 '[ "$(workers_json | jq "[.workers[].sessions] | add")" -ge 12 ]' ||
	fail "show workers does not count the 12 sessions"
run_srv_note "sessions per worker (counted by the GC pass)" xslctl show workers "$APP" ||
	fail "show workers"
tcp=
for _ in 1 2 3; do
	r=$(cli socat -t 1 - "TCP4:$SRV_IP:$PORT" </dev/null 2>/dev/null | awk '/^pid/ { print $2 }')
	[ -n "$r" ] || fail "TCP connection to $SRV_IP:$PORT not answered"
	tcp+=" $r"
done
ok "TCP too: 3 connections (socat - TCP4:$SRV_IP:$PORT) answered by pids$tcp"

# ---- 3. a new worker ---------------------------------------------------

step "3. A new worker: SIGUSR1 makes the master fork one more"
say "The agent sees the fork (a BPF tracepoint) and registers the child."
show srv "kill -USR1 $MASTER"
t0=$(date +%s%N)
kill -USR1 "$MASTER"
wait_for 500 '[ "$(server_workers | wc -l)" -ge 4 ]' || fail "the master did not fork"
NEW=$(server_workers | sed -n 4p)
wait_for 500 'worker_pids | grep -qw "$NEW"' || fail "new worker $NEW not registered"
dt=$(ms_since "$t0")
wait_for 500 '[ "$(listener_workers udp)" -eq 4 ]' || fail "new worker's socket not adopted"
run_srv xslctl show workers "$APP" || fail "show workers"
ok "new worker $NEW registered; seen by xslctl ${dt} ms after the signal"
say "The 12 old flows again (port: worker before -> now):"
udp_round "${OLD[@]}"
kept=0
cells=()
for p in "${OLD[@]}"; do
	[ "${REPLY_OF[$p]}" = "${FIRST[$p]}" ] && kept=$((kept + 1))
	cells+=("$p: ${FIRST[$p]} -> ${REPLY_OF[$p]}")
done
grid 4 23 "${cells[@]}"
[ "$kept" = 12 ] || fail "only $kept of 12 old flows kept their worker"
ok "12 of 12 old flows kept their worker (SO_REUSEPORT alone would re-hash many)"
mapfile -t NEWF < <(seq 40013 40036)
udp_round "${NEWF[@]}"
declare -A PER
for p in "${NEWF[@]}"; do
	[ "${REPLY_OF[$p]}" != - ] || fail "new flow $p got no reply"
	PER[${REPLY_OF[$p]}]=$((${PER[${REPLY_OF[$p]}]:-0} + 1))
done
line=
for w in $(server_workers); do
	line+="  $w: ${PER[$w]:-0}"
	[ "$w" = "$NEW" ] && line+=" (new)"
done
ok "24 new flows (40013..40036) per worker:$line"

# ---- 4. a worker dies --------------------------------------------------

# The victim: the first three workers' one that served most old flows.
VICTIM=
best=0
for w in $(server_workers | head -3); do
	n=0
	for p in "${OLD[@]}"; do
		[ "${FIRST[$p]}" = "$w" ] && n=$((n + 1))
	done
	[ "$n" -gt "$best" ] && { best=$n; VICTIM=$w; }
done
[ -n "$VICTIM" ] || fail "no worker served the old flows"
step "4. A worker dies: kill -9, and its flows are re-homed"
say "Worker $VICTIM served $best of the 12 old flows. The agent drops it from the" \
	"app; XDP moves each of its sessions to a live worker on its next packet."
show srv "kill -9 $VICTIM"
t0=$(date +%s%N)
kill -9 "$VICTIM"
wait_for 500 '! worker_pids | grep -qw "$VICTIM"' || fail "killed worker $VICTIM still listed"
dt=$(ms_since "$t0")
run_srv xslctl show workers "$APP" || fail "show workers"
ok "worker $VICTIM detached; seen by xslctl ${dt} ms after kill -9"
say "The 12 old flows again: all answered; the killed worker's flows moved:"
udp_round "${OLD[@]}"
declare -A AFTER
rehomed=0
cells=()
for p in "${OLD[@]}"; do
	AFTER[$p]=${REPLY_OF[$p]}
	[ "${AFTER[$p]}" != - ] || fail "flow $p got no reply after the kill"
	if [ "${FIRST[$p]}" = "$VICTIM" ]; then
		[ "${AFTER[$p]}" != "$VICTIM" ] || fail "flow $p still answered by dead $VICTIM"
		cells+=("flow $p: $VICTIM (killed) -> ${AFTER[$p]}")
		rehomed=$((rehomed + 1))
	else
		[ "${AFTER[$p]}" = "${FIRST[$p]}" ] ||
			fail "flow $p moved from live worker ${FIRST[$p]} to ${AFTER[$p]}"
	fi
done
grid 2 40 "${cells[@]}"
udp_round "${OLD[@]}"
for p in "${OLD[@]}"; do
	[ "${REPLY_OF[$p]}" = "${AFTER[$p]}" ] || fail "re-homed flow $p moved again"
done
ok "12 of 12 answered: $rehomed re-homed (and they stay there), $((12 - rehomed)) kept their worker"

# ---- 5. metrics --------------------------------------------------------

step "5. Metrics: the agent serves Prometheus text on /metrics (a few families)"
PATTERN='^xsl_(workers|sessions|sessions_reassigned_total|worker_sessions)\{|cause="(fork|exit)"'
show srv "curl -s 127.0.0.1:9477/metrics |" "grep -E '$PATTERN'"
M=$(srv curl -sf 127.0.0.1:9477/metrics) || fail "curl 127.0.0.1:9477/metrics"
grep -E "$PATTERN" <<<"$M" | indent
metric() { awk -v k="$1" '$1 == k { print $2; exit }' <<<"$M"; }
[ "$(metric "xsl_workers{app=\"$APP\"}")" = 4 ] || fail "xsl_workers is not 4"
[ "$(metric "xsl_worker_registrations_total{app=\"$APP\",cause=\"fork\"}")" -ge 4 ] ||
	fail "xsl_worker_registrations_total fork < 4"
[ "$(metric "xsl_worker_detaches_total{app=\"$APP\",cause=\"exit\"}")" -ge 1 ] ||
	fail "xsl_worker_detaches_total exit < 1"
[ "$(metric "xsl_sessions_reassigned_total{app=\"$APP\"}")" -ge "$rehomed" ] ||
	fail "xsl_sessions_reassigned_total < $rehomed"
ok "4 workers; 4 forks and 1 exit counted; the $rehomed re-homed sessions counted"

# ---- 6. the end --------------------------------------------------------

step "6. The end: stop the server; the agent frees the app; clean up"
show srv "kill -TERM $MASTER    # the master stops its workers and exits"
kill -TERM "$MASTER"
wait "$RUN_PID" || fail "xslctl run exited with status $?"
PIDS=("$AGENT_PID")
wait_for 500 '[ "$(srv xslctl --json show apps | jq ".apps | length")" = 0 ]' ||
	fail "app $APP not freed"
run_srv xslctl show apps || fail "show apps"
wait_for 500 '[ ! -d "$CGROOT/$APP" ]' || fail "cgroup $CGROOT/$APP not removed"
cleanup
left=
[ -e "/run/netns/$SRV_NS" ] || [ -e "/run/netns/$CLI_NS" ] && left+=" namespaces"
[ -d "$CGROOT" ] && left+=" $CGROOT"
[ -n "$(find /sys/fs/bpf -mindepth 1 ! -name '*.debug')" ] && left+=" bpffs-pins"
kill -0 "$AGENT_PID" 2>/dev/null && left+=" agent"
[ -z "$left" ] || fail "left behind:$left"
ok "app freed; agent stopped; namespaces, veth pair, pins, cgroups removed"
echo
echo "${B}demo OK${N} in $(ms_since "$T0") ms"
