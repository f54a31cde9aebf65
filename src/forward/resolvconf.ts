/**
 * The upstream resolvers of the machine, from resolv.conf(5), for when no --upstream is given.
 *
 * The parser reads the file the way glibc's resolver does (resolv/res_init.c), so that
 * etcdns forwards to the servers the machine's own programs use, no more:
 * - a keyword counts only at the very start of a line, followed by a space or tab; lines
 *   starting with `#` or `;` are comments (glibc, and musl's resolvconf.c, do the same);
 * - `nameserver` takes the first word after it and ignores the rest of the line; an address
 *   that is not a numeric IPv4 or IPv6 address is skipped and does not count;
 * - only the first MAXNS = 3 nameservers are used (<resolv.h>);
 * - `search` and `domain` replace each other: the last one in the file wins;
 * - `options` lines add up.
 * Nameservers are always on port 53: resolv.conf has no syntax for a port.
 *
 * etcdns may be the machine's resolver itself (docs/forwarding.md, "Pointing a machine at etcdns"),
 * in which case resolv.conf lists etcdns, and forwarding there would send every query round
 * in a loop until it timed out. `upstreamsFromResolvConf` drops such entries and says why.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIPv6 } from '../dns/ip.js';
import { formatHostPort } from '../net.js';
import { unmapIPv4 } from './acl.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface SkippedNameserver {
  readonly host: string;
  readonly port: number;
  readonly reason: string;
}

export interface ResolvConf {
  /** Usable nameservers in file order, port 53, hosts canonical (IPv4-mapped IPv6 as IPv4). */
  readonly nameservers: HostPort[];
  /** The search list (from the last `search` or `domain` line), as written. */
  readonly search: string[];
  /** Every word of every `options` line, e.g. `ndots:5`, `edns0`, `trust-ad`. */
  readonly options: string[];
  /** `nameserver` lines not used, and why. */
  readonly dropped: SkippedNameserver[];
}

/** glibc's MAXNS (<resolv.h>): nameservers after the third are ignored. */
const MAXNS = 3;
/** resolv.conf has no port syntax: every nameserver is on the DNS port. */
const NAMESERVER_PORT = 53;
/** What glibc (and musl) use when resolv.conf names no nameserver at all (resolv.conf(5)). */
const DEFAULT_NAMESERVER: HostPort = Object.freeze({ host: '127.0.0.1', port: NAMESERVER_PORT });

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: HostPort[] = [];
  const dropped: SkippedNameserver[] = [];
  const options: string[] = [];
  let search: string[] = [];
  let counted = 0;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('#') || line.startsWith(';')) continue;
    const keyword = /^(nameserver|search|domain|options)[ \t]/.exec(line)?.[1];
    if (keyword === undefined) continue;
    const words = line.slice(keyword.length).split(/[ \t]+/).filter((w) => w !== '');
    switch (keyword) {
      case 'nameserver': {
        const word = words[0];
        if (word === undefined) break;
        const server = parseNameserver(word);
        if ('reason' in server) {
          dropped.push(server);
          break;
        }
        if (counted >= MAXNS) {
          dropped.push({ host: word, port: NAMESERVER_PORT, reason: `glibc uses only the first ${MAXNS} nameservers (MAXNS)` });
          break;
        }
        // Zoned and unspecified addresses count towards MAXNS (glibc accepts both), and are
        // dropped only after.
        counted++;
        const unusable = unusableReason(server);
        if (unusable !== undefined) {
          dropped.push({ host: word, port: NAMESERVER_PORT, reason: unusable });
          break;
        }
        nameservers.push({ host: server.host, port: NAMESERVER_PORT });
        break;
      }
      case 'search':
        search = words;
        break;
      case 'domain':
        // glibc: the local domain is the search list's only entry.
        search = words.slice(0, 1);
        break;
      case 'options':
        options.push(...words);
        break;
    }
  }
  return { nameservers, search, options, dropped };
}

/** A nameserver word, canonical; `zone` when it carried one (fe80::1%eth0). */
function parseNameserver(word: string): { host: string; zone?: string } | SkippedNameserver {
  const percent = word.indexOf('%');
  const address = percent < 0 ? word : word.slice(0, percent);
  const zone = percent < 0 ? undefined : word.slice(percent + 1);
  // glibc reads IPv4 with inet_aton, which also takes shorthand like 127.1; nobody writes that
  // in resolv.conf, and refusing it beats guessing which address was meant.
  if (zone === undefined && isIPv4(address)) return { host: address };
  if (isIPv6(address) && zone !== '') {
    const host = unmapIPv4(canonicalIPv6(address)!);
    return zone === undefined ? { host } : { host, zone };
  }
  return { host: word, port: NAMESERVER_PORT, reason: 'not an IPv4 or IPv6 address' };
}

/** Why a well-formed nameserver address cannot be forwarded to, or undefined. */
function unusableReason(server: { host: string; zone?: string }): string | undefined {
  // Our upstream addresses carry no zone (neither does --upstream): which interface a
  // link-local server is on would have to be configured, not guessed.
  if (server.zone !== undefined) return `has a zone id (%${server.zone}); etcdns does not forward to link-scoped addresses`;
  if (server.host === '0.0.0.0' || server.host === '::') return 'the unspecified address is not a server to send to';
  return undefined;
}

/** Interface addresses of this host, for the wildcard case of `loopReason`. */
export interface LoopCheckOptions {
  /**
   * Every local address (e.g. from os.networkInterfaces()). When etcdns listens on a wildcard
   * address, a nameserver at one of them is etcdns too. Without them, only loopback
   * addresses are recognised as local.
   */
  readonly interfaceAddresses?: readonly string[];
}

/**
 * The upstreams to forward to, from a resolv.conf text, minus etcdns itself: `ownAddresses`
 * are our --listen addresses. With no `nameserver` line at all, glibc's default 127.0.0.1
 * is taken, as the machine's programs do. `skipped` lists every nameserver not used.
 */
export function upstreamsFromResolvConf(
  text: string,
  ownAddresses: readonly HostPort[],
  options: LoopCheckOptions = {},
): { upstreams: HostPort[]; skipped: SkippedNameserver[] } {
  const conf = parseResolvConf(text);
  const skipped: SkippedNameserver[] = [...conf.dropped];
  const none = conf.nameservers.length === 0 && conf.dropped.length === 0;
  const candidates = none ? [DEFAULT_NAMESERVER] : conf.nameservers;
  const upstreams: HostPort[] = [];
  const seen = new Set<string>();
  for (const server of candidates) {
    const key = formatHostPort(server.host, server.port);
    const loop = loopReason(server, ownAddresses, options);
    if (loop !== undefined) {
      const why = none ? `${loop} (127.0.0.1 is the glibc default when resolv.conf names no nameserver)` : loop;
      skipped.push({ host: server.host, port: server.port, reason: why });
    } else if (seen.has(key)) {
      skipped.push({ host: server.host, port: server.port, reason: 'listed twice' });
    } else {
      seen.add(key);
      upstreams.push({ host: server.host, port: server.port });
    }
  }
  return { upstreams, skipped };
}

/**
 * Why sending to `target` would reach etcdns itself, or undefined when it would not.
 *
 * - `target` is one of our listen addresses (same address and port): it is us.
 * - We listen on a wildcard, 0.0.0.0 or `::`, on the target's port, and the target is a
 *   loopback address (or one of `interfaceAddresses`): the kernel delivers it to our socket.
 *   A `::` socket is dual-stack unless IPV6_V6ONLY is set, which Node does not do by
 *   default, so it takes IPv4 too.
 * - A specific loopback listen address is only itself: every 127/8 address reaches the
 *   host, but a socket bound to 127.0.0.1 receives only what is sent to 127.0.0.1, so
 *   systemd-resolved's 127.0.0.53 is not us while we listen on 127.0.0.1:53.
 * Port 0 listen addresses (a random port) cannot be compared and are ignored.
 */
export function loopReason(target: HostPort, ownAddresses: readonly HostPort[], options: LoopCheckOptions = {}): string | undefined {
  const host = canonicalHost(target.host);
  for (const own of ownAddresses) {
    if (own.port === 0 || own.port !== target.port) continue;
    const ownHost = canonicalHost(own.host);
    const where = `--listen ${formatHostPort(own.host, own.port)}`;
    if (host === ownHost) return `this is etcdns itself (${where}); forwarding there would loop`;
    const v4Wildcard = ownHost === '0.0.0.0';
    if (!v4Wildcard && ownHost !== '::') continue;
    if (v4Wildcard && !isIPv4(host)) continue;
    if (isLoopback(host)) return `a loopback address reaches etcdns itself on ${where} (all local addresses); forwarding there would loop`;
    if (options.interfaceAddresses?.some((a) => canonicalHost(a) === host)) {
      return `an address of this host reaches etcdns itself on ${where} (all local addresses); forwarding there would loop`;
    }
  }
  return undefined;
}

/** IPv6 in RFC 5952 form without a zone, IPv4-mapped IPv6 as IPv4, anything else as given. */
function canonicalHost(host: string): string {
  if (isIPv4(host)) return host;
  const percent = host.indexOf('%');
  const plain = percent < 0 ? host : host.slice(0, percent);
  const v6 = canonicalIPv6(plain);
  return v6 === undefined ? host.toLowerCase() : unmapIPv4(v6);
}

function isLoopback(host: string): boolean {
  return host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}
