#!/usr/bin/env bash
# Shared harness of the end-to-end tests (sourced by tests/e2e/test-*.sh).
#
# A test file lists its tests in ALL_TESTS and calls e2e_main. The file then
# runs in its own mount namespace with a private bpffs, and every test gets
# fresh state: two network namespaces joined by a veth pair (srv 10.X.0.1,
# cli 10.X.0.2, and fdXX::1/2), an app cgroup root below the host's cgroup2
# mount, an agent in the srv namespace on its own socket, pin root and
# metrics port. Whatever a test makes is removed after it, pass or fail.
# The file first prints "PLAN name..." (the tests it is about to run), then
# each test one "PASS name" or "FAIL name" line (tests/run.sh counts, and
# fails a planned test that printed neither).

set -u
E2E_BUILD=${1:-build}
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$E2E_ROOT/$E2E_BUILD"
XSLCTL="$BUILD/xslctl"
AGENT="$BUILD/xsl-agent"
TESTSRV="$BUILD/tests/helpers/xsl_testsrv"
UDPCLIENT="$BUILD/tests/helpers/xsl_udpclient"

# Re-run this file inside a private mount namespace (bpffs, /run/netns).
if [ -z "${XSL_E2E_INNER:-}" ]; then
	exec unshare -m env XSL_E2E_INNER=1 bash "$0" "$@"
fi
. "$E2E_ROOT/scripts/ns-lib.sh"
xsl_ns_setup || { echo "FAIL private-mounts (bpffs, cgroup2)"; exit 1; }

E2E_ID=$$
E2E_N=0
E2E_PIDS=()

log() { echo "  # $*"; }

# Per-test names and addresses.
e2e_names() {
	E2E_N=$((E2E_N + 1))
	local tag="$E2E_ID-$E2E_N"
	SRV_NS="xsl-srv-$tag"
	CLI_NS="xsl-cli-$tag"
	SRV_IF="xs$((E2E_ID % 10000))n$E2E_N"
	CLI_IF="xc$((E2E_ID % 10000))n$E2E_N"
	NET=$(((E2E_ID + E2E_N) % 200 + 20))
	SRV_IP="10.$NET.0.1"
	CLI_IP="10.$NET.0.2"
	SRV_IP6="fd00:$NET::1"
	CLI_IP6="fd00:$NET::2"
	PIN="/sys/fs/bpf/tc/globals"
	SOCK="/run/xsl-e2e-$tag.sock"
	CGROOT="$CG2/xsl-e2e-$tag"
	METRICS_PORT=$((19000 + (E2E_ID + E2E_N) % 1000))
	E2E_TMP=$(mktemp -d "/tmp/xsl-e2e-$tag.XXXXXX")
	AGENT_LOG="$E2E_TMP/agent.log"
}

in_srv() { nsenter --net="/run/netns/$SRV_NS" "$@"; }
in_cli() { nsenter --net="/run/netns/$CLI_NS" "$@"; }
ctl() { in_srv "$XSLCTL" --socket "$SOCK" "$@"; }

e2e_net_up() {
	ip netns add "$SRV_NS" && ip netns add "$CLI_NS" &&
		ip link add "$SRV_IF" type veth peer name "$CLI_IF" &&
		ip link set "$SRV_IF" netns "$SRV_NS" && ip link set "$CLI_IF" netns "$CLI_NS" &&
		ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF" &&
		ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF" &&
		ip -n "$SRV_NS" addr add "$SRV_IP6/64" dev "$SRV_IF" nodad &&
		ip -n "$CLI_NS" addr add "$CLI_IP6/64" dev "$CLI_IF" nodad &&
		ip -n "$SRV_NS" link set "$SRV_IF" up && ip -n "$CLI_NS" link set "$CLI_IF" up &&
		ip -n "$SRV_NS" link set lo up && ip -n "$CLI_NS" link set lo up
}

# Starts the agent in the srv namespace; waits for its socket. Not through
# in_srv: a function run in the background is a subshell, and AGENT_PID must
# be the agent itself (nsenter execs it) for tests that signal it.
agent_start() {
	nsenter --net="/run/netns/$SRV_NS" "$AGENT" --pin-root "$PIN" --socket "$SOCK" --cgroup-root "$CGROOT" \
		--metrics "127.0.0.1:$METRICS_PORT" --reconcile-ms 200 "$@" >>"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	E2E_PIDS+=("$AGENT_PID")
	# up to 15 s: a loaded machine or a sanitizer build starts slowly
	for _ in $(seq 300); do
		[ -S "$SOCK" ] && ctl show apps >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "  # agent did not start; log:"
	sed 's/^/  #   /' "$AGENT_LOG" | tail -20
	return 1
}

e2e_cleanup() {
	local p
	for p in "${E2E_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${E2E_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	E2E_PIDS=()
	# anything a test left running in its namespaces
	for p in $(ip netns pids "$SRV_NS" 2>/dev/null) $(ip netns pids "$CLI_NS" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	cgroup_destroy "$CGROOT" || echo "  # could not remove $CGROOT"
	ip netns del "$SRV_NS" 2>/dev/null
	ip netns del "$CLI_NS" 2>/dev/null
	rm -f "$SOCK"
	rm -rf /sys/fs/bpf/tc /sys/fs/bpf/xdp /sys/fs/bpf/ip 2>/dev/null
	find /sys/fs/bpf -mindepth 1 -delete 2>/dev/null
	rm -rf "$E2E_TMP"
}

trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM

# Starts a command in the background and remembers it for cleanup.
bg() {
	"$@" &
	E2E_PIDS+=("$!")
	BG_PID=$!
}

# Reports a failed check; the test fails even if it goes on afterwards.
fail() {
	echo "  # $*"
	E2E_FAILED=1
	return 1
}

# Lines of the first code block after the README heading $1, as written.
readme_block() {
	awk -v h="$1" '
		$0 == h { found = 1; next }
		found && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$E2E_ROOT/README.md"
}

e2e_main() {
	local t only=${XSL_E2E_ONLY:-} ran=0
	echo "PLAN $(echo ${only:-$ALL_TESTS})"
	for t in $ALL_TESTS; do
		[ -n "$only" ] && [ "$only" != "$t" ] && continue
		ran=$((ran + 1))
		# left out on purpose (e.g. by the sanitizer pass): shown, counted
		case " ${XSL_E2E_EXCLUDE:-} " in *" $t "*)
			echo "SKIP $t (${XSL_E2E_EXCLUDE_WHY:-in XSL_E2E_EXCLUDE})"
			continue ;;
		esac
		e2e_names
		if ! e2e_net_up; then
			echo "FAIL $t (network setup)"
			e2e_cleanup
			continue
		fi
		E2E_FAILED=0
		# E2E_NO_AGENT: the file's tests start their own
		if { [ -n "${E2E_NO_AGENT:-}" ] || agent_start; } && "$t" && [ "$E2E_FAILED" = 0 ]; then
			echo "PASS $t"
		else
			echo "  # agent log (tail):"
			tail -15 "$AGENT_LOG" 2>/dev/null | sed 's/^/  #   /'
			echo "FAIL $t"
		fi
		e2e_cleanup
	done
	# a misspelt XSL_E2E_ONLY must not pass with nothing run
	[ "$ran" -gt 0 ] || echo "FAIL ${only:-$0} (no such test in $(basename "$0"))"
}
