#!/usr/bin/env bash
# Runs the test suites and ends with one summary line:
# "N passed, N failed, N skipped".
# Usage: tests/run.sh BUILD_DIR [unit|bpf|e2e|fuzz]...
#
# cmocka binaries are counted from their own summary (passed, failed,
# skipped), against the number of tests they said they were running; shell
# suites (tests/e2e/test-*.sh) first print "PLAN name..." (the tests they
# are about to run), then one "PASS name", "FAIL name" or "SKIP name (why)"
# line per test. Nothing is trusted to end by itself or to say it ran:
# every binary and file runs under a timeout (a hung one fails, named), a
# crash or non-zero exit without a failure count fails, a binary or file
# that reports no test at all fails, and so does each test it planned but
# gave no result for (a shell file without a plan fails too).
#
# Environment:
#   XSL_TIMEOUT_UNIT, XSL_TIMEOUT_BPF, XSL_TIMEOUT_E2E  seconds per cmocka
#       binary / per e2e file (defaults 300, 600, 1200); XSL_TIMEOUT_FUZZ
#       is added to FUZZ_SECONDS for the fuzz run (default 120)
#   XSL_E2E_FILES   e2e files to run, e.g. "test-agent.sh test-faults.sh"
#                   (default: every tests/e2e/test-*.sh)
#   FUZZ_SECONDS    how long the control protocol fuzzer runs (default 60)
#   XSL_SANITIZER_LOGS  a directory where ASan/UBSan write their reports
#                   (ASAN_OPTIONS/UBSAN_OPTIONS log_path): each report found
#                   there at the end fails the run (the "sanitizer-reports" test)
#   XSL_TOTALS      a file the counts "passed failed skipped" are appended to
#                   (.ci/run adds several runs up)
set -u
build=${1:-build}
shift || true
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit bpf e2e)

T_UNIT=${XSL_TIMEOUT_UNIT:-300}
T_BPF=${XSL_TIMEOUT_BPF:-600}
T_E2E=${XSL_TIMEOUT_E2E:-1200}
T_FUZZ=${XSL_TIMEOUT_FUZZ:-120}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

passed=0
failed=0
skipped=0
failed_names=()

# Runs "$@" under a timeout of $1 seconds (a TERM, then a KILL 10 s later);
# stdout and stderr go to the file $OUT. Sets RC (124: timed out).
run_limited() {
	local secs=$1
	shift
	timeout --kill-after=10 "$secs" "$@" >"$OUT" 2>&1
	RC=$?
	# 137: the KILL after the TERM was not heeded
	[ "$RC" = 137 ] && RC=124
}

# One failure for name, with the reason when a test said nothing itself.
count_fail() { # name why
	echo "FAIL $1 ($2)"
	failed=$((failed + 1))
	failed_names+=("$1")
}

# Adds one binary's or file's counts (passed, failed, skipped) to the run;
# a time-out, a crash or non-zero exit without a failure, or no test at
# all is one failure more, by name. Reads RC of run_limited.
tally() { # name timeout passed failed skipped
	local name=$1 secs=$2 p=$3 f=$4 s=$5
	passed=$((passed + p))
	skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failed=$((failed + f))
		failed_names+=("$name")
	fi
	if [ "$RC" = 124 ]; then
		count_fail "$name" "timed out after $secs s"
	elif [ "$RC" -ne 0 ] && [ "$f" -eq 0 ]; then
		# a crash, or a non-zero exit without a failure count
		count_fail "$name" "exit status $RC"
	elif [ $((p + f + s)) -eq 0 ]; then
		count_fail "$name" "ran no test"
	fi
}

# Sum of N over the cmocka lines "TAG N test(s)..." of $OUT (a line per
# group the binary runs); TAG is a sed pattern.
cmocka_sum() { # tag
	sed -n "s/^$1 \([0-9]*\) test.*/\1/p" "$OUT" | awk '{ n += $1 } END { print n + 0 }'
}

count_cmocka() { # binary timeout
	local bin=$1 secs=$2 name p f s planned lost
	name=$(basename "$bin")
	CMOCKA_MESSAGE_OUTPUT=stdout run_limited "$secs" "$bin"
	cat "$OUT"
	planned=$(cmocka_sum '\[==========\] Running')
	p=$(cmocka_sum '\[  PASSED  \]')
	f=$(cmocka_sum '\[  FAILED  \]')
	s=$(cmocka_sum '\[  SKIPPED \]')
	# a test whose setup failed is in none of the counts; one cut short
	# (exit, a crash) in no summary at all: each is a failure
	lost=$((planned - p - f - s))
	if [ "$lost" -gt 0 ] && [ "$RC" != 124 ]; then
		echo "FAIL $name ($lost of $planned tests gave no result)"
		f=$((f + lost))
	fi
	tally "$name" "$secs" "$p" "$f" "$s"
}

count_shell() { # script timeout
	local sh=$1 secs=$2 name p f s
	name=$(basename "$sh")
	run_limited "$secs" bash "$sh" "$build"
	cat "$OUT"
	p=$(grep -c '^PASS ' "$OUT")
	f=$(grep -c '^FAIL ' "$OUT")
	s=$(grep -c '^SKIP ' "$OUT")
	tally "$name" "$secs" "$p" "$f" "$s"
	check_plan "$name"
}

# Each test a shell file planned has a result line; one without fails,
# named. A file that printed no plan fails.
check_plan() { # name
	local t
	if ! grep -q '^PLAN\( \|$\)' "$OUT"; then
		count_fail "$1" "no PLAN line: the runner cannot tell which tests it left out"
		return
	fi
	for t in $(sed -n 's/^PLAN//p' "$OUT"); do
		awk -v t="$t" '($1 == "PASS" || $1 == "FAIL" || $1 == "SKIP") && $2 == t { found = 1 }
			END { exit !found }' "$OUT" || count_fail "$t" "planned by $1, no PASS, FAIL or SKIP line"
	done
}

# The control protocol fuzzer for FUZZ_SECONDS: one test, passed when it
# found no crash, leak or sanitizer report. Its corpus grows in
# BUILD/fuzz/corpus; a crash is kept in BUILD/fuzz/crash-* to replay.
count_fuzz() {
	local bin=$build/fuzz/fuzz_ctl dir=$build/fuzz
	if [ ! -x "$bin" ]; then
		count_fail fuzz_ctl "no $bin: make fuzz builds it"
		return
	fi
	mkdir -p "$dir/corpus"
	run_limited $((FUZZ_SECONDS + T_FUZZ)) bash tests/fuzz/run.sh "$bin" "$dir" "$FUZZ_SECONDS"
	cat "$OUT"
	if [ "$RC" = 0 ]; then
		echo "PASS fuzz_ctl"
		passed=$((passed + 1))
	elif [ "$RC" = 124 ]; then
		count_fail fuzz_ctl "timed out after $((FUZZ_SECONDS + T_FUZZ)) s"
	else
		count_fail fuzz_ctl "exit status $RC; reproduce: tests/fuzz/run.sh $bin $dir FILE"
	fi
}

# Every sanitizer report written during the run fails it.
count_sanitizer_logs() {
	local d=$1 n
	n=$(find "$d" -type f 2>/dev/null | wc -l)
	if [ "$n" -eq 0 ]; then
		echo "PASS sanitizer-reports"
		passed=$((passed + 1))
		return
	fi
	find "$d" -type f -exec sh -c 'echo "== $1"; head -60 "$1"' sh {} \;
	count_fail sanitizer-reports "$n reports in $d"
}

OUT=$(mktemp /tmp/xsl-run.XXXXXX)
trap 'rm -f "$OUT"' EXIT

for s in "${suites[@]}"; do
	case $s in
	unit | bpf)
		secs=$T_UNIT
		[ "$s" = bpf ] && secs=$T_BPF
		n=0
		for bin in "$build"/tests/"$s"/test_*; do
			[ -x "$bin" ] || continue
			n=$((n + 1))
			echo "== $s: $(basename "$bin")"
			count_cmocka "$bin" "$secs"
		done
		[ "$n" -gt 0 ] || count_fail "$s" "no test binary in $build/tests/$s"
		;;
	e2e)
		files=()
		if [ -n "${XSL_E2E_FILES:-}" ]; then
			for f in $XSL_E2E_FILES; do files+=("tests/e2e/$f"); done
		else
			files=(tests/e2e/test-*.sh)
		fi
		for sh in "${files[@]}"; do
			if [ ! -f "$sh" ]; then
				count_fail "$(basename "$sh")" "no such file"
				continue
			fi
			echo "== e2e: $(basename "$sh")"
			count_shell "$sh" "$T_E2E"
		done
		;;
	fuzz)
		echo "== fuzz: fuzz_ctl for $FUZZ_SECONDS s"
		count_fuzz
		;;
	*)
		echo "run.sh: unknown suite '$s'" >&2
		exit 2
		;;
	esac
done

if [ -n "${XSL_SANITIZER_LOGS:-}" ]; then
	echo "== sanitizer reports in $XSL_SANITIZER_LOGS"
	count_sanitizer_logs "$XSL_SANITIZER_LOGS"
fi

[ -n "${XSL_TOTALS:-}" ] && echo "$passed $failed $skipped" >>"$XSL_TOTALS"
[ ${#failed_names[@]} -gt 0 ] && echo "failing: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
