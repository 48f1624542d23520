#!/usr/bin/env bash
# End to end with real servers from Debian, started through `xslctl run` in
# the srv namespace with XDP attached by `ip link`, driven by real clients
# from the cli namespace:
#  - nginx (TCP): the master binds one reuseport socket per worker and each
#    worker keeps its own; graceful reloads under wrk load replace every
#    worker while the old ones drain.
#  - NSD (UDP): server-count processes, one reuseport socket each; dig from
#    fixed source ports, stickiness read from NSD's own per-process counters.
# XSL_NGINX_RELOAD_SECS (default 30) sets how long nginx is reloaded;
# XSL_NGINX_RELOAD_LISTEN (default reuseport) the listen options while it is.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server.sh"

# configs, logs and client output of this file, removed at exit
SERVERS_TMP=$(mktemp -d /tmp/xsl-e2e-servers.XXXXXX)
trap 'e2e_cleanup; rm -rf "$SERVERS_TMP"' EXIT

NGINX=/usr/sbin/nginx
HTTP_PORT=8080
RELOAD_SECS=${XSL_NGINX_RELOAD_SECS:-30}
RELOAD_LISTEN=${XSL_NGINX_RELOAD_LISTEN-reuseport}

# (run puts them in their instance's cgroup, i<N> below the app's)
cgroup_pids() { cat "$CGROOT/$1/cgroup.procs" "$CGROOT/$1"/i*/cgroup.procs 2>/dev/null | sort -n | tr '\n' ' '; }
listener_field() { # proto field
	ctl --json show listeners | jq "[.listeners[] | select(.proto == \"$1\")] | .[0].$2 // 0"
}
words() { echo $#; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Polls a shell condition for up to $1 ms: for conditions that take a while
# to evaluate, where wait_for's tick count says little about the time.
wait_ms() {
	local end=$(($(now_ms) + $1))
	shift
	while [ "$(now_ms)" -lt "$end" ]; do
		eval "$*" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	eval "$*"
}
# No word of $2 is one of $1.
disjoint() {
	local w
	for w in $2; do
		case " $1 " in *" $w "*) return 1 ;; esac
	done
}

# ---- nginx ----

nginx_cmd() { in_srv "$NGINX" -p "$NGX_DIR" -e "$NGX_DIR/error.log" -c "$NGX_DIR/nginx.conf" "$@"; }

# Starts nginx as app web; sets NGX_DIR, NGX_MASTER, NGX_RUN.
nginx_start() {
	NGX_DIR=$(mktemp -d "$SERVERS_TMP/nginx.XXXXXX")
	nginx_conf "$NGX_DIR" "$1"
	bg in_srv "$XSLCTL" --socket "$SOCK" run web -- "$NGINX" -p "$NGX_DIR" \
		-e "$NGX_DIR/error.log" -c "$NGX_DIR/nginx.conf" -g 'daemon off;'
	NGX_RUN=$BG_PID
	wait_for 500 '[ -s "$NGX_DIR/nginx.pid" ]' || { fail "nginx did not start"; return 1; }
	NGX_MASTER=$(cat "$NGX_DIR/nginx.pid")
	wait_ms 5000 '[ "$(words $(ps_tree "$NGX_MASTER"))" -eq 5 ]' ||
		{ fail "nginx has not 4 workers: $(ps_tree "$NGX_MASTER")"; return 1; }
}

# Sums wrk's error lines in file $1 (socket errors and non-2xx/3xx).
wrk_errors() {
	awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx/ { n += $NF } END { print n + 0 }' "$1"
}
wrk_requests() { awk '/requests in/ { print $1 }' "$1"; }

wrk_run() { # seconds outfile [wrk options]
	local secs=$1 out=$2
	shift 2
	in_cli wrk -t2 -c32 -d"$secs"s --timeout 2s "$@" "http://$SRV_IP:$HTTP_PORT/" >"$out" 2>&1
}

# "client-port pid" of each established HTTP connection, from the server side.
# Joined on the socket inode with the fds of nginx's processes, not by
# `ss -p`, which was seen to name no process for any of them on a busy
# machine (its own walk of every process's fds).
conn_owners() {
	local p
	LC_ALL=C join <(in_srv ss -tneH state established "( sport = :$HTTP_PORT )" |
		awk 'match($0, /ino:[0-9]+/) { n = split($4, a, ":");
			print substr($0, RSTART + 4, RLENGTH - 4), a[n] }' | LC_ALL=C sort) \
		<(for p in $(ps_tree "$NGX_MASTER"); do
			find "/proc/$p/fd" -lname 'socket:*' -printf "%l $p\n" 2>/dev/null
		done | sed 's/^socket:\[\([0-9]*\)\]/\1/' | LC_ALL=C sort) |
		awk '{ print $2, $3 }' | sort
}
# "client-port pid" of each TCP session xsl has for app web.
session_owners() {
	ctl --json show sessions web --limit 10000 |
		jq -r '.sessions[] | select(.proto == "tcp") | "\(.remote | split(":") | last) \(.pid)"' | sort
}
# Worker indexes that have a socket in xsl_wsocks for the proto's listener.
wsock_workers() {
	local l
	l=$(listener_field "$1" index)
	bpftool map dump pinned "$PIN/xsl_wsocks" -j |
		jq -r '.[].key | map(ltrimstr("0x")) | [(.[0:4] | reverse | join("")),
			(.[4:8] | reverse | join(""))] | join(" ")' |
		while read -r hl hw; do [ $((16#$hl)) = "$l" ] && echo $((16#$hw)); done |
		sort -n | tr '\n' ' '
}
worker_index() { ctl --json show workers "$1" | jq -r ".workers[] | select(.pid == $2) | .index"; }

# master + 4 workers registered, exactly the processes ps and the cgroup see.
nginx_registered() {
	local want
	want=$(ps_tree "$NGX_MASTER")
	[ "$(words $want)" -eq 5 ] && [ "$(worker_pids web)" = "$want" ] &&
		[ "$(cgroup_pids web)" = "$want" ]
}

# The listener is served by the 4 workers, not by the master (which holds
# every socket but polls none).
nginx_workers_serve() {
	local want="" p
	for p in $(ps -o pid= --ppid "$NGX_MASTER"); do
		want="$want $(worker_index web "$p")"
	done
	want=$(echo $want | tr ' ' '\n' | sort -n | tr '\n' ' ')
	[ "$(listener_field tcp workers)" -eq 4 ] && [ "$(words $want)" -eq 4 ] &&
		[ "$(wsock_workers tcp)" = "$want" ]
}

# Registration, the listener's workers and 0 wrk errors; with $1 = owners,
# every keep-alive connection must be held by the worker xsl chose for it.
nginx_check_start() {
	wait_ms 5000 nginx_registered ||
		fail "workers $(worker_pids web) != nginx $(ps_tree "$NGX_MASTER") (cgroup $(cgroup_pids web))"
	wait_ms 3000 nginx_workers_serve ||
		fail "listener: $(ctl --json show listeners | jq -c .listeners), wsocks workers $(wsock_workers tcp)"
	local out conns sess
	out=$(mktemp "$SERVERS_TMP/wrk.XXXXXX")
	# long enough to be sampled on a loaded machine, where one sample (a
	# walk of nginx's fds and the sockets) can take a while
	bg wrk_run 6 "$out"
	local client=$BG_PID
	# sampled while wrk holds its connections
	wait_ms 5000 '[ "$(conn_owners | awk NF | wc -l)" -ge 28 ]' >/dev/null
	conns=$(conn_owners)
	sess=$(session_owners)
	wait "$client"
	log "wrk: $(wrk_requests "$out") requests, $(wrk_errors "$out") errors;" \
		"$(echo "$conns" | awk 'NF' | wc -l) connections on" \
		"$(echo "$conns" | awk 'NF { print $2 }' | sort -u | wc -l) workers"
	[ -n "$(wrk_requests "$out")" ] && [ "$(wrk_requests "$out")" -gt 0 ] ||
		fail "wrk got nothing: $(cat "$out")"
	[ "$(wrk_errors "$out")" = 0 ] || fail "wrk errors: $(grep -E 'errors|Non-2xx' "$out")"
	if [ "${1:-}" = owners ]; then
		# wrk keeps its 32 connections open (one may be between two)
		[ "$(echo "$conns" | awk 'NF' | wc -l)" -ge 28 ] ||
			fail "connections: $(echo "$conns" | tr '\n' ';')"
		[ "$(echo "$conns" | awk 'NF { print $2 }' | sort -u | wc -l)" -ge 3 ] ||
			fail "connections not spread over the workers:" \
				"$(echo "$conns" | awk '{ print $2 }' | sort | uniq -c | tr '\n' ';')"
		# join on the client port: the accepting pid must be the session's
		join <(echo "$conns") <(echo "$sess") | awk '$2 != $3 { bad++ } END { exit bad > 0 }' ||
			fail "connections held by another worker than their session's:" \
				"$(join <(echo "$conns") <(echo "$sess") | awk '$2 != $3' | head -5 | tr '\n' ';')"
		[ "$(join <(echo "$conns") <(echo "$sess") | wc -l)" -eq "$(echo "$conns" | awk 'NF' | wc -l)" ] ||
			fail "connections without a session"
	fi
	rm -f "$out"
}

nginx_quit() {
	nginx_cmd -s quit || fail "nginx -s quit failed"
	wait "$NGX_RUN" 2>/dev/null
	wait_ms 3000 '[ "$(n_apps)" -eq 0 ]' || fail "app web not freed: $(ctl show apps)"
	wait_ms 3000 '[ ! -d "$CGROOT/web" ]' || fail "cgroup $CGROOT/web not removed"
	[ "$(listener_field tcp sockets)" = 0 ] || fail "listener left: $(ctl --json show listeners)"
	rm -rf "$NGX_DIR"
}

test_nginx_registered_without_reuseport() {
	xdp_on || return 1
	nginx_start "" || return 1
	nginx_check_start
	log "listener: $(ctl --json show listeners | jq -c '.listeners[0] | {workers, sockets}')"
	nginx_quit
}

# Reloads nginx every 2 s under wrk load; after each reload the old workers
# must leave `show workers` as they exit and the new ones join it.
test_nginx_reload_under_load() {
	xdp_on || return 1
	nginx_start "$RELOAD_LISTEN" || return 1
	# a shared socket (no reuseport) goes to whichever worker accepts first
	case $RELOAD_LISTEN in
	*reuseport*) nginx_check_start owners ;;
	*) nginx_check_start ;;
	esac
	local out old new reloads=0 converged=0 t0 t1 slow=0 ms app
	out=$(mktemp "$SERVERS_TMP/wrk.XXXXXX")
	# a new connection per request: keep-alive requests racing the close of
	# a draining worker fail with plain nginx too (about 25 per reload, the
	# same with and without xsl); this way every request is a new session
	bg wrk_run $((RELOAD_SECS + 2)) "$out" -H "Connection: close"
	local client=$BG_PID
	# the load runs before the first reload
	# (any connection: one of these lives too short to be matched to its owner)
	wait_ms 6000 '[ -n "$(in_srv ss -tnH state established "( sport = :$HTTP_PORT )")" ]' \
		>/dev/null || fail "wrk did not connect"
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt "$RELOAD_SECS" ]; do
		old=$(ps -o pid= --ppid "$NGX_MASTER" | tr '\n' ' ')
		t1=$(now_ms)
		nginx_cmd -s reload || { fail "nginx -s reload failed"; break; }
		reloads=$((reloads + 1))
		# converged: 4 workers, none of the old ones, and the agent agrees
		if wait_ms 1900 'new=$(ps -o pid= --ppid "$NGX_MASTER" | tr "\n" " ");
			[ "$(words $new)" -eq 4 ] && disjoint "$old" "$new" && nginx_registered'; then
			converged=$((converged + 1))
			ms=$(($(now_ms) - t1))
			[ "$ms" -gt "$slow" ] && slow=$ms
		else
			fail "reload $reloads: workers $(worker_pids web) != nginx $(ps_tree "$NGX_MASTER")"
		fi
		# a reload every 2 s (pacing, not a wait)
		while [ $(($(now_ms) - t1)) -lt 2000 ]; do sleep 0.05; done
	done
	wait "$client"
	log "reloads $reloads, converged $converged (slowest $slow ms);" \
		"wrk: $(wrk_requests "$out") requests, $(wrk_errors "$out") errors"
	app=$(ctl --json show app web)
	log "$(echo "$app" | jq -c '{registrations: .app.registrations, detaches: .app.detaches}')"
	[ "$(wrk_errors "$out")" = 0 ] || fail "wrk errors: $(grep -E 'errors|Non-2xx' "$out")"
	[ "$converged" -eq "$reloads" ] || fail "$((reloads - converged)) reloads did not converge"
	nginx_registered || fail "end: workers $(worker_pids web) != nginx $(ps_tree "$NGX_MASTER")"
	# every old worker left through its exit, every new one came by fork
	echo "$app" | jq -e ".app.registrations.fork == $((4 * (reloads + 1))) and
		.app.registrations.reconcile == 0 and .app.detaches.exit == $((4 * reloads)) and
		.app.detaches.reconcile == 0" >/dev/null || fail "registrations/detaches: $app"
	wait_ms 3000 nginx_workers_serve ||
		fail "listener at the end: $(ctl --json show listeners | jq -c .listeners), wsocks workers $(wsock_workers tcp)"
	rm -f "$out"
	nginx_quit
}

# ---- NSD ----

DNS_PORT=5353
# port 41000 + k sends 2^k queries: per-process totals say which ports went where
SRC_BITS=8

# Writes nsd.conf and a zone into dir $1.
nsd_conf() {
	local d=$1
	cat >"$d/nsd.conf" <<EOF
server:
	server-count: 4
	reuseport: yes
	ip-address: $SRV_IP
	port: $DNS_PORT
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	pidfile: "$d/nsd.pid"
	logfile: "$d/nsd.log"
	xfrdfile: "$d/xfrd.state"
	zonelistfile: "$d/zone.list"
	verbosity: 1
remote-control:
	control-enable: yes
	control-interface: "$d/nsd.ctl"
zone:
	name: example.test
	zonefile: example.test.zone
EOF
	cat >"$d/example.test.zone" <<'EOF'
$ORIGIN example.test.
$TTL 60
@	IN SOA ns hostmaster 1 3600 600 86400 60
@	IN NS ns
ns	IN A 192.0.2.53
www	IN A 192.0.2.80
EOF
}

# $1 and every process below it.
ps_desc() {
	ps -e -o pid=,ppid= | awk -v r="$1" '{ kid[$2] = kid[$2] " " $1 }
		END { q = r; while (q != "") { n = split(q, a, " "); q = "";
			for (i = 1; i <= n; i++) { print a[i]; q = q kid[a[i]] } } }' |
		sort -n | tr '\n' ' '
}
# xfrd (the process started), main and 4 servers, all registered, no more.
nsd_registered() {
	local want
	want=$(ps_desc "$NSD_TOP")
	[ "$(words $want)" -eq 6 ] && [ "$(worker_pids dns)" = "$want" ] &&
		[ "$(cgroup_pids dns)" = "$want" ]
}
# NSD's slot (0-3) of server process $1: its title is "nsd: server <slot + 1>".
nsd_slot() {
	local c
	c=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	case $c in "nsd: server "[1-4]) echo $((${c#nsd: server } - 1)) ;; *) return 1 ;; esac
}
nsd_server_pids() {
	local p
	for p in $(cgroup_pids dns); do
		nsd_slot "$p" >/dev/null && echo "$p"
	done
}
# The UDP listener is served by the 4 server processes, not by main or xfrd
# (which hold every socket).
nsd_servers_serve() {
	local workers want="" p
	workers=$(ctl --json show workers dns)
	for p in $(nsd_server_pids); do
		want="$want $(echo "$workers" | jq ".workers[] | select(.pid == $p) | .index")"
	done
	want=$(echo $want | tr ' ' '\n' | sort -n | tr '\n' ' ')
	[ "$(words $want)" -eq 4 ] && [ "$(listener_field udp workers)" -eq 4 ] &&
		[ "$(wsock_workers udp)" = "$want" ]
}
# NSD's own per-process query counters "q0 q1 q2 q3". Debian's NSD 4.6
# collects them through a reload: every server process is replaced.
nsd_counts() {
	in_srv nsd-control -c "$NSD_DIR/nsd.conf" stats_noreset |
		awk -F'[.=]' '/^server[0-9]+\.queries=/ { sub("server", "", $1); q[$1] = $3 }
			END { print q[0] + 0, q[1] + 0, q[2] + 0, q[3] + 0 }'
}

# Port 41000 + k sends 2^k queries with dig; prints "port answers".
dig_round() {
	local k
	for k in $(seq 0 $((SRC_BITS - 1))); do
		echo "$((41000 + k)) $(in_cli dig -b "$CLI_IP#$((41000 + k))" @"$SRV_IP" -p $DNS_PORT \
			+short +tries=1 +time=1 $(for _ in $(seq $((1 << k))); do echo www.example.test; done) |
			grep -c '^192\.0\.2\.80$')"
	done
}
# "port pid slot" of each of the round's flows, from xsl's sessions.
flow_owners() {
	local sess k p
	sess=$(ctl --json show sessions dns --limit 10000)
	for k in $(seq 0 $((SRC_BITS - 1))); do
		p=$(echo "$sess" | jq -r ".sessions[] | select(.remote == \"$CLI_IP:$((41000 + k))\") | .pid")
		echo "$((41000 + k)) ${p:-none} $(nsd_slot "${p:-0}" || echo none)"
	done
}

# NSD forks server-count processes that each keep one reuseport socket;
# dig sends from fixed source ports, one flow each, before and after a
# server is killed (NSD starts a new one in its slot). xsl's sessions say
# which process got each flow; NSD's own per-process query counters must
# agree to the query: each port sends 2^k queries, so a query counted by
# another process than the one xsl chose changes the totals.
test_nsd_flows_stick_to_their_server() {
	xdp_on || return 1
	NSD_DIR=$(mktemp -d "$SERVERS_TMP/nsd.XXXXXX")
	nsd_conf "$NSD_DIR"
	bg in_srv "$XSLCTL" --socket "$SOCK" run dns -- nsd -d -c "$NSD_DIR/nsd.conf"
	wait_for 500 '[ -s "$NSD_DIR/nsd.pid" ]' || { fail "nsd did not start"; return 1; }
	NSD_TOP=$(cat "$NSD_DIR/nsd.pid")
	wait_ms 5000 nsd_registered ||
		fail "workers $(worker_pids dns) != nsd $(ps_desc "$NSD_TOP") (cgroup $(cgroup_pids dns))"

	# the first counter read replaces main and every server: all registered anew
	local base before
	before=$(nsd_server_pids | tr '\n' ' ')
	base=$(nsd_counts)
	wait_ms 5000 'disjoint "$before" "$(nsd_server_pids)" && nsd_registered' ||
		fail "after NSD's reload: workers $(worker_pids dns) != nsd $(ps_desc "$NSD_TOP")"
	wait_ms 5000 nsd_servers_serve ||
		fail "udp listener: $(ctl --json show listeners | jq -c .listeners), wsocks workers $(wsock_workers udp)"

	local ra rb oa ob vpid after want
	ra=$(dig_round)
	oa=$(flow_owners)
	log "round 1 (port:slot): $(echo "$oa" | awk '{ printf "%s:%s ", $1, $3 }')"
	[ "$(echo "$oa" | awk '{ print $3 }' | sort -u | grep -c '^[0-3]$')" -ge 2 ] ||
		fail "flows not spread over the servers: $(echo "$oa" | tr '\n' ';')"

	# kill the server of the first port; NSD starts a new one in its slot
	vpid=$(echo "$oa" | awk 'NR == 1 { print $2 }')
	kill -9 "$vpid"
	wait_ms 5000 '! kill -0 "$vpid" && [ "$(nsd_server_pids | wc -l)" -eq 4 ] && nsd_registered' ||
		fail "after the kill: workers $(worker_pids dns) != nsd $(ps_desc "$NSD_TOP")"
	wait_ms 5000 nsd_servers_serve ||
		fail "after the kill: $(ctl --json show listeners | jq -c .listeners), wsocks workers $(wsock_workers udp)"
	rb=$(dig_round)
	ob=$(flow_owners)
	log "round 2 after killing pid $vpid (slot $(echo "$oa" | awk 'NR == 1 { print $3 }')):" \
		"$(echo "$ob" | awk '{ printf "%s:%s ", $1, $3 }')"
	after=$(nsd_counts)

	echo "$ra $rb" | tr ' ' '\n' | paste - - | awk '$2 != 2 ^ ($1 - 41000) { bad = 1 } END { exit bad }' ||
		fail "lost answers: $(echo "$ra"; echo "$rb" | tr '\n' ';')"
	# flows of live servers stayed on them, those of the killed one moved
	join <(echo "$oa") <(echo "$ob") | awk -v v="$vpid" '
		$2 == "none" || $4 == "none" || $4 == v || ($2 != v && $4 != $2) { bad = 1 }
		END { exit bad }' || fail "flows: $(join <(echo "$oa") <(echo "$ob") | tr '\n' ';')"
	# NSD's counters: the killed process's count died with it (NSD keeps
	# no count of a process it did not reap through a reload)
	want=$({ echo "$oa" | awk -v v="$vpid" '$2 != v'; echo "$ob"; } |
		awk '{ q[$3] += 2 ^ ($1 - 41000) } END { print q[0] + 0, q[1] + 0, q[2] + 0, q[3] + 0 }')
	log "NSD counted per slot: $(echo "$base $after" | awk '{ print $5 - $1, $6 - $2, $7 - $3, $8 - $4 }')," \
		"xsl's sessions predict: $want"
	[ "$(echo "$base $after" | awk '{ print $5 - $1, $6 - $2, $7 - $3, $8 - $4 }')" = "$want" ] ||
		fail "NSD's per-process counts differ from xsl's sessions"

	in_srv nsd-control -c "$NSD_DIR/nsd.conf" stop >/dev/null || fail "nsd-control stop failed"
	wait "$BG_PID" 2>/dev/null
	wait_ms 5000 '[ "$(n_apps)" -eq 0 ]' || fail "app dns not freed: $(ctl show apps)"
	wait_ms 3000 '[ ! -d "$CGROOT/dns" ]' || fail "cgroup $CGROOT/dns not removed"
	rm -rf "$NSD_DIR"
}

ALL_TESTS="test_nginx_registered_without_reuseport test_nginx_reload_under_load
test_nsd_flows_stick_to_their_server"
e2e_main
