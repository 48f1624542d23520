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
	# odd names: the condition is evaluated here and sees these locals
	local _wf_ticks=$1 _wf_n=0 _wf_now _wf_soft _wf_hard
	shift
	_wf_now=${EPOCHREALTIME/./}
	_wf_soft=$((_wf_now + _wf_ticks * 10000))
	_wf_hard=$((_wf_now + _wf_ticks * 100000 + 10000000))
	while :; do
		eval "$*" >/dev/null 2>&1 && return 0
		_wf_n=$((_wf_n + 1))
		_wf_now=${EPOCHREALTIME/./}
		{ [ "$_wf_n" -ge "$_wf_ticks" ] && [ "$_wf_now" -ge "$_wf_soft" ]; } && return 1
		[ "$_wf_now" -ge "$_wf_hard" ] && return 1
		sleep 0.01
	done
}
