#!/usr/bin/env bash
# The Prometheus side of xsl (docs/prometheus/): the rules pass `promtool
# check rules` and their unit tests (tests/rules/xsl-rules.test.yml: input
# series -> expected alerts, one test per alert), the fleet's example scrape
# config passes `promtool check config` (file_sd targets included), and
# every xsl_ series the rules use is one a running agent under traffic
# exports, so a renamed metric cannot leave an alert silently dead.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5700
RULES=$E2E_ROOT/docs/prometheus/xsl-rules.yml
# Series the rules watch that come with work not merged yet: allowed to be
# missing. (None now: issue 11 brought xsl_sessions_refused_total.)
PENDING=""

test_promtool_check_rules() {
	promtool check rules "$RULES" >"$E2E_TMP/out" 2>&1 || fail "$(cat "$E2E_TMP/out")"
}

test_promtool_rule_unit_tests() {
	# rule_files in the test file are relative to it
	(cd "$E2E_ROOT/tests/rules" && promtool test rules xsl-rules.test.yml) >"$E2E_TMP/out" 2>&1 ||
		fail "$(cat "$E2E_TMP/out")"
	# one test per alert of the rules file
	local a
	for a in $(awk '$1 == "-" && $2 == "alert:" { print $3 }' "$RULES"); do
		grep -q "alertname: $a\$" "$E2E_ROOT/tests/rules/xsl-rules.test.yml" ||
			fail "alert $a has no unit test"
	done
}

test_promtool_check_fleet_config() {
	promtool check config "$E2E_ROOT/docs/prometheus/xsl-prometheus.yml" >"$E2E_TMP/out" 2>&1 ||
		fail "$(cat "$E2E_TMP/out")"
}

# The metric names a rules file's expressions use (histogram suffixes cut),
# not the recorded level:metric:operation names.
rule_metrics() {
	grep -v '^ *#' "$1" | grep -oE '[a-z0-9_:]*xsl_[a-z0-9_:]+' | grep -v ':' |
		grep -E '^xsl_[a-z0-9_]+$' | sed -E 's/_(bucket|sum|count)$//' | sort -u
}

test_rules_use_exported_metrics() {
	xdp_on || return 1
	start_server 2 || return 1
	udp --flows 4 --rounds 2 >/dev/null
	# the agent notices the XDP attach on its scan
	wait_for 200 'in_srv curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep -q "^xsl_xdp_attached{"' ||
		fail "no xsl_xdp_attached sample for $SRV_IF"
	in_srv curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >"$E2E_TMP/page" ||
		{ fail "scrape failed"; return 1; }
	local m n=0
	for m in $(rule_metrics "$RULES"); do
		n=$((n + 1))
		grep -q "^# TYPE $m " "$E2E_TMP/page" && continue
		case " $PENDING " in
		*" $m "*) log "$m: not exported yet (pending work), allowed" ;;
		*) fail "the rules use $m, which the agent does not export" ;;
		esac
	done
	log "$n metric names in the rules"
	[ "$n" -ge 10 ] || fail "only $n metric names found in $RULES"
}

ALL_TESTS="test_promtool_check_rules test_promtool_rule_unit_tests
test_promtool_check_fleet_config test_rules_use_exported_metrics"
e2e_main
