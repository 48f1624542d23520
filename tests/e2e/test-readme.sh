#!/usr/bin/env bash
# The README's commands, run as written: the tour (with the agent's
# defaults, on a private /run/xsl) and the interface commands (eth0 is the
# test's veth). A README edit that breaks a command fails here.
E2E_NO_AGENT=1
. "$(dirname "$0")/lib.sh"


# Runs one README line in the srv namespace from the repository root.
run_line() {
	local line=$1
	line=${line%%#*}
	line=${line//eth0/$SRV_IF}
	[ -n "${line// /}" ] || return 0
	log "\$ $line"
	(cd "$E2E_ROOT" && in_srv bash -c "$line") >>"$E2E_TMP/readme.out" 2>&1
}

test_readme_tour() {
	# the agent's default socket, on a tmpfs only this test sees
	mkdir -p /run/xsl && mount -t tmpfs tmpfs /run/xsl || return 1
	local line n=0
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		*xsl-agent*\&*)
			# the default cgroup root, but one this test owns
			line=${line/xsl-agent/xsl-agent --cgroup-root $CGROOT}
			line=${line%&*}
			(cd "$E2E_ROOT" && nsenter --net="/run/netns/$SRV_NS" ${line%%#*} \
				>>"$AGENT_LOG" 2>&1 &)
			wait_for 300 '[ -S /run/xsl/xsl.sock ]' || fail "agent did not start"
			E2E_PIDS+=("$(pgrep -n -f "xsl-agent --cgroup-root $CGROOT")")
			;;
		*) run_line "$line" || fail "README command failed: $line" ;;
		esac
		# the server's workers are registered before the shows
		case $line in *"xslctl run"*)
			wait_for 300 '[ "$(in_srv build/xslctl --json show workers web | jq ".workers | length")" -eq 5 ]' ||
				fail "workers not registered" ;;
		esac
	done < <(cd "$E2E_ROOT" && readme_block "## A five-minute tour")
	# a renamed heading or a moved block must not pass with nothing run
	[ "$n" -ge 5 ] || fail "only $n lines under \"## A five-minute tour\" in README.md"
	grep -q '^xsl_workers{app="web"} 5' "$E2E_TMP/readme.out" || fail "metrics line missing"
	grep -q 'reassign' "$E2E_TMP/readme.out" || fail "show apps output missing"
	umount -l /run/xsl
}

test_readme_interface_commands() {
	mkdir -p /run/xsl && mount -t tmpfs tmpfs /run/xsl || return 1
	(cd "$E2E_ROOT" && nsenter --net="/run/netns/$SRV_NS" build/xsl-agent \
		--cgroup-root "$CGROOT" --metrics none >>"$AGENT_LOG" 2>&1 &)
	wait_for 300 '[ -S /run/xsl/xsl.sock ]' || fail "agent did not start"
	E2E_PIDS+=("$(pgrep -n -f "xsl-agent --cgroup-root $CGROOT")")
	local line n=0
	while IFS= read -r line; do
		n=$((n + 1))
		run_line "$line" || fail "README command failed: $line"
		# each loader detaches before the next one attaches
		case $line in "ip link"*) in_srv ip link set dev "$SRV_IF" xdp off ;; esac
	done < <(readme_block "### Attaching to an interface")
	[ "$n" -ge 2 ] || fail "only $n lines under \"### Attaching to an interface\" in README.md"
	umount -l /run/xsl
}

ALL_TESTS="test_readme_tour test_readme_interface_commands"
e2e_main
