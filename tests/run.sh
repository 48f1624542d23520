#!/usr/bin/env bash
# Runs the test suites and ends with one summary line: "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR [unit|bpf|e2e]...
# cmocka binaries are counted from their own summary; shell suites
# (tests/e2e/test-*.sh) print one "PASS name" / "FAIL name" line per test.
set -u
build=${1:-build}
shift || true
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit bpf e2e)

passed=0
failed=0
failed_names=()

count_cmocka() { # binary
	local bin=$1 out rc p f
	out=$(CMOCKA_MESSAGE_OUTPUT=stdout "$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}
	f=${f:-0}
	# A crash or a non-zero exit without a failure count still fails.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	[ "$f" -gt 0 ] && failed_names+=("$(basename "$bin")")
	passed=$((passed + p))
	failed=$((failed + f))
}

count_shell() { # script
	local sh=$1 out rc p f
	out=$(bash "$sh" "$build" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^PASS ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	[ "$f" -gt 0 ] && failed_names+=("$(basename "$sh")")
	passed=$((passed + p))
	failed=$((failed + f))
}

for s in "${suites[@]}"; do
	case $s in
	unit | bpf)
		for bin in "$build"/tests/"$s"/test_*; do
			[ -x "$bin" ] || continue
			echo "== $s: $(basename "$bin")"
			count_cmocka "$bin"
		done
		;;
	e2e)
		for sh in tests/e2e/test-*.sh; do
			[ -f "$sh" ] || continue
			echo "== e2e: $(basename "$sh")"
			count_shell "$sh"
		done
		;;
	*)
		echo "run.sh: unknown suite '$s'" >&2
		exit 2
		;;
	esac
done

[ ${#failed_names[@]} -gt 0 ] && echo "failing: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
