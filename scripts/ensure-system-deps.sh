#!/usr/bin/env bash
# Installs the system tools the test suite drives for real: dig (dnsutils) and, for the etcd
# integration tests, etcd (etcd-server) with etcdctl (etcd-client); and a C compiler with the C
# library's headers (gcc, libc6-dev), which the build needs for the native UDP addon that the
# tests require (scripts/build-native.mjs). Uses apt when running as root; otherwise says
# exactly what to install. Safe to run repeatedly.
set -euo pipefail

declare -A wanted=([dig]=dnsutils [etcd]=etcd-server [etcdctl]=etcd-client)
missing_pkgs=()
for tool in "${!wanted[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing_pkgs+=("${wanted[$tool]}")
done
if ! command -v cc >/dev/null 2>&1 || [ ! -e /usr/include/stdio.h ]; then
  missing_pkgs+=(gcc libc6-dev)
fi
[ ${#missing_pkgs[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-deps: installing ${missing_pkgs[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  exit 0
fi

echo "ensure-system-deps: missing ${missing_pkgs[*]}." >&2
echo "  Install them with: sudo apt-get install ${missing_pkgs[*]}" >&2
echo "  (Debian/Ubuntu package names; elsewhere install dig, etcd 3.4+ and a C compiler by other means.)" >&2
exit 1
