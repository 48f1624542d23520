#!/usr/bin/env bash
# End to end: the agent's Prometheus endpoint under traffic, checked by
# promtool, scraped by a real Prometheus, compared with the packets a test
# sends, and abused by bad HTTP clients. XDP is attached with `ip link`; the
# UDP client runs in the peer namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5400
# Prometheus listens in the test's own srv namespace, where only the agent
# listens (on METRICS_PORT): any other port is free there.
PROM_PORT=9090
# This file's scratch files (server output, scrapes, Prometheus' storage),
# removed when the tests are done.
TMP=$(mktemp -d /tmp/xsl-e2e-metrics.XXXXXX)

# server.sh's server as app1 with N workers, and every worker's UDP socket
# adopted.
start_udp_server() {
	local n=$1
	start_server "$n" && wait_for 500 '[ "$(udp_listener_workers)" -eq "$n" ]'
}

metrics_url() { echo "http://127.0.0.1:$METRICS_PORT${1:-/metrics}"; }
scrape() { in_srv curl -sf --max-time 5 "$(metrics_url)"; }
# HTTP status of a request to the agent: http_code PATH [CURL ARGS...]
http_code() {
	local path=$1
	shift
	in_srv curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@" "$(metrics_url "$path")"
}

# Sum of the samples of family $1 (optionally only those whose labels contain
# $2, e.g. 'app="app1"') in the scrape on stdin.
metric_sum() {
	awk -v f="$1" -v l="${2:-}" '
		$1 == f || index($1, f "{") == 1 { if (l == "" || index($1, l)) s += $NF }
		END { printf "%d\n", s }'
}

test_promtool_accepts_scrape_under_traffic() {
	xdp_on || return 1
	start_udp_server 4 || return 1
	local page hdr client
	page=$TMP/scrape-$E2E_N
	hdr=$TMP/headers-$E2E_N
	bg in_cli "$UDPCLIENT" --addr "$SRV_IP" --port $PORT --flows 64 --rounds 30 --gap-ms 20 >/dev/null
	client=$BG_PID
	# scraped while the flows run: the first of them have been looked up
	wait_for 500 '[ "$(ctl --json show stats | jq ".stats.lookup_hit + .stats.lookup_miss")" -gt 64 ]' ||
		fail "no traffic before the scrape"
	in_srv curl -sf --max-time 5 -D "$hdr" -o "$page" "$(metrics_url)" || fail "scrape failed"
	wait "$client"
	promtool check metrics <"$page" || fail "promtool check metrics failed"
	grep -qi '^content-type: text/plain; version=0.0.4' "$hdr" || fail "content type: $(grep -i content-type "$hdr")"
	# the scrape was taken under traffic, and shows every worker
	[ "$(metric_sum xsl_worker_packets_total <"$page")" -gt 0 ] || fail "no worker packets in the scrape"
	[ "$(grep -c '^xsl_worker_packets_total{' "$page")" -eq 5 ] ||
		fail "expected 5 worker series: $(grep '^xsl_worker_packets_total{' "$page")"
	log "scrape: $(wc -l <"$page") lines, $(grep -c '^# TYPE' "$page") families"
}

# ---- a real Prometheus ----

prom_api() { in_srv curl -sf --max-time 2 "http://127.0.0.1:$PROM_PORT$1" "${@:2}"; }
# The value of the first sample of an instant query, empty if none.
prom_value() { prom_api /api/v1/query -G --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }

# Prometheus with a 1 s scrape of the agent and storage under $1; sets PROM_PID.
prom_start() {
	local dir=$1
	cat >"$dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: xsl
		    static_configs:
		      - targets: ['127.0.0.1:$METRICS_PORT']
	EOF
	# nsenter execs prometheus: the pid bg records is prometheus itself
	bg nsenter --net="/run/netns/$SRV_NS" /usr/bin/prometheus \
		--config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$dir/log" 2>&1
	PROM_PID=$BG_PID
	wait_for 1000 'prom_api /-/ready' || { sed 's/^/  #   /' "$dir/log"; return 1; }
}

prometheus_checks() {
	local v1 v2 w
	xdp_on || return 1
	start_udp_server 3 || return 1
	udp --flows 16 --rounds 1 >/dev/null
	prom_start "$1" || return 1
	# Prometheus hands new targets to its scrapers on a 5 s tick (not
	# configurable in 2.42): the first sample comes 5-6 s after the start.
	wait_for 1000 '[ -n "$(prom_value "xsl_workers{app=\"app1\"}")" ]' ||
		{ fail "no xsl_workers sample; targets: $(prom_api /api/v1/targets | jq -c '.data.activeTargets[] | {health, lastError}')"; return 1; }
	w=$(n_workers app1)
	log "prometheus: xsl_workers{app=\"app1\"} = $(prom_value 'xsl_workers{app="app1"}'), xslctl: $w workers"
	[ "$(prom_value 'xsl_workers{app="app1"}')" = "$w" ] || fail "xsl_workers differs from xslctl's $w"
	[ "$(prom_value 'up{job="xsl"}')" = 1 ] || fail "target not up"
	v1=$(prom_value 'xsl_sessions_created_total{app="app1"}')
	# 32 new flows; a source port the kernel hands out again to one of the
	# first 16 finds its old session, so count on most, not all, of them
	udp --flows 32 --rounds 2 >/dev/null
	wait_for 300 '[ "$(prom_value "xsl_sessions_created_total{app=\"app1\"}")" -ge $((v1 + 24)) ]' ||
		fail "xsl_sessions_created_total did not grow with the traffic: $v1 -> $(prom_value 'xsl_sessions_created_total{app="app1"}')"
	# with no traffic, Prometheus' latest sample is what the agent serves
	v2=$(scrape | metric_sum xsl_sessions_created_total 'app="app1"')
	wait_for 300 '[ "$(prom_value "xsl_sessions_created_total{app=\"app1\"}")" = "$v2" ]' ||
		fail "Prometheus has $(prom_value 'xsl_sessions_created_total{app="app1"}'), the agent serves $v2"
	log "prometheus: xsl_sessions_created_total{app=\"app1\"} $v1 -> $v2;" \
		"increase over 1m: $(prom_value 'increase(xsl_sessions_created_total{app="app1"}[1m])')"
	[ "${v1:-0}" -ge 16 ] || fail "sessions of the first 16 flows missing: $v1"
}

test_prometheus_scrapes_agent() {
	local dir rc
	dir=$TMP/prometheus-$E2E_N
	mkdir -p "$dir"
	prometheus_checks "$dir"
	rc=$?
	if [ -n "${PROM_PID:-}" ]; then
		kill "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	fi
	PROM_PID=
	rm -rf "$dir"
	return "$rc"
}

# ---- counters against the packets sent ----

# One line of data-path sums from a scrape: XDP packets, per-worker packets,
# session lookups, parse errors (packets XDP passed without a lookup), and
# from xslctl show stats, which has it and /metrics does not: not_ours
# (packets to a port no listener has, passed before any lookup); then the
# apps' packets (the agent's sums over their workers).
datapath_counts() {
	local page
	page=$(scrape) || return 1
	echo "$(echo "$page" | metric_sum xsl_xdp_packets_total)" \
		"$(echo "$page" | metric_sum xsl_worker_packets_total)" \
		"$(echo "$page" | metric_sum xsl_session_lookups_total)" \
		"$(echo "$page" | metric_sum xsl_parse_errors_total)" \
		"$(ctl --json show stats | jq '.stats.not_ours')" \
		"$(echo "$page" | metric_sum xsl_app_packets_total)"
	echo "$page" | grep '^xsl_parse_errors_total{' >"$PARSE_OUT"
}

test_counters_match_datapath() {
	local flows=50 rounds=4 n a b dx dw dl dp dn da out
	n=$((flows * rounds))
	PARSE_OUT=$TMP/parse-$E2E_N
	xdp_on || return 1
	start_udp_server 3 || return 1
	# resolves ARP both ways before the counted window
	udp --flows 1 --rounds 1 >/dev/null
	a=$(datapath_counts) || return 1
	cp "$PARSE_OUT" "$PARSE_OUT.a"
	out=$(udp --flows $flows --rounds $rounds)
	b=$(datapath_counts) || return 1
	[ "$(echo "$out" | field replies)" = "$n" ] || fail "client: $out"
	read -r dx dw dl dp dn da < <(echo "$a $b" |
		awk '{ print $7 - $1, $8 - $2, $9 - $3, $10 - $4, $11 - $5, $12 - $6 }')
	log "sent $n datagrams: xdp packets +$dx, worker packets +$dw, lookups +$dl," \
		"parse errors +$dp, not ours +$dn"
	[ "$dp" -gt 0 ] && log "other packets: $(paste -d' ' "$PARSE_OUT.a" "$PARSE_OUT" |
		awk '$4 != $2 { printf "%s +%d ", $1, $4 - $2 }')"
	# Only the srv side's ingress runs XDP: the replies are not counted.
	# Besides the datagrams, that ingress may see the cli side's own traffic
	# in the window, which XDP passes as parse errors without a lookup: ARP
	# (unknown_ethertype: a stale neighbour's probe) and ICMPv6 (unknown
	# l4 proto: router solicitations, MLD reports, neighbour discovery of
	# a link that came up a moment ago). Measured: 0 or 1 in this window
	# of ~0.1 s; 7 (2 ARP, 5 ICMPv6) when the same datagrams were spread
	# over 8 s right after link up, so 10 bounds it. Every packet is
	# counted as a parse error, as not ours by its port, or looked up
	# (and all looked up here go to the listener): that sum is exact.
	[ "$dx" -ge "$n" ] && [ "$dx" -le $((n + 10)) ] || fail "xdp packets grew by $dx, sent $n"
	[ "$dx" -eq $((dl + dp + dn)) ] || fail "xdp packets +$dx != lookups +$dl + parse errors +$dp + not ours +$dn"
	# per-worker counters count only session packets: exactly the datagrams
	[ "$dw" -eq "$n" ] || fail "worker packets grew by $dw, sent $n"
	[ "$da" -eq "$n" ] || fail "app packets grew by $da, sent $n"
	[ "$dl" -eq "$n" ] || fail "session lookups grew by $dl, sent $n"
	# xslctl show stats reads the same counters (no lookups happen between)
	[ "$(ctl --json show stats | jq '.stats.lookup_hit + .stats.lookup_miss')" = \
		"$(scrape | metric_sum xsl_session_lookups_total)" ] || fail "show stats and /metrics differ on lookups"
	btf_fields
}

# The maps carry BTF: bpftool prints their values with field names.
btf_fields() {
	local f
	f=$(bpftool map dump pinned "$PIN/xsl_workers" -j | jq -c '[.[] | .formatted.value | objects] | .[0] // empty')
	log "xsl_workers entry as bpftool shows it: $f"
	echo "$f" | jq -e 'has("gen") and has("state") and has("pid") and has("map_index")' >/dev/null ||
		fail "xsl_workers values have no named fields"
	bpftool map dump pinned "$PIN/xsl_apps" -j |
		jq -e '[.[] | .formatted.value | select(.state == 1)] | .[0] | has("name") and has("gen")' >/dev/null ||
		fail "xsl_apps values have no named fields"
	# the session table: bucket 1 (element 0 is the header), a tag line and 8 entries
	bpftool map lookup pinned "$PIN/xsl_sessions" key 1 0 0 0 -j |
		jq -e '.formatted.value | (.t | has("tag") and has("overflow")) and (.e | length == 8) and
			(.e[0] | has("key") and has("route") and has("last_seen"))' >/dev/null ||
		fail "xsl_sessions buckets have no named fields"
}

# ---- bad HTTP clients ----

# Runs bash -c SCRIPT in the srv namespace in the background (nsenter execs
# bash, so BG_PID is the shell holding the sockets); $1.. are its args.
srv_bg() { bg nsenter --net="/run/netns/$SRV_NS" bash -c "$@"; }

# Bytes the agent has queued but its metrics clients have not taken.
agent_unsent() { in_srv ss -tnH state established "( sport = :$METRICS_PORT )" | awk '{ s += $2 } END { print s + 0 }'; }

# Every pid given runs sleep (a bad client that has done its part) or has
# ended (one whose connection the agent refused).
all_settled() {
	local p c
	for p; do
		c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[ "$c" = sleep ] || [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] ||
			return 1
	done
}

# xslctl answers within 500 ms.
ctl_fast() {
	local t0 t1
	t0=$(date +%s%N)
	ctl show apps >/dev/null || { fail "xslctl show apps failed $*"; return 1; }
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -le 500 ] || fail "xslctl show apps took $(((t1 - t0) / 1000000)) ms $*"
}

test_bad_http_requests_do_not_disturb_agent() {
	local c long codes ok holders=()
	start_udp_server 40 || return 1
	# Small TCP buffers in this test's namespace, so the 40-worker page
	# (~30 KiB) cannot all sit in socket buffers for a client that never reads.
	in_srv sysctl -qw net.ipv4.tcp_rmem="4096 4096 4096" net.ipv4.tcp_wmem="4096 4096 4096" || return 1
	for c in / /metricsx /metrics/ /favicon.ico /api/v1/query; do
		[ "$(http_code "$c")" = 404 ] || fail "GET $c: $(http_code "$c"), want 404"
	done
	for c in POST PUT DELETE PATCH; do
		[ "$(http_code /metrics -X "$c" -d x)" = 405 ] || fail "$c /metrics: $(http_code /metrics -X "$c" -d x)"
	done
	in_srv curl -s -o /dev/null -D - -X POST "$(metrics_url)" | grep -qi '^allow: GET' || fail "405 without Allow: GET"
	long=$(head -c 100000 /dev/zero | tr '\0' 'a')
	c=$(http_code "/metrics?$long")
	log "100 kB URL: $c"
	[ "$c" -ge 400 ] && [ "$c" -lt 500 ] || fail "100 kB URL: $c, want 4xx"
	c=$(http_code /metrics -H "X-Junk: $long")
	[ "$c" -ge 400 ] && [ "$c" -lt 500 ] || fail "100 kB header: $c, want 4xx"

	# 100 scrapes at once, from 50 loopback addresses (MHD limits
	# connections per address): each gets the page or is turned away.
	codes=$(in_srv bash -c 'for i in $(seq 100); do
		curl -s -o /dev/null --max-time 10 -w "%{http_code}\n" --interface 127.0.0.$((i % 50 + 10)) "$1" &
	done; wait' sh "$(metrics_url)" | sort | uniq -c | tr -s ' \n' ' ')
	log "100 concurrent scrapes: $codes(count code; 000: connection refused by the limits)"
	echo "$codes" | grep -q ' 200' || fail "no concurrent scrape succeeded"
	echo "$codes" | grep -Eq ' 5[0-9][0-9]' && fail "server errors under concurrent scrapes"

	# a client that asks for the page and never reads it
	srv_bg 'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" >&3 && exec sleep 60' "$METRICS_PORT"
	holders+=("$BG_PID")
	wait_for 300 '[ "$(agent_unsent)" -gt 0 ]' || fail "the page fit in the socket buffers: the stuck client tests nothing"
	log "agent has $(agent_unsent) bytes queued for the client that never reads"
	# a request cut off before its end, left open
	srv_bg 'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "GET /metrics HTTP/1.1\r\nHost: x\r\n" >&3 && exec sleep 60' "$METRICS_PORT"
	holders+=("$BG_PID")
	# 100 connections that send nothing
	srv_bg 'for i in $(seq 100); do exec {fd}<>/dev/tcp/127.0.0.1/$0 || exit 1; done; exec sleep 60' "$METRICS_PORT"
	holders+=("$BG_PID")
	# every bad client has connected and sent what it sends (each then
	# execs sleep), or given up when a connection was refused
	wait_for 500 'all_settled "${holders[@]}"' || fail "bad clients did not all connect"

	ctl_fast "while bad clients hold connections" || return 1
	# they take slots of 127.0.0.1 only: another address still gets its page
	[ "$(http_code /metrics --interface 127.0.0.2)" = 200 ] || fail "scrape from 127.0.0.2 refused while 127.0.0.1 floods"
	kill "${holders[@]}"
	# the agent notices the closed connections and frees their slots
	wait_for 300 '[ "$(http_code /metrics)" = 200 ]' || fail "/metrics not 200 after the bad clients left: $(http_code /metrics)"
	ctl_fast "after the bad clients left"
	[ "$(n_workers app1)" -eq 41 ] || fail "workers changed: $(n_workers app1)"
	kill -0 "$AGENT_PID" || fail "agent died"
	ok=$(scrape | metric_sum xsl_workers 'app="app1"')
	[ "$ok" = 41 ] || fail "xsl_workers{app=\"app1\"} $ok after the bad clients"
}

ALL_TESTS="test_promtool_accepts_scrape_under_traffic test_prometheus_scrapes_agent
test_counters_match_datapath test_bad_http_requests_do_not_disturb_agent"
e2e_main
rm -rf "$TMP"
