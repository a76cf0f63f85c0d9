#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The one dependency script: `make run`, `make test` and `make bench` call it
# (through `make deps`). Debian 12, as root. Installs only the packages that
# are missing, so a host that has everything pays one dpkg-query (~20 ms).
set -euo pipefail

build=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libcjson-dev libssl-dev pkg-config libcurl4-openssl-dev librelp-dev
	libmicrohttpd-dev libsystemd-dev)
# Real collectors the delivery tests start on loopback (docs/delivery.md).
tests=(libcriterion-dev iproute2 valgrind util-linux procps rsyslog
	rsyslog-relp rsyslog-kafka rsyslog-elasticsearch prometheus python3-jsonschema
	python3-yaml openssl)
lab=(mosquitto mosquitto-clients libmosquitto-dev logrotate jq curl)
bench=(auditd)
all=("${build[@]}" "${tests[@]}" "${lab[@]}" "${bench[@]}")

die() {
	echo "deps: $*" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] ||
	die "must run as root to install packages (running as uid $(id -u)); try 'sudo make ...'"
command -v dpkg-query >/dev/null && command -v apt-get >/dev/null ||
	die "dpkg-query/apt-get not found: twinguard supports Debian 12 only"

# One dpkg-query for all names; unknown names only print to stderr.
declare -A installed=()
while read -r pkg status; do
	[[ $status == "install ok installed" ]] && installed[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${all[@]}" 2>/dev/null || true)

missing=()
for pkg in "${all[@]}"; do
	[[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all ${#all[@]} packages present"
	exit 0
fi

# Daemons whose postinst would start them: auditd would load audit rules
# and skew `make bench`; rsyslog and prometheus would hold the ports and
# files the tests start their own instances on.
daemons=(auditd rsyslog prometheus)
want_stop=0
for pkg in "${missing[@]}"; do
	for d in "${daemons[@]}"; do
		[[ $pkg == "$d" || $pkg == "$d"-* ]] && want_stop=1
	done
done

# Where no policy-rc.d exists, add one that refuses only those daemons for
# the duration of the install (the standard Debian hook, honoured by
# invoke-rc.d and deb-systemd-invoke).
policy=/usr/sbin/policy-rc.d
own_policy=0
log=$(mktemp /tmp/tg-deps.XXXXXX)
cleanup() {
	((own_policy)) && rm -f "$policy"
	rm -f "$log"
}
trap cleanup EXIT
if ((want_stop)) && [[ ! -e $policy ]]; then
	printf '#!/bin/sh\ncase "$1" in auditd|rsyslog|prometheus) exit 101;; esac\nexit 0\n' >"$policy"
	chmod 0755 "$policy"
	own_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q &&
	apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	die "failed to install: ${missing[*]}"
fi

# Belt and braces: the daemon must not be left running or enabled, whether
# or not policy-rc.d held it back. A container may have no systemd at all.
if ((want_stop)); then
	for d in "${daemons[@]}"; do
		if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
			systemctl stop "$d.service" >/dev/null 2>&1 || true
			systemctl disable "$d.service" >/dev/null 2>&1 || true
		else
			command -v systemctl >/dev/null &&
				{ systemctl disable "$d.service" >/dev/null 2>&1 || true; }
			service "$d" stop >/dev/null 2>&1 || true
			command -v update-rc.d >/dev/null &&
				{ update-rc.d "$d" disable >/dev/null 2>&1 || true; }
		fi
	done
fi

echo "deps: installed ${missing[*]}"
