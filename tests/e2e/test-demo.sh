#!/usr/bin/env bash
# End to end: the demo (scripts/demo.sh) runs, checks its own steps, shows
# what it should, and leaves nothing behind (network namespaces, veth pair,
# cgroups, bpffs pins, processes, temp files), also when interrupted.
# Not on lib.sh: the demo makes its own namespaces, bpffs and agent.
# Prints a "PLAN name..." line, then one "PASS name" / "FAIL name" per test.
set -u
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
OUT=$(mktemp /tmp/xsl-test-demo.XXXXXX)
trap 'rm -f "$OUT"' EXIT

FAILED=0
fail() {
	echo "  # $*"
	FAILED=1
}

# What a finished demo (any demo, not only ours) left behind: its names
# end in the pid of the demo, which is gone once it finished.
leftovers() {
	local f id left=
	for f in /run/netns/xsl-demo-* "$CG2"/xsl-demo-*; do
		[ -e "$f" ] || continue
		id=${f##*-}
		kill -0 "$id" 2>/dev/null || left+=" $f"
	done
	# this demo's own names, processes and temp dir
	id=$(sed -n 's/.*ip netns add xsl-demo-srv-\([0-9]*\);.*/\1/p' "$OUT" | head -1)
	if [ -n "$id" ]; then
		ip link show "xdsrv$id" >/dev/null 2>&1 && left+=" veth xdsrv$id"
		ip link show "xdcli$id" >/dev/null 2>&1 && left+=" veth xdcli$id"
		pgrep -f -- "xsl-demo-$id" >/dev/null && left+=" processes($(pgrep -f -- "xsl-demo-$id"))"
	fi
	f=$(sed -n 's/.*XSL_SOCKET=\(\/tmp\/xsl-demo\.[A-Za-z0-9]*\)\/.*/\1/p' "$OUT" | head -1)
	[ -n "$f" ] && [ -e "$f" ] && left+=" $f"
	echo "$left"
}

# The demo's bpffs is private to its mount namespace; the host's must not change.
host_pins() { find /sys/fs/bpf -mindepth 1 -maxdepth 1 2>/dev/null | sort | tr '\n' ' '; }

test_demo() {
	local rc t0 ms pins left
	pins=$(host_pins)
	t0=$(date +%s%N)
	bash scripts/demo.sh "$BUILD_DIR" >"$OUT" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "  # demo exit $rc after $ms ms, $(wc -l <"$OUT") lines"
	[ "$rc" = 0 ] || fail "demo exited with $rc"
	grep -q '^demo OK' "$OUT" || fail "no 'demo OK' line"
	for cmd in 'xslctl show apps' 'xslctl show workers' 'xslctl show listeners' \
		'xslctl show sessions demo --limit 12' 'kill -USR1 [0-9]+' 'kill -9 [0-9]+' \
		'ip link set dev xdsrv[0-9]+ xdp obj .*xsl_xdp.bpf.o sec xdp' \
		'xslctl run demo -- xsl_testsrv --port 5300 --workers 3'; do
		grep -Eq "^   (srv|host|cli)\\\$ $cmd" "$OUT" || fail "command not shown: $cmd"
	done
	# show workers tables: 4 workers at first, 5 after the fork
	[ "$(grep -Ec '^ +[0-9]+ +demo +[0-9]+ +[0-9]+ +live ' "$OUT")" -ge 17 ] ||
		fail "worker rows missing"
	grep -q '12 of 12 old flows kept their worker' "$OUT" || fail "old flows did not stay"
	grep -Eq '^ +flow 400[0-9]+: [0-9]+ \(killed\) -> [0-9]+' "$OUT" || fail "no re-homed flow"
	grep -Eq 'ok: 12 of 12 answered: [1-9][0-9]* re-homed' "$OUT" || fail "re-homing summary"
	grep -Eq '^ +xsl_workers\{app="demo"\} 4$' "$OUT" || fail "no xsl_workers metric"
	grep -Eq '^ +xsl_worker_registrations_total\{app="demo",cause="fork"\} 4$' "$OUT" ||
		fail "no fork registrations metric"
	grep -Eq '^ +xsl_worker_sessions\{app="demo",' "$OUT" || fail "no xsl_worker_sessions metric"
	[ "$(wc -l <"$OUT")" -le 130 ] || fail "output longer than 130 lines"
	[ "$ms" -le 30000 ] || fail "demo took $ms ms"
	left=$(leftovers)
	[ -z "$left" ] || fail "left behind:$left"
	[ "$(host_pins)" = "$pins" ] || fail "host bpffs changed: $pins -> $(host_pins)"
}

# Ctrl-C in the middle: the demo says so, exits 130 and still cleans up.
test_demo_interrupted() {
	local pid rc left
	# Job control: the demo gets its own process group, as a terminal's
	# foreground job does, and SIGINT is not ignored in it (an async
	# command of a script without job control would ignore it for good).
	set -m
	bash scripts/demo.sh "$BUILD_DIR" >"$OUT" 2>&1 &
	pid=$!
	set +m
	for _ in $(seq 300); do
		grep -q '^== 3\.' "$OUT" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^== 3\.' "$OUT" || fail "demo did not reach step 3"
	kill -INT -- "-$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	[ "$rc" = 130 ] || fail "interrupted demo exited with $rc"
	grep -q 'interrupted, cleaning up' "$OUT" || fail "no interruption message"
	left=$(leftovers)
	[ -z "$left" ] || fail "left behind:$left"
}

ALL_TESTS="test_demo test_demo_interrupted"
echo "PLAN $ALL_TESTS"
for t in $ALL_TESTS; do
	FAILED=0
	: >"$OUT"
	"$t"
	if [ "$FAILED" = 0 ]; then
		echo "PASS $t"
	else
		sed 's/^/  #   /' "$OUT" | tail -40
		echo "FAIL $t"
	fi
done
