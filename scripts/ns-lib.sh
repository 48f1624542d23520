#!/usr/bin/env bash
# Shared by the demo, the e2e tests and the benchmarks (sourced): the state a
# private mount namespace needs, cgroup clean-up and polling.

# In a fresh private mount namespace (after `unshare -m`): a bpffs of our
# own, /run/netns for `ip netns`, and CG2 set to the cgroup v2 mount (one
# private to this namespace when the host has none). Returns 1 on failure.
xsl_ns_setup() {
	mount --make-rprivate / && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/netns || return 1
	CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$CG2" ]; then
		mount -t tmpfs tmpfs /mnt && mkdir /mnt/cgroup2 && mount -t cgroup2 none /mnt/cgroup2 &&
			CG2=/mnt/cgroup2
	fi
	[ -n "$CG2" ]
}

# Kills every process below a cgroup directory and removes it, deepest
# first; 1 when it is still there after a few seconds.
cgroup_destroy() {
	local dir=$1
	[ -d "$dir" ] || return 0
	[ -e "$dir/cgroup.kill" ] && echo 1 >"$dir/cgroup.kill" 2>/dev/null
	for _ in $(seq 50); do
		find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$dir" ] || return 0
		sleep 0.05
	done
	return 1
}

# Polls a shell condition (evaluated afresh each time) until it holds; the
# timeout is in hundredths of a second. 1 when it never held. On a loaded
# machine a condition may take long to evaluate: it is tried at least
# `ticks` times (the timeout stretches), but never for longer than ten
# times the timeout plus 10 s, so a condition that hangs cannot stall a test.
wait_for() {
	local ticks=$1 n=0 now t0 soft hard
	shift
	t0=${EPOCHREALTIME/./}
	soft=$((t0 + ticks * 10000))
	hard=$((t0 + ticks * 100000 + 10000000))
	while :; do
		eval "$*" >/dev/null 2>&1 && return 0
		n=$((n + 1))
		now=${EPOCHREALTIME/./}
		{ [ "$n" -ge "$ticks" ] && [ "$now" -ge "$soft" ]; } && return 1
		[ "$now" -ge "$hard" ] && return 1
		sleep 0.01
	done
}
