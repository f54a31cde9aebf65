#!/usr/bin/env bash
# Installs the system tools the test suite drives for real: dig (dnsutils) and, for the etcd
# integration tests, etcd (etcd-server) with etcdctl (etcd-client); and a C compiler with the C
# library's headers (gcc, libc6-dev), which the build needs for the native UDP addon that the
# tests require (scripts/build-native.mjs). Also the third-party DNS software that
# test/resolvers.test.ts puts in front of (unbound, pdns-recursor, kresd from knot-resolver) and
# beside (knot) a real etcdns, NSD (nsd), which test/transfer-secondaries.test.ts runs with knot as secondaries of
# etcdns, and BIND's named-compilezone (bind9-utils), which test/named-compilezone.test.ts
# checks the zone-file parser against, kdig (knot-dnsutils), which test/ede.test.ts reads
# Extended DNS Errors with beside dig, and BIND's nsupdate (bind9-dnsutils), which
# test/update.test.ts drives DNS UPDATE with against etcdns and a Knot primary, and ISC Kea's DHCP-DDNS
# daemon (kea-dhcp-ddns-server), which test/update-kea.test.ts feeds NameChangeRequests to, and Go
# (golang-go), whose encoding/json test/coredns-extension.test.ts decodes the etcdns extension values with
# as CoreDNS does (standard library only: nothing is downloaded), and BIND's tsig-keygen (bind9, whose
# named the package does not start here: see policy-rc.d below), whose key files
# src/dns/tsig-key.test.ts reads; those tests skip, printing the apt line, when the tools
# are missing, so without root they are only reported here, not fatal. Uses apt when running
# as root; otherwise says exactly what to install. Safe to run repeatedly.
set -euo pipefail

declare -A wanted=([dig]=dnsutils [etcd]=etcd-server [etcdctl]=etcd-client)
declare -A optional=([unbound]=unbound [pdns_recursor]=pdns-recursor [kresd]=knot-resolver [knotd]=knot [kdig]=knot-dnsutils [nsd]=nsd [named-compilezone]=bind9-utils [nsupdate]=bind9-dnsutils [kea-dhcp-ddns]=kea-dhcp-ddns-server [go]=golang-go [tsig-keygen]=bind9)
# Daemons live in sbin, which a non-root PATH may lack.
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing_pkgs=()
missing_optional=()
for tool in "${!wanted[@]}"; do
  has "$tool" || missing_pkgs+=("${wanted[$tool]}")
done
if ! command -v cc >/dev/null 2>&1 || [ ! -e /usr/include/stdio.h ]; then
  missing_pkgs+=(gcc libc6-dev)
fi
for tool in "${!optional[@]}"; do
  has "$tool" || missing_optional+=("${optional[$tool]}")
done
# dnspython (python3-dnspython), a module rather than a tool: test/update-clients.test.ts builds
# certbot's and external-dns's RFC 2136 messages with it, under Debian's own /usr/bin/python3.
/usr/bin/python3 -c 'import dns.update, dns.tsigkeyring' >/dev/null 2>&1 || missing_optional+=(python3-dnspython)
# The same test runs the real certbot with its rfc2136 plugin against etcdns, getting a certificate
# from Pebble (an ACME test server; openssl makes its HTTPS certificate).
has certbot || missing_optional+=(certbot)
/usr/bin/python3 -c 'import certbot_dns_rfc2136' >/dev/null 2>&1 || missing_optional+=(python3-certbot-dns-rfc2136)
has pebble || missing_optional+=(pebble)
has openssl || missing_optional+=(openssl)
[ ${#missing_pkgs[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  all=("${missing_pkgs[@]}" "${missing_optional[@]}")
  echo "ensure-system-deps: installing ${all[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The tests run unbound, pdns_recursor and knotd themselves, on loopback ports of their own:
  # keep the packages from starting their system services (which would take port 53) while
  # they install (invoke-rc.d's policy hook, exit 101 = action forbidden).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  status=0
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${all[@]}" >/dev/null || status=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  exit "$status"
fi

if [ ${#missing_optional[@]} -gt 0 ]; then
  echo "ensure-system-deps: missing ${missing_optional[*]}; the tests against them will be skipped." >&2
  echo "  Install them with: sudo apt-get install ${missing_optional[*]}" >&2
fi
[ ${#missing_pkgs[@]} -eq 0 ] && exit 0
echo "ensure-system-deps: missing ${missing_pkgs[*]}." >&2
echo "  Install them with: sudo apt-get install ${missing_pkgs[*]}" >&2
echo "  (Debian/Ubuntu package names; elsewhere install dig, etcd 3.4+ and a C compiler by other means.)" >&2
exit 1
