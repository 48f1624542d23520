#!/usr/bin/env bash
# Throughput through the veth pair to a 4-worker server, plain SO_REUSEPORT
# against xsl (XDP attached with `ip link` + sk_lookup + agent), in the same
# run. Three pairs live side by side: pair 1 runs the test server directly;
# pair 3 the same with a pass-only XDP program on its veth (any XDP program
# moves a veth to its XDP receive path, a cost of its own, so this baseline
# separates it from xsl's); pair 2 runs the server through `xslctl run` with
# xsl's XDP on its veth. The runs rotate over the pairs so drift on the
# machine hits all alike. The pass-only program (tests/bench/xdp_pass.bpf.c)
# is built here with clang; without clang that column is left out.
#
#   UDP: xsl_udpblast, F flows each keeping W requests out; replies/s.
#   TCP: wrk with "Connection: close" against the server's --http mode, so
#        every request is a new connection (and a new session); requests/s.
# Each figure is the median of RUNS runs of SECS seconds; the ratio is
# xsl / reuseport of the medians (goal >= 0.95), and xsl / reuseport+XDP_PASS.
#
# Knobs (environment): XSL_BENCH_RUNS (5), XSL_BENCH_SECS (3),
# XSL_BENCH_UDP_FLOWS (64), XSL_BENCH_UDP_WINDOW (8), XSL_BENCH_WRK_CONNS (32).
. "$(dirname "$0")/lib.sh"

RUNS=${XSL_BENCH_RUNS:-5}
SECS=${XSL_BENCH_SECS:-3}
UFLOWS=${XSL_BENCH_UDP_FLOWS:-64}
UWINDOW=${XSL_BENCH_UDP_WINDOW:-8}
CONNS=${XSL_BENCH_WRK_CONNS:-32}
WORKERS=4
PLAIN=1
XSL=2
PASS=3
CLANG=$(command -v clang-19 || command -v clang)

udp_run() { # pair
	in_cli "$1" "$UDPBLAST" --addr "$(srv_ip "$1")" --port $PORT --flows "$UFLOWS" \
		--window "$UWINDOW" --duration "$SECS"
}

# Prints "requests_per_s errors" of one wrk run against pair N.
tcp_run() {
	local out errs
	out=$(in_cli "$1" wrk -t1 -c"$CONNS" -d"${SECS}s" -H "Connection: close" \
		"http://$(srv_ip "$1"):$PORT/" 2>&1)
	errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s = $4 + $6 + $8 + $10 }
		/Non-2xx/ { s += $NF } END { print s + 0 }')
	echo "$(echo "$out" | awk '/^Requests\/sec/ { print $2 }') $errs"
}

echo "== throughput: $WORKERS workers, median of $RUNS x ${SECS}s, runs rotating over reuseport, reuseport+XDP_PASS, xsl"
pair_up $PLAIN
pair_up $XSL
server_start $PLAIN $WORKERS - --http
PAIRS="$PLAIN $XSL"
if [ -n "$CLANG" ] && "$CLANG" -target bpf -O2 -I"/usr/include/$(gcc -print-multiarch)" \
	-c "$BENCH_ROOT/tests/bench/xdp_pass.bpf.c" -o "$B_TMP/xdp_pass.o"; then
	pair_up $PASS
	in_srv $PASS ip link set dev "$(srv_if $PASS)" xdp obj "$B_TMP/xdp_pass.o" sec xdp ||
		die "cannot attach the pass-only XDP program"
	server_start $PASS $WORKERS - --http
	PAIRS="$PLAIN $PASS $XSL"
else
	log "no clang for the pass-only XDP program: reuseport+XDP_PASS left out"
fi
agent_start $XSL ${XSL_BENCH_AGENT_ARGS:-}
xdp_on $XSL
server_start $XSL $WORKERS bench --http
wait_for 500 '[ "$(listener_workers udp)" -eq $WORKERS ] && [ "$(listener_workers tcp)" -eq $WORKERS ]' ||
	die "xsl: the listeners do not have $WORKERS workers each"

# a second of traffic to both first: caches, ARP, first sessions
for p in $PAIRS; do
	SECS=1 udp_run $p >/dev/null
done

R="$B_TMP/results"
: >"$R"
for _ in $(seq "$RUNS"); do
	for p in $PAIRS; do
		line=$(udp_run $p)
		echo "udp $p $(echo "$line" | field replies_per_s) $(echo "$line" | field workers)" >>"$R"
	done
done
for _ in $(seq "$RUNS"); do
	for p in $PAIRS; do
		echo "tcp $p $(tcp_run $p)" >>"$R"
	done
done

med() { awk -v k="$1" -v p="$2" '$1 == k && $2 == p { print $3 }' "$R" | median; }
runs() { awk -v k="$1" -v p="$2" '$1 == k && $2 == p { printf "%s%.0f", sep, $3; sep = " " }' "$R"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; }

u_plain=$(med udp $PLAIN)
u_pass=$(med udp $PASS)
u_xsl=$(med udp $XSL)
t_plain=$(med tcp $PLAIN)
t_pass=$(med tcp $PASS)
t_xsl=$(med tcp $XSL)
u_ratio=$(ratio "$u_xsl" "$u_plain")
t_ratio=$(ratio "$t_xsl" "$t_plain")
t_errs=$(awk '$1 == "tcp" { s += $4 } END { print s + 0 }' "$R")
u_workers=$(awk '$1 == "udp" { print $4 }' "$R" | sort -n | head -1)

echo
fmt='  %-32s %11s %11s %11s %8s %9s\n'
printf "$fmt" "metric (median)" "reuseport" "rp+XDP_PASS" "xsl" "xsl/rp" "xsl/rp+XP"
printf "$fmt" "--------------------------------" "-----------" "-----------" "-----------" "--------" "---------"
printf "$fmt" "UDP datagrams/s (request+reply)" "$(printf %.0f "$u_plain")" "$(printf %.0f "$u_pass")" \
	"$(printf %.0f "$u_xsl")" "$u_ratio" "$(ratio "$u_xsl" "$u_pass")"
printf "$fmt" "TCP connections/s (wrk, HTTP)" "$(printf %.0f "$t_plain")" "$(printf %.0f "$t_pass")" \
	"$(printf %.0f "$t_xsl")" "$t_ratio" "$(ratio "$t_xsl" "$t_pass")"
echo
log "UDP runs reuseport: $(runs udp $PLAIN); +XDP_PASS: $(runs udp $PASS); xsl: $(runs udp $XSL) (replies/s, $UFLOWS flows x $UWINDOW out)"
log "TCP runs reuseport: $(runs tcp $PLAIN); +XDP_PASS: $(runs tcp $PASS); xsl: $(runs tcp $XSL) (requests/s, wrk -c$CONNS, Connection: close)"
log "wrk errors over all runs: $t_errs; fewest workers answering a UDP run: $u_workers"
log "xsl data path: $(ctl --json show stats | jq -r '.stats | "sessions created \(.session_created), lookup hits \(.lookup_hit), sk_lookup assigned \(.sk_assigned)"')"
for k in "UDP $u_ratio" "TCP $t_ratio"; do
	set -- $k
	if awk -v r="$2" 'BEGIN { exit !(r >= 0.95) }'; then
		log "goal met: $1 xsl/reuseport $2 >= 0.95"
	else
		log "goal NOT met: $1 xsl/reuseport $2 < 0.95"
	fi
done
