#!/usr/bin/env bash
# End to end: looking at an app's instances (issue 12). `show instances`
# shows instance 1 of a running app with its state, first process, workers,
# sessions and age (table and --json); `show workers` and `show sessions`
# name each worker's and session's instance (none for a dead worker's
# leftovers); xsl_instances and xsl_instance_sessions agree with them and
# pass promtool; an agent restart keeps the ages; during a restart (run
# --replace) the serving and the draining instance are shown apart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5700

scrape() { in_srv curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"; }
# Sum of the samples of family $1 whose labels contain $2 (all with no $2).
metric_sum() {
	awk -v f="$1" -v l="${2:-}" '
		$1 == f || index($1, f "{") == 1 { if (l == "" || index($1, l)) s += $NF }
		END { printf "%d\n", s }'
}
insts() { ctl --json show instances "${1:-app1}"; }
gc_runs() { ctl --json show stats | jq .agent.gc_runs; }
# Sum of the GC's per-worker session counts of app1.
worker_sessions() { ctl --json show workers app1 | jq '[.workers[].sessions] | add // 0'; }

# Replaces the harness's agent by one started with ARGS (same maps).
agent_restart() {
	kill -TERM "$AGENT_PID" && wait "$AGENT_PID"
	agent_start "$@"
}

# A running app with 3 forked workers and 30 flows: one instance, serving
# and taking new sessions, first pid the server's master, 4 workers, the
# app's 30 sessions; every worker and session is in instance 1; the metrics
# say the same, and promtool accepts the page.
test_show_instances_of_a_running_app() {
	local j table page row age n
	agent_restart --gc-ms 100 || return 1
	xdp_on || return 1
	start_server 3 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 3 ]' ||
		{ fail "udp listener has $(udp_listener_workers) workers"; return 1; }
	[ "$(udp --flows 30 --rounds 1 | field lost)" = 0 ] || fail "flows unanswered"
	# published at the end of a GC pass
	wait_for 500 '[ "$(insts | jq ".instances[0].sessions")" -ge 30 ]' ||
		{ fail "instance sessions: $(insts | jq -c .)"; return 1; }
	j=$(insts)
	log "$(echo "$j" | jq -c .)"
	[ "$(echo "$j" | jq -r '.app')" = app1 ] || fail "app: $(echo "$j" | jq -c .app)"
	[ "$(echo "$j" | jq '.instances | length')" = 1 ] || fail "not one instance"
	[ "$(echo "$j" | jq -c '.instances[0] | [.instance, .state, .taking, .first_pid, .workers]')" = \
		"[1,\"serving\",true,$MASTER,4]" ] || fail "instance 1 (want pid $MASTER, 4 workers): $(echo "$j" | jq -c .)"
	[ "$(echo "$j" | jq '.instances[0].sessions')" = "$(ctl --json show app app1 | jq .app.sessions)" ] ||
		fail "instance sessions $(echo "$j" | jq '.instances[0].sessions') != app sessions $(ctl --json show app app1 | jq .app.sessions)"
	[ "$(echo "$j" | jq '.instances[0].sessions')" = "$(worker_sessions)" ] ||
		fail "instance sessions != its workers' sessions $(worker_sessions)"
	age=$(echo "$j" | jq '.instances[0].age')
	[ "$age" -ge 0 ] && [ "$age" -lt 300 ] || fail "age $age"

	table=$(ctl show instances app1)
	echo "$table" | sed 's/^/  #   /'
	[ "$(echo "$table" | head -1)" = "instance  state    first-pid  workers  sessions  age" ] ||
		fail "header: $(echo "$table" | head -1)"
	row=$(echo "$table" | awk 'NR == 2 { print $1, $2, $3, $4, $5 }')
	[ "$row" = "1 serving $MASTER 4 $(echo "$j" | jq '.instances[0].sessions')" ] || fail "row: $row"
	echo "$table" | awk 'NR == 2 { exit $6 !~ /^[0-9]+(s|m[0-9][0-9]s)$/ }' || fail "age cell: $table"
	[ "$(echo "$table" | wc -l)" = 2 ] || fail "rows: $table"

	# show workers: every worker in instance 1, in the json and the table
	n=$(ctl --json show workers app1 | jq '[.workers[] | select(.instance == 1)] | length')
	[ "$n" = 4 ] || fail "workers in instance 1: $n of $(n_workers app1)"
	table=$(ctl show workers app1)
	[ "$(echo "$table" | awk 'NR == 1 { print $6 }')" = instance ] || fail "workers header: $(echo "$table" | head -1)"
	[ "$(echo "$table" | awk 'NR > 1 && $6 == 1' | wc -l)" = 4 ] || fail "workers table: $table"

	# show sessions: every session of a live worker is in instance 1
	j=$(ctl --json show sessions app1 --limit 100)
	[ "$(echo "$j" | jq '[.sessions[] | select(.instance == 1)] | length')" -ge 30 ] ||
		fail "sessions in instance 1: $(echo "$j" | jq -c '[.sessions[].instance]')"
	[ "$(echo "$j" | jq '[.sessions[] | select(.instance != 1)] | length')" = 0 ] ||
		fail "sessions outside instance 1: $(echo "$j" | jq -c '[.sessions[].instance]')"
	table=$(ctl show sessions app1 --limit 100)
	[ "$(echo "$table" | awk 'NR == 1 { print $7 }')" = Instance ] || fail "sessions header: $(echo "$table" | head -1)"
	[ "$(echo "$table" | awk 'NR > 1 && $7 == 1' | wc -l)" -ge 30 ] || fail "sessions table: $(echo "$table" | head -3)"

	# the metrics: one serving instance, the app's sessions all in it
	page=$E2E_TMP/page
	scrape >"$page" || { fail "scrape failed"; return 1; }
	promtool check metrics <"$page" || fail "promtool check metrics failed"
	grep -E '^xsl_instance' "$page" | sed 's/^/  #   /'
	grep -qx 'xsl_instances{app="app1",state="serving"} 1' "$page" || fail "no serving instance metric"
	[ "$(metric_sum xsl_instances 'app="app1"' <"$page")" = 1 ] || fail "xsl_instances does not sum to 1"
	[ "$(grep -c '^xsl_instances{app="app1",' "$page")" = 4 ] || fail "not one series per state"
	[ "$(grep -c '^xsl_instance_sessions{' "$page")" = 1 ] || fail "not one xsl_instance_sessions series"
	n=$(metric_sum xsl_instance_sessions 'app="app1",instance="1"' <"$page")
	[ "$n" -ge 30 ] || fail "xsl_instance_sessions $n"
	[ "$n" = "$(metric_sum xsl_sessions 'app="app1"' <"$page")" ] ||
		fail "xsl_instance_sessions $n != xsl_sessions $(metric_sum xsl_sessions 'app="app1"' <"$page")"
	[ "$n" = "$(metric_sum xsl_worker_sessions 'app="app1"' <"$page")" ] ||
		fail "xsl_instance_sessions $n != sum of xsl_worker_sessions"
	[ "$n" = "$(insts | jq '.instances[0].sessions')" ] || fail "metric $n != show instances"
}

# A worker with sessions is killed: its leftovers name no instance (json 0,
# table "-"), count for the app but for no instance; the instance's
# sessions stay the sum of its live workers', in show and in the metrics.
test_dead_worker_sessions_belong_to_no_instance() {
	local victim w left runs j page inst app table
	agent_restart --gc-ms 100 || return 1
	xdp_on || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || { fail "udp listener not served"; return 1; }
	[ "$(udp --flows 40 --rounds 1 | field lost)" = 0 ] || fail "flows unanswered"
	wait_for 500 '[ "$(worker_sessions)" -ge 40 ]' || { fail "worker sessions $(worker_sessions)"; return 1; }
	read -r w victim left < <(ctl --json show workers app1 |
		jq -r --argjson m "$MASTER" '[.workers[] | select(.pid != $m)] | max_by(.sessions) | "\(.index) \(.pid) \(.sessions)"')
	log "victim worker $w pid $victim with $left sessions"
	[ "$left" -ge 1 ] || { fail "the victim has no sessions"; return 1; }
	kill -9 "$victim"
	wait_for 500 '! worker_pids app1 | grep -qw "$victim"' || { fail "killed worker still listed"; return 1; }
	runs=$(gc_runs)
	wait_for 500 '[ "$(gc_runs)" -ge $((runs + 2)) ]' || fail "no GC pass"
	j=$(ctl --json show sessions app1 --limit 100)
	[ "$(echo "$j" | jq --argjson w "$w" '[.sessions[] | select(.worker == $w and .instance == 0 and .pid == 0)] | length')" = "$left" ] ||
		fail "the dead worker's sessions: $(echo "$j" | jq -c --argjson w "$w" '[.sessions[] | select(.worker == $w) | [.pid, .instance]]')"
	[ "$(echo "$j" | jq --argjson w "$w" '[.sessions[] | select(.worker != $w and .instance != 1)] | length')" = 0 ] ||
		fail "live workers' sessions outside instance 1"
	table=$(ctl show sessions app1 --limit 100)
	[ "$(echo "$table" | awk -v w="$w" 'NR > 1 && $5 == w && $6 == "-" && $7 == "-"' | wc -l)" = "$left" ] ||
		fail "table rows of the dead worker without pid and instance: $(echo "$table" | head -3)"
	inst=$(insts | jq '.instances[0].sessions')
	app=$(ctl --json show app app1 | jq .app.sessions)
	log "instance 1: $inst sessions, app: $app, dead worker's: $left"
	[ "$inst" = "$(worker_sessions)" ] || fail "instance $inst != its workers' $(worker_sessions)"
	[ "$((inst + left))" = "$app" ] || fail "instance $inst + leftovers $left != app $app"
	page=$E2E_TMP/page
	scrape >"$page" || { fail "scrape failed"; return 1; }
	[ "$(metric_sum xsl_instance_sessions 'app="app1",instance="1"' <"$page")" = \
		"$(metric_sum xsl_worker_sessions 'app="app1"' <"$page")" ] || fail "metric != sum of worker sessions"
	[ "$(($(metric_sum xsl_instance_sessions 'app="app1"' <"$page") + left))" = \
		"$(metric_sum xsl_sessions 'app="app1"' <"$page")" ] || fail "metric + leftovers != xsl_sessions"
}

# An app without the name: a clear error naming it; an operator-attached
# app with no process: instance 1 with no worker and no first pid.
test_show_instances_errors_and_empty_instance() {
	local out rc
	out=$(ctl show instances nosuch 2>&1)
	rc=$?
	[ "$rc" = 1 ] || fail "exit $rc for an unknown app"
	[ "$out" = "xslctl: show instances nosuch: no such app (ENOENT)" ] || fail "error: $out"
	ctl app attach held >/dev/null || return 1
	out=$(ctl --json show instances held)
	[ "$(echo "$out" | jq -c '[.instances[] | [.instance, .first_pid, .workers, .sessions]]')" = '[[1,0,0,0]]' ] ||
		fail "held app: $(echo "$out" | jq -c .)"
	out=$(ctl show instances held)
	echo "$out" | sed 's/^/  #   /'
	echo "$out" | awk 'NR == 2 { exit !($1 == 1 && $3 == "-" && $4 == 0) }' || fail "table: $out"
}

# The agent restarts: the instance keeps its age (its first process's start
# time, not the new agent's first sight of it) and its first pid.
test_instance_age_survives_agent_restart() {
	local age
	start_server 1 || return 1
	wait_for 1000 '[ "$(insts | jq ".instances[0].age")" -ge 3 ]' ||
		{ fail "age: $(insts | jq -c .)"; return 1; }
	agent_restart || return 1
	age=$(insts | jq '.instances[0].age')
	log "age after the restart: $age s"
	[ "$age" -ge 3 ] || fail "age $age after the agent restart"
	[ "$(insts | jq '.instances[0].first_pid')" = "$MASTER" ] || fail "first pid: $(insts | jq -c .)"
}

# A restart in progress: instance 1 (20 flows) drains while instance 2,
# started by run --replace, serves; 40 new flows follow. show instances
# lists both, oldest first, with their own first pids and workers; every
# worker and session names its instance (the old flows all instance 1);
# each instance's sessions are the sessions show sessions books to it, in
# show instances and in the metrics (one serving and one draining
# instance), and they add up to the app's. Where the new flows go is the
# data path's business (the newest serving instance, once it steers them
# there): here only that instance 2 got some.
test_two_instances_serving_and_draining() {
	local j new_out="$E2E_TMP/new.out" new_master page table old_pids new_pids n by_inst
	agent_restart --gc-ms 100 || return 1
	xdp_on || return 1
	start_server 2 || return 1
	wait_for 300 '[ "$(udp_listener_workers)" -eq 2 ]' || { fail "old server not serving"; return 1; }
	[ "$(udp --flows 20 --rounds 1 --sport-base 41000 | field lost)" = 0 ] || fail "old flows unanswered"
	old_pids=$(server_pids)
	# a long drain: the old instance stays draining for the whole test
	bg nsenter --net="/run/netns/$SRV_NS" setsid "$XSLCTL" --socket "$SOCK" run app1 --replace \
		--drain 600 --stop-timeout 20 -- "$TESTSRV" --port "$PORT" --workers 2 >"$new_out" 2>&1
	wait_for 500 '[ "$(grep -c "^worker" "$new_out")" -ge 2 ]' || { fail "new server did not start"; return 1; }
	new_master=$(awk '/^master/ { print $2 }' "$new_out")
	wait_for 500 '[ "$(insts | jq -r ".instances[1].state")" = serving ]' ||
		{ fail "instance 2 does not serve: $(insts | jq -c .)"; return 1; }
	wait_for 500 '[ "$(n_workers app1)" -eq 6 ]' || fail "workers: $(worker_pids app1)"
	[ "$(udp --flows 40 --rounds 1 --sport-base 42000 | field lost)" = 0 ] || fail "new flows unanswered"
	wait_for 500 '[ "$(insts | jq "[.instances[].sessions] | add")" = 60 ]' ||
		{ fail "sessions per instance: $(insts | jq -c "[.instances[].sessions]")"; return 1; }
	j=$(insts)
	log "$(echo "$j" | jq -c .)"
	[ "$(echo "$j" | jq -c '[.instances[] | [.instance, .state, .taking, .first_pid, .workers]]')" = \
		"[[1,\"draining\",false,$MASTER,3],[2,\"serving\",true,$new_master,3]]" ] ||
		fail "instances (want first pids $MASTER and $new_master): $(echo "$j" | jq -c .)"
	[ "$(echo "$j" | jq '[.instances[].sessions] | add')" = "$(ctl --json show app app1 | jq .app.sessions)" ] ||
		fail "instance sessions do not add up to the app's $(ctl --json show app app1 | jq .app.sessions)"
	table=$(ctl show instances app1)
	echo "$table" | sed 's/^/  #   /'
	[ "$(echo "$table" | awk 'NR > 1 { printf "%s %s %s %s;", $1, $2, $3, $4 }')" = \
		"1 draining $MASTER 3;2 serving $new_master 3;" ] || fail "table: $table"

	# every worker in its own run's instance
	[ "$(ctl --json show workers app1 | jq -r '[.workers[] | select(.instance == 1) | .pid] | sort | join(" ")') " = \
		"$old_pids" ] || fail "instance 1 workers: $(ctl --json show workers app1 | jq -c '[.workers[] | [.pid, .instance]]')"
	new_pids=$({ echo "$new_master"; awk '/^worker/ { print $2 }' "$new_out"; } | sort -n | tr '\n' ' ')
	[ "$(ctl --json show workers app1 | jq -r '[.workers[] | select(.instance == 2) | .pid] | sort | join(" ")') " = \
		"$new_pids" ] || fail "instance 2 workers: $(ctl --json show workers app1 | jq -c '[.workers[] | [.pid, .instance]]')"
	# every session in its worker's instance; the old flows in instance 1
	j=$(ctl --json show sessions app1 --limit 100)
	n=$(echo "$j" | jq '[.sessions[] | select((.remote | test(":41[0-9]{3}$")) and .instance == 1)] | length')
	[ "$n" = 20 ] || fail "old flows in instance 1: $n of 20"
	by_inst=$(echo "$j" | jq -c '[([.sessions[] | select(.instance == 1)] | length), ([.sessions[] | select(.instance == 2)] | length)]')
	log "new flows: $(echo "$j" | jq '[.sessions[] | select((.remote | test(":42[0-9]{3}$")) and .instance == 2)] | length') of 40 in instance 2"
	[ "$by_inst" = "$(insts | jq -c '[.instances[].sessions]')" ] ||
		fail "sessions listed per instance $by_inst, show instances $(insts | jq -c '[.instances[].sessions]')"
	[ "$(echo "$by_inst" | jq '.[1]')" -ge 1 ] || fail "no session in instance 2"
	# each session's instance is its worker's (pid -> instance of show workers)
	n=$(jq -n --argjson s "$j" --argjson w "$(ctl --json show workers app1)" '
		($w.workers | map({key: (.pid | tostring), value: .instance}) | from_entries) as $of
		| [$s.sessions[] | select(.instance != $of[.pid | tostring])] | length')
	[ "$n" = 0 ] || fail "$n sessions not in their worker's instance"
	table=$(ctl show sessions app1 --limit 100)
	[ "$(echo "$table" | awk 'NR > 1 { c[$7]++ } END { printf "[%d,%d]", c[1], c[2] }')" = "$by_inst" ] ||
		fail "sessions table by instance: $(echo "$table" | head -3)"

	page=$E2E_TMP/page
	scrape >"$page" || { fail "scrape failed"; return 1; }
	promtool check metrics <"$page" || fail "promtool check metrics failed"
	grep -E '^xsl_instance|^xsl_sessions\{' "$page" | sed 's/^/  #   /'
	grep -qx 'xsl_instances{app="app1",state="serving"} 1' "$page" || fail "not one serving instance"
	grep -qx 'xsl_instances{app="app1",state="draining"} 1' "$page" || fail "not one draining instance"
	[ "[$(metric_sum xsl_instance_sessions 'instance="1"' <"$page"),$(metric_sum xsl_instance_sessions 'instance="2"' <"$page")]" = "$by_inst" ] ||
		fail "xsl_instance_sessions differ from the listing $by_inst"
	[ "$(metric_sum xsl_instance_sessions 'app="app1"' <"$page")" = "$(metric_sum xsl_sessions 'app="app1"' <"$page")" ] ||
		fail "xsl_instance_sessions do not add up to xsl_sessions"
}

ALL_TESTS="test_show_instances_of_a_running_app test_dead_worker_sessions_belong_to_no_instance
test_show_instances_errors_and_empty_instance test_instance_age_survives_agent_restart
test_two_instances_serving_and_draining"
e2e_main
