#!/usr/bin/env bash
# Shared harness of the shell benchmarks (sourced by tests/bench/bench-*.sh).
#
# The benchmark re-runs itself in a private mount namespace with its own
# bpffs, so the pinned maps it makes are its own. Network "pairs" are two
# namespaces joined by a veth pair (srv 10.201.N.1, cli 10.201.N.2), named
# after the benchmark's pid so several can run at once. An agent (at most
# one at a time: the pin root is shared) runs in a pair's srv namespace.
# Everything made is removed on exit, also on failure or Ctrl-C.
# Results are printed as tables; the exit status is non-zero only when the
# benchmark could not run.

set -u
BENCH_BUILD=${1:-build}
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$BENCH_ROOT/$BENCH_BUILD"
XSLCTL="$BUILD/xslctl"
AGENT="$BUILD/xsl-agent"
TESTSRV="$BUILD/tests/helpers/xsl_testsrv"
FLOWCLIENT="$BUILD/tests/helpers/xsl_flowclient"
UDPBLAST="$BUILD/tests/helpers/xsl_udpblast"
SESSFILL="$BUILD/tests/helpers/xsl_sessfill"
XDP_OBJ="$BUILD/xsl_xdp.bpf.o"
PIN="/sys/fs/bpf/tc/globals"
PORT=5400

if [ -z "${XSL_BENCH_INNER:-}" ]; then
	exec unshare -m env XSL_BENCH_INNER=1 bash "$0" "$@"
fi
. "$BENCH_ROOT/scripts/ns-lib.sh"
xsl_ns_setup || { echo "bench: cannot set up private mounts (bpffs, cgroup2)" >&2; exit 1; }

B_ID=$$
B_PIDS=()
B_PAIRS=()
B_TMP=$(mktemp -d /tmp/xsl-bench.XXXXXX)
SOCK="/run/xsl-bench-$B_ID.sock"
CGROOT="$CG2/xsl-bench-$B_ID"
AGENT_LOG="$B_TMP/agent.log"
METRICS_PORT=${XSL_BENCH_METRICS_PORT:-19477}
AGENT_PAIR=

log() { echo "  # $*"; }
die() {
	echo "bench: $*" >&2
	exit 1
}

srv_ns() { echo "xslb-srv-$B_ID-$1"; }
cli_ns() { echo "xslb-cli-$B_ID-$1"; }
srv_if() { echo "xbs$((B_ID % 10000))p$1"; }
srv_ip() { echo "10.201.$1.1"; }
cli_ip() { echo "10.201.$1.2"; }
in_srv() {
	local n=$1
	shift
	nsenter --net="/run/netns/$(srv_ns "$n")" "$@"
}
in_cli() {
	local n=$1
	shift
	nsenter --net="/run/netns/$(cli_ns "$n")" "$@"
}
ctl() { in_srv "$AGENT_PAIR" "$XSLCTL" --socket "$SOCK" "$@"; }

# Makes pair N (1..250).
pair_up() {
	local n=$1 s c si ci
	s=$(srv_ns "$n")
	c=$(cli_ns "$n")
	si=$(srv_if "$n")
	ci="xbc$((B_ID % 10000))p$n"
	B_PAIRS+=("$n")
	ip netns add "$s" && ip netns add "$c" &&
		ip link add "$si" type veth peer name "$ci" &&
		ip link set "$si" netns "$s" && ip link set "$ci" netns "$c" &&
		ip -n "$s" addr add "$(srv_ip "$n")/24" dev "$si" &&
		ip -n "$c" addr add "$(cli_ip "$n")/24" dev "$ci" &&
		ip -n "$s" link set "$si" up && ip -n "$c" link set "$ci" up &&
		ip -n "$s" link set lo up && ip -n "$c" link set lo up ||
		die "cannot make network pair $n"
}

# Removes pair N and every process still in its namespaces.
pair_down() {
	local n=$1 p
	for p in $(ip netns pids "$(srv_ns "$n")" 2>/dev/null) \
		$(ip netns pids "$(cli_ns "$n")" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$(srv_ns "$n")" 2>/dev/null
	ip netns del "$(cli_ns "$n")" 2>/dev/null
}

# Starts a command in the background and remembers it for cleanup.
bg() {
	"$@" &
	BG_PID=$!
	B_PIDS+=("$BG_PID")
}

# Starts the agent in pair N's srv namespace and waits for its socket.
agent_start() {
	AGENT_PAIR=$1
	shift
	bg in_srv "$AGENT_PAIR" "$AGENT" --pin-root "$PIN" --socket "$SOCK" \
		--cgroup-root "$CGROOT" --metrics "127.0.0.1:$METRICS_PORT" --log-level warn "$@" \
		>>"$AGENT_LOG" 2>&1
	AGENT_PID=$BG_PID
	wait_for 500 '[ -S "$SOCK" ] && ctl show apps' && return 0
	tail -20 "$AGENT_LOG" >&2
	die "agent did not start"
}

xdp_on() {
	in_srv "$1" ip link set dev "$(srv_if "$1")" xdp obj "$XDP_OBJ" sec xdp ||
		die "cannot attach XDP to $(srv_if "$1")"
}

# Sockets bound to PORT in pair N's srv namespace: UDP ones (ua), listening
# TCP ones (tl).
bound() { in_srv "$1" ss -H"$2" "sport = :$PORT" | wc -l; }
# UDP datagrams received in pair N's cli namespace so far (the replies).
cli_udp_in() { in_cli "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $2; exit }' /proc/net/snmp; }

# Starts the test server in pair N, directly (plain SO_REUSEPORT) or, with
# APP set, through `xslctl run APP`; sets MASTER and SRV_OUT and waits for
# the master and its initial workers (not for their registration; started
# directly, until each has bound its sockets).
server_start() {
	local n=$1 workers=$2 app=$3
	shift 3
	SRV_OUT="$B_TMP/srv-$n-$app.out"
	if [ "$app" = - ]; then
		bg in_srv "$n" "$TESTSRV" --port $PORT --workers "$workers" "$@" >"$SRV_OUT" 2>&1
	else
		bg in_srv "$n" "$XSLCTL" --socket "$SOCK" run "$app" -- "$TESTSRV" --port $PORT \
			--workers "$workers" "$@" >"$SRV_OUT" 2>&1
	fi
	wait_for 500 '[ "$(grep -c "^worker" "$SRV_OUT")" -ge "$workers" ]' ||
		die "test server in pair $n did not start: $(head -5 "$SRV_OUT")"
	[ "$app" != - ] || wait_for 500 '[ "$(bound "$n" ua)" -ge "$workers" ] && [ "$(bound "$n" tl)" -ge "$workers" ]' ||
		die "test server in pair $n: $(bound "$n" ua) UDP, $(bound "$n" tl) TCP of $workers workers bound"
	MASTER=$(awk '/^master/ { print $2 }' "$SRV_OUT")
}

# Workers of the UDP (or TCP) listener on PORT as the agent has them.
listener_workers() {
	ctl --json show listeners 2>/dev/null |
		jq "[.listeners[] | select(.proto == \"$1\" and .port == $PORT)] | .[0].workers // 0"
}

worker_pids() { ctl --json show workers "$1" | jq -r '.workers[].pid'; }

# Prints the median of the numbers on stdin (one per line).
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print 0; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Value after KEY on a "key value key value" line.
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }

# Percentage a/b with one decimal, "-" when b is 0.
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else printf "-" }'; }

agent_stop() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

bench_cleanup() {
	local p n
	for p in "${B_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${B_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	B_PIDS=()
	for n in "${B_PAIRS[@]}"; do
		pair_down "$n"
	done
	cgroup_destroy "$CGROOT" || echo "bench: could not remove $CGROOT" >&2
	rm -f "$SOCK"
	find /sys/fs/bpf -mindepth 1 -delete 2>/dev/null
	rm -rf "$B_TMP"
}

trap 'bench_cleanup' EXIT
trap 'exit 130' INT TERM

for bin in "$XSLCTL" "$AGENT" "$TESTSRV" "$FLOWCLIENT" "$UDPBLAST" "$SESSFILL" "$XDP_OBJ"; do
	[ -e "$bin" ] || die "$bin is missing (make all and the helpers first)"
done
