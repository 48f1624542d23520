#!/usr/bin/env bash
# The test runner itself (tests/run.sh), on a fake tree of suites: a skip is
# counted and shown, a hung binary or file fails (named) instead of hanging,
# a binary or file that ran no test fails, so does a test that was planned
# (cmocka's "Running N", a file's PLAN line) but reported nothing, and the
# summary line comes last. No agent (so not on lib.sh). Prints a "PLAN
# name..." line, then one "PASS name" / "FAIL name" per test.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/xsl-test-runner.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "  # $*"
	FAILED=1
}

# A fake tree: tests/run.sh and the suites named by the arguments.
tree() {
	rm -rf "$TMP/t"
	mkdir -p "$TMP/t/tests/e2e" "$TMP/t/build/tests/unit"
	cp "$ROOT/tests/run.sh" "$TMP/t/tests/"
}

# A fake cmocka binary printing its summary: name passed failed skipped.
cmocka_bin() {
	local f=$TMP/t/build/tests/unit/$1
	{
		echo '#!/bin/sh'
		echo "echo '[==========] Running $(($2 + $3 + $4)) test(s).'"
		echo "echo '[==========] $(($2 + $3 + $4)) test(s) run.'"
		echo "echo '[  PASSED  ] $2 test(s).'"
		[ "$4" -gt 0 ] && echo "echo '[  SKIPPED ] $4 test(s), listed below:'"
		[ "$3" -gt 0 ] && echo "echo '[  FAILED  ] $3 test(s), listed below:'; exit $3"
		echo 'exit 0'
	} >"$f"
	chmod +x "$f"
}

# Runs the fake tree's runner; output in $TMP/out, status in RC.
run() {
	# none of the outer run's settings: its totals file above all
	(cd "$TMP/t" && env -u XSL_TOTALS -u XSL_E2E_FILES -u XSL_E2E_EXCLUDE -u XSL_SANITIZER_LOGS \
		XSL_TIMEOUT_UNIT=2 XSL_TIMEOUT_E2E=2 timeout 60 bash tests/run.sh build "$@") \
		>"$TMP/out" 2>&1
	RC=$?
}

summary() { tail -1 "$TMP/out"; }

test_skips_are_counted() {
	tree
	cmocka_bin test_a 3 0 1
	printf 'echo "PLAN one two"\necho "PASS one"\necho "SKIP two (no such thing here)"\n' \
		>"$TMP/t/tests/e2e/test-x.sh"
	run unit e2e
	[ "$(summary)" = "4 passed, 0 failed, 2 skipped" ] || fail "summary: $(summary)"
	[ "$RC" = 0 ] || fail "exit status $RC"
}

test_hung_test_fails_named() {
	local t0 secs
	tree
	cmocka_bin test_a 1 0 0
	printf '#!/bin/sh\nexec sleep 1000\n' >"$TMP/t/build/tests/unit/test_hang"
	chmod +x "$TMP/t/build/tests/unit/test_hang"
	# a file that ignores TERM, with a child holding its output
	printf 'trap "" TERM\necho "PLAN early"\necho "PASS early"\nsleep 1000\n' \
		>"$TMP/t/tests/e2e/test-hang.sh"
	t0=$(date +%s)
	run unit e2e
	secs=$(($(date +%s) - t0))
	[ "$secs" -le 40 ] || fail "the runner took $secs s"
	grep -q '^FAIL test_hang (timed out after 2 s)' "$TMP/out" || fail "hung binary not named"
	grep -q '^FAIL test-hang.sh (timed out after 2 s)' "$TMP/out" || fail "hung file not named"
	[ "$(summary)" = "2 passed, 2 failed, 0 skipped" ] || fail "summary: $(summary)"
	[ "$RC" != 0 ] || fail "exit status 0"
}

test_nothing_run_fails() {
	tree
	cmocka_bin test_none 0 0 0
	printf 'echo "PLAN"\necho "  # nothing to do"\n' >"$TMP/t/tests/e2e/test-empty.sh"
	run unit e2e
	grep -q '^FAIL test_none (ran no test)' "$TMP/out" || fail "empty binary passed"
	grep -q '^FAIL test-empty.sh (ran no test)' "$TMP/out" || fail "empty file passed"
	[ "$(summary)" = "0 passed, 2 failed, 0 skipped" ] || fail "summary: $(summary)"
	# an empty suite directory is a failure too
	tree
	run unit
	grep -q '^FAIL unit (no test binary' "$TMP/out" || fail "empty unit suite passed"
	[ "$RC" != 0 ] || fail "exit status 0"
}

test_crash_and_failures_count() {
	tree
	cmocka_bin test_f 2 1 0
	printf '#!/bin/sh\necho "[  PASSED  ] 1 test(s)."\nkill -SEGV $$\n' >"$TMP/t/build/tests/unit/test_crash"
	chmod +x "$TMP/t/build/tests/unit/test_crash"
	printf 'echo "PLAN a b"\necho "PASS a"\necho "FAIL b"\nexit 1\n' >"$TMP/t/tests/e2e/test-y.sh"
	run unit e2e
	grep -q '^FAIL test_crash (exit status' "$TMP/out" || fail "crash not counted"
	[ "$(summary)" = "4 passed, 3 failed, 0 skipped" ] || fail "summary: $(summary)"
	grep -q '^failing: test_crash test_f test-y.sh$' "$TMP/out" ||
		fail "failing line: $(grep '^failing' "$TMP/out")"
}

# A shell file that leaves out a test it planned (here: it stops early with
# status 0), and one that prints no plan: each left-out test fails, named,
# and so does the file without a plan.
test_planned_test_without_result_fails() {
	tree
	printf 'echo "PLAN a b c"\necho "PASS a"\necho "FAIL b"\nexit 0\n' >"$TMP/t/tests/e2e/test-z.sh"
	printf 'echo "PASS x"\n' >"$TMP/t/tests/e2e/test-noplan.sh"
	run e2e
	grep -q '^FAIL c (planned by test-z.sh' "$TMP/out" || fail "left-out test c not failed"
	grep -q '^FAIL test-noplan.sh (no PLAN line' "$TMP/out" || fail "file without a plan passed"
	[ "$(summary)" = "2 passed, 3 failed, 0 skipped" ] || fail "summary: $(summary)"
	[ "$RC" != 0 ] || fail "exit status 0"
}

# cmocka binaries: a test whose setup failed is in none of cmocka's counts
# (it exits 2 for 1 failed test), and one cut short by exit(0) prints no
# summary: each test without a result is a failure.
test_cmocka_test_without_result_fails() {
	tree
	printf '%s\n' '#!/bin/sh' "echo '[==========] Running 3 test(s).'" \
		"echo '[  PASSED  ] 1 test(s).'" "echo '[  FAILED  ] 1 test(s), listed below:'" \
		"echo '[  ERROR   ] test_setup'" 'exit 2' >"$TMP/t/build/tests/unit/test_err"
	printf '%s\n' '#!/bin/sh' "echo '[==========] Running 4 test(s).'" "echo '[ RUN      ] t'" \
		'exit 0' >"$TMP/t/build/tests/unit/test_cut"
	chmod +x "$TMP/t/build/tests/unit/test_err" "$TMP/t/build/tests/unit/test_cut"
	run unit
	grep -q '^FAIL test_err (1 of 3 tests gave no result)' "$TMP/out" || fail "setup error not failed"
	grep -q '^FAIL test_cut (4 of 4 tests gave no result)' "$TMP/out" || fail "cut-short binary not failed"
	[ "$(summary)" = "1 passed, 6 failed, 0 skipped" ] || fail "summary: $(summary)"
	[ "$RC" != 0 ] || fail "exit status 0"
}

ALL_TESTS="test_skips_are_counted test_hung_test_fails_named test_nothing_run_fails
test_crash_and_failures_count test_planned_test_without_result_fails
test_cmocka_test_without_result_fails"
echo "PLAN $(echo ${XSL_E2E_ONLY:-$ALL_TESTS})"
for t in $ALL_TESTS; do
	[ -n "${XSL_E2E_ONLY:-}" ] && [ "$XSL_E2E_ONLY" != "$t" ] && continue
	FAILED=0
	"$t"
	if [ "$FAILED" = 0 ]; then
		echo "PASS $t"
	else
		sed 's/^/  #   /' "$TMP/out" | tail -20
		echo "FAIL $t"
	fi
done
