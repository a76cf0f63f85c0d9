#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Builds .output/twinguard_<version>_<arch>.deb from `make install` into a
# staging tree (PREFIX=/usr), with dpkg-deb. No debhelper: the package is one
# binary, a conffile, a unit and rules.
#
#   packaging/build-deb.sh            version from `git describe`
#   VERSION=1.2.3 packaging/build-deb.sh
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

PREFIX=/usr
OUTPUT=.output
ARCH=$(dpkg --print-architecture)

# A Debian version must start with a digit: a tag "v1.2.0-3-gabc" becomes
# "1.2.0+3.gabc"; a bare commit id (no tags yet) becomes "0.1.0+g<id>".
deb_version() {
	local desc
	desc=$(git describe --always --tags 2>/dev/null) || {
		echo 0.1.0
		return
	}
	if [[ $desc =~ ^v?[0-9]+\. ]]; then
		desc=${desc#v}
		echo "$desc" | sed 's/-/+/; s/-/./g'
	else
		echo "0.1.0+g$desc"
	fi
}
VERSION=${VERSION:-$(deb_version)}

# Build first: never package a stale or missing binary.
make --no-print-directory all

staging=$(mktemp -d "${TMPDIR:-/tmp}/twinguard-deb.XXXXXX")
trap 'rm -rf "$staging"' EXIT
chmod 0755 "$staging"

make --no-print-directory install DESTDIR="$staging" PREFIX="$PREFIX"

unit=$staging$PREFIX/lib/systemd/system/twinguard.service
[[ -f $unit ]] || { echo "build-deb: $unit not installed" >&2; exit 1; }
sed -i "s#/usr/local/sbin/twinguard#$PREFIX/sbin/twinguard#g" "$unit"
grep -q "^ExecStart=$PREFIX/sbin/twinguard " "$unit" ||
	{ echo "build-deb: failed to rewrite ExecStart in $unit" >&2; exit 1; }

# systemd opens StandardOutput=append: before creating LogsDirectory=
# (systemd #27591), so the package ships the log directory itself.
install -d -m 0750 "$staging/var/log/twinguard"

install -d -m 0755 "$staging/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$staging" | cut -f1)
cat >"$staging/DEBIAN/control" <<CONTROL
Package: twinguard
Version: $VERSION
Architecture: $ARCH
Maintainer: twinguard developers <twinguard@localhost>
Section: admin
Priority: optional
Installed-Size: $installed_kb
Depends: libc6, libbpf1, libelf1, zlib1g, libcjson1, libssl3, libcurl4, librelp0, libmicrohttpd12, libsystemd0
Description: eBPF security agent
 twinguard watches process, file and network activity with eBPF programs
 and reports rule matches as JSON alerts.
CONTROL

printf "%s\n" /etc/twinguard/twinguard.conf /etc/twinguard/twin-profile.json >"$staging/DEBIAN/conffiles"

# Reload units on install/removal; stop the agent before its files go.
# Not enabled or started automatically: rules should be reviewed first.
cat >"$staging/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
SCRIPT
cat >"$staging/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl stop twinguard.service >/dev/null 2>&1 || true
fi
exit 0
SCRIPT
cat >"$staging/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
SCRIPT
chmod 0755 "$staging/DEBIAN/postinst" "$staging/DEBIAN/prerm" "$staging/DEBIAN/postrm"

mkdir -p "$OUTPUT"
deb=$OUTPUT/twinguard_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$staging" "$deb" >/dev/null
echo "build-deb: wrote $deb"
