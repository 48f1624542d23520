#!/usr/bin/env bash
# Runs the control protocol fuzzer (fuzz_ctl.c) where it can do no harm: a
# private mount, network and pid namespace, a tmpfs on /run for its fake
# cgroups (/run/xsl-fuzz/cg), an interface fz0 (veth) for xdp.attach.
#   tests/fuzz/run.sh FUZZER DIR SECONDS   fuzz for SECONDS: new inputs go to
#                                          DIR/corpus, a crash to DIR/crash-*
#   tests/fuzz/run.sh FUZZER DIR FILE...   replay inputs (a crash, a seed)
# Exit 0: nothing found.
set -u
bin=$(realpath "$1")
dir=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${XSL_FUZZ_INNER:-}" ]; then
	mkdir -p "$dir/corpus" || exit 1
	exec unshare --mount --net --pid --fork --kill-child --mount-proc \
		env XSL_FUZZ_INNER=1 bash "$0" "$bin" "$dir" "$@"
fi
mount --make-rprivate / && mount -t tmpfs tmpfs /run && mkdir -p /run/xsl-fuzz || exit 1
ip link set lo up && ip link add fz0 type veth peer name fz1 || exit 1
export XSL_FUZZ_ROOT=/run/xsl-fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
case ${1:-} in
'' | *[!0-9]*)
	# inputs to replay
	exec "$bin" -timeout=25 "$@"
	;;
esac
# -timeout: an input that takes that long is a hang, reported as one
exec "$bin" -max_total_time="$1" -timeout=25 -print_final_stats=1 -dict="$here/ctl.dict" \
	-artifact_prefix="$dir/" "$dir/corpus" "$here/corpus"
