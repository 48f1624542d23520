#!/usr/bin/env bash
# Runs a test command N times in a row beside two CPU hogs, as on a busy
# machine; the hogs stop on any exit. Ends with the last run's summary and a
# line saying how many runs passed; exit 1 at the first failing run.
# Usage: tests/stress.sh N COMMAND...   (make test-stress: N=3, make test)
set -u
runs=$1
shift
hogs=()
stop_hogs() {
	[ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2>/dev/null
	wait "${hogs[@]}" 2>/dev/null
	hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for _ in 1 2; do
	yes >/dev/null &
	hogs+=("$!")
done
echo "stress: ${#hogs[@]} CPU hogs (pids ${hogs[*]}) beside $runs runs of: $*"
for i in $(seq "$runs"); do
	t0=$(date +%s)
	if ! "$@"; then
		echo "stress: run $i of $runs failed after $(($(date +%s) - t0)) s"
		exit 1
	fi
	echo "stress: run $i of $runs passed in $(($(date +%s) - t0)) s"
done
echo "stress: $runs of $runs runs passed beside ${#hogs[@]} CPU hogs"
