#!/bin/bash
# Builds CRIU 4.1.1 (Debian trixie's upstream tarball) with this directory's patches into
# target/criu/ (`make criu`). kdat-cache.patch: CRIU probes the kernel (about 20 ms, a network
# namespace and a veth pair among others) on every run unless it can cache what it found in
# /run/criu.kdat, which it does only on a tmpfs; the patch lets CRIU_KDAT_DIR name a directory
# that lasts no longer than the boot (faas-local passes its own temporary one).
# Debian 12's CRIU 3.17.1 fails `criu check` on this kernel ("vdso: Unexpected rt vDSO area
# bounds"); 4.1.1 passes it but cannot dump a TCP socket on Linux 6.18, which refuses
# SO_PASSCRED and SO_PASSSEC on sockets other than unix and netlink ones: the patch skips those
# two options when the kernel says EOPNOTSUPP. Run as root (apt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../target/criu
mkdir -p "$out"
cd "$out"
deps=(libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev libnl-3-dev
  libprotobuf-c-dev libprotobuf-dev pkgconf protobuf-c-compiler protobuf-compiler uuid-dev
  python3-protobuf)
# A fresh machine's package lists may be empty or stale: update them once if the install fails.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${deps[@]}" ||
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${deps[@]}"; }
if [ ! -f criu_4.1.1.orig.tar.xz ]; then
  list=/etc/apt/sources.list.d/semifaas-trixie-src.sources
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$list"
  apt-get update -q -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  # Only the upstream tarball is needed; Debian's packaging part may have moved on.
  apt-get source --download-only criu=4.1.1-1 || true
  rm "$list"
  apt-get update -q
  test -f criu_4.1.1.orig.tar.xz
fi
rm -rf criu-4.1.1
tar xf criu_4.1.1.orig.tar.xz
for p in "$here"/*.patch; do patch -d criu-4.1.1 -p1 < "$p"; done
make -C criu-4.1.1 -j"$(nproc)" criu
criu-4.1.1/criu/criu check
echo "built $out/criu-4.1.1/criu/criu"
