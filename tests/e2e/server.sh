#!/usr/bin/env bash
# Helpers around the forking test server (tests/helpers/xsl_testsrv.c) and
# the UDP flow client, shared by the e2e files that drive them. Sourced after
# lib.sh; the file sets PORT.

# Starts the test server as app1 with N workers (extra args go to the
# server) in a process group of its own; sets MASTER, RUN_PID (xslctl run's
# pid: nsenter and setsid exec) and SRV_OUT; waits for master + N workers
# to be registered.
start_server() {
	local n=$1
	shift
	SRV_OUT="$E2E_TMP/server.out"
	bg nsenter --net="/run/netns/$SRV_NS" setsid "$XSLCTL" --socket "$SOCK" run app1 -- \
		"$TESTSRV" --port "$PORT" --workers "$n" --storm 1000 "$@" >"$SRV_OUT" 2>&1
	RUN_PID=$BG_PID
	wait_for 500 '[ "$(grep -c "^worker" "$SRV_OUT")" -ge "$n" ]' || return 1
	MASTER=$(awk '/^master/ { print $2 }' "$SRV_OUT")
	wait_for 500 '[ "$(n_workers app1)" -eq $((n + 1)) ]'
}

n_workers() { ctl --json show workers "$1" 2>/dev/null | jq '.workers | length'; }
worker_pids() { ctl --json show workers "$1" 2>/dev/null | jq -r '.workers[].pid' | sort -n | tr '\n' ' '; }
# The server's processes that are still alive, as worker_pids prints them.
server_pids() {
	{ echo "$MASTER"; awk '/^worker/ { print $2 }' "$SRV_OUT"; } | while read -r p; do
		kill -0 "$p" 2>/dev/null && echo "$p"
	done | sort -n | tr '\n' ' '
}
udp_listener_workers() {
	ctl --json show listeners | jq '[.listeners[] | select(.proto == "udp")] | .[0].workers // 0'
}
ctr() { ctl --json show stats | jq ".stats.$1"; }
n_apps() { ctl --json show apps | jq '.apps | length'; }
n_sessions() { ctl --json show sessions "$@" --limit 1 | jq '.total'; }

udp() { in_cli "$UDPCLIENT" --addr "$SRV_IP" --port "$PORT" "$@"; }
# Runs the UDP client in the background, its output in $1.
udp_bg() {
	local out=$1
	shift
	bg sh -c "nsenter --net=/run/netns/$CLI_NS $UDPCLIENT --addr $SRV_IP --port $PORT $* >$out"
}
# The value after KEY in a "key value key value" line.
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

xdp_on() { in_srv ip link set dev "$SRV_IF" xdp obj "$BUILD/xsl_xdp.bpf.o" sec xdp; }

# A process and its children, as ps sees them.
ps_tree() { { echo "$1"; ps -o pid= --ppid "$1"; } | tr -d ' ' | sort -n | tr '\n' ' '; }

# Writes nginx.conf into dir $1 (4 workers serving "ok" on SRV_IP:HTTP_PORT,
# every file of nginx inside $1); $2: extra listen parameters.
nginx_conf() {
	local d=$1
	cat >"$d/nginx.conf" <<EOF
worker_processes 4;
pid $d/nginx.pid;
error_log $d/error.log notice;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	server {
		listen $SRV_IP:$HTTP_PORT $2;
		location / { return 200 "ok\n"; }
	}
}
EOF
}
