#!/usr/bin/env bash
# End to end: looking at the agent must not disturb it or mislead. Slow HTTP
# clients cannot keep /metrics from a scraper; a client polling `show
# sessions` does not stop the session GC; a worker index reused after a
# worker died does not inherit the dead one's sessions; sessions of a
# socket shared by every process name no pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

PORT=5600
SESSFILL="$BUILD/tests/helpers/xsl_sessfill"

metrics_url() { echo "http://127.0.0.1:$METRICS_PORT/metrics"; }
scrape() { in_srv curl -sf --max-time "${1:-5}" "$(metrics_url)"; }
# Sum of the samples of family $1 whose labels contain $2 (all with no $2).
metric_sum() {
	awk -v f="$1" -v l="${2:-}" '
		$1 == f || index($1, f "{") == 1 { if (l == "" || index($1, l)) s += $NF }
		END { printf "%d\n", s }'
}

# N clients on 127.0.0.1 each send a request line, then one header line
# every GAP seconds (never idle long enough for an inactivity timeout),
# for at most HOLD seconds. Prints "ready" once all are connected, then at
# the end one line per client: "client I closed SECONDS" (the server closed
# it that long after it connected) or "client I open SECONDS".
slow_clients() {
	python3 - "$@" <<'EOF'
import socket, sys, threading, time

n, port, gap, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
out = [None] * n
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    conns.append((s, time.monotonic()))
print("ready", flush=True)


def drip(i, s, t0):
    s.settimeout(0.1)
    nxt = t0 + gap
    while time.monotonic() - t0 < hold:
        try:
            d = s.recv(4096)
            if not d or b"HTTP/" in d:
                break
        except socket.timeout:
            pass
        except OSError:
            break
        if time.monotonic() >= nxt:
            try:
                s.sendall(b"X-Slow-%d: x\r\n" % i)
            except OSError:
                break
            nxt += gap
    else:
        out[i] = "open %.1f" % (time.monotonic() - t0)
        return
    out[i] = "closed %.1f" % (time.monotonic() - t0)


threads = [threading.Thread(target=drip, args=(i, s, t0)) for i, (s, t0) in enumerate(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i, o in enumerate(out):
    print("client", i, o, flush=True)
EOF
}

# Item 7: 20 slow-drip clients from 127.0.0.1 (more than the per-address
# limit of 16) and a scraper on 127.0.0.1: the scraper gets its page within
# 2 s each time, and every slow client is closed by its deadline (5 s after
# it connected, 100 ms tick) although it never goes quiet.
test_slow_metrics_clients_do_not_lock_out_scraper() {
	local out=$E2E_TMP/slow.out t0 t1 i worst
	bg in_srv bash -c "$(declare -f slow_clients); slow_clients 20 $METRICS_PORT 1 15" >"$out" 2>&1
	wait_for 500 'grep -q ^ready "$out"' || { cat "$out"; fail "slow clients did not connect"; return 1; }
	for i in 1 2 3 4; do
		t0=$(date +%s%N)
		scrape 2 | grep -q '^xsl_build_info{' || fail "scrape $i: no page within 2 s while slow clients hold connections"
		t1=$(date +%s%N)
		log "scrape $i: $(((t1 - t0) / 1000000)) ms"
		sleep 1
	done
	wait_for 2000 '[ "$(grep -c "^client" "$out")" = 20 ]' || fail "slow clients did not finish: $(cat "$out")"
	grep -q ' open ' "$out" && fail "slow clients still open after 15 s: $(grep -c ' open ' "$out")"
	# deadline 5 s, checked every 100 ms; 7.5 s leaves room for a loaded machine
	worst=$(awk '$3 == "closed" && $4 > w { w = $4 } END { print w + 0 }' "$out")
	log "slow clients closed after at most ${worst} s"
	awk -v w="$worst" 'BEGIN { exit !(w <= 7.5) }' || fail "a slow client was closed only after $worst s"
	scrape | grep '^xsl_metrics_connections_closed_total' | sed 's/^/  #   /'
	[ "$(scrape | metric_sum xsl_metrics_connections_closed_total 'reason="deadline"')" -ge 1 ] ||
		fail "no connection closed by its deadline"
}

ALL_TESTS="test_slow_metrics_clients_do_not_lock_out_scraper"
e2e_main
