#!/usr/bin/env bash
# Install the Debian packages xsl needs to build, test, demo and benchmark.
# Idempotent: runs `apt-get update` and installs only when something is missing.
set -euo pipefail

PKGS=(
	make gcc clang clang-19 llvm-19 libc6-dev linux-libc-dev pkg-config
	libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
	libcmocka-dev libmicrohttpd-dev libjansson-dev
	prometheus iproute2 socat iperf3 nginx wrk procps psmisc jq curl util-linux
	nsd dnsutils ethtool python3
	help2man man-db tmux
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run as root (make deps)" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# nginx, prometheus and nsd are test peers, not services to run here: on a
# machine with systemd, stop and disable what this install just enabled.
if [ -d /run/systemd/system ]; then
	for unit in nginx prometheus nsd; do
		case " ${missing[*]} " in
		*" $unit "*) systemctl disable --now "$unit" >/dev/null 2>&1 || true ;;
		esac
	done
fi
