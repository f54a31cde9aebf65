/**
 * The network addresses the serve options take: where to listen (--listen, the HTTP
 * endpoints), where to forward (--upstream, --forward) and who may recurse
 * (--allow-recursion). Addresses only, never names: a DNS server must not need DNS to start
 * or to reach its upstreams. Values are returned canonical, so that duplicates are found and
 * logs show one spelling.
 */
import { isIP } from 'node:net';
import { canonicalIPv6 } from '../dns/ip.js';
import { parseName, type Name } from '../dns/name.js';
import { formatCidr, parseCidr, unmapIPv4 } from '../forward/acl.js';
import { formatHostPort, type ListenAddress } from '../net.js';
import { ValueError } from './errors.js';
import { listOption, optionSpec, type OptionBasics, type OptionSpec } from './option-spec.js';
import { expectString } from './values.js';

/** `HOST:PORT` with an IPv4 literal, or `[IPv6]:PORT`. Names are refused: a DNS server must not need DNS to start. */
export function parseListenAddress(text: string): ListenAddress {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new ValueError('missing "]" after the IPv6 address');
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (!rest.startsWith(':')) throw new ValueError('missing ":PORT" after "]"');
    portText = rest.slice(1);
    if (isIP(host) !== 6) throw new ValueError('not an IPv6 address inside [...]');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new ValueError('missing ":PORT" (write HOST:PORT, e.g. 127.0.0.1:53 or [::1]:53)');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new ValueError('an IPv6 address must be in brackets, e.g. [::1]:53');
    if (isIP(host) !== 4) throw new ValueError('host must be an IP address (e.g. 127.0.0.1, 0.0.0.0, [::])');
  }
  if (portText === '') throw new ValueError('missing port');
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ValueError('port must be 0-65535');
  return { host, port: Number(portText) };
}

export function formatListenAddress(a: ListenAddress): string {
  return formatHostPort(a.host, a.port);
}

/** `HOST:PORT` as for --listen, or `off` (undefined: the endpoint is not served). */
export function listenOrOffOption<const K extends string>(
  o: OptionBasics<K> & { readonly default: string },
): OptionSpec<K, ListenAddress | undefined> {
  return optionSpec(o, {
    kind: 'string',
    default: o.default,
    placeholder: 'HOST:PORT|off',
    parse(raw) {
      const text = expectString(raw).trim();
      if (text.toLowerCase() === 'off') return undefined;
      return parseListenAddress(text);
    },
  });
}

/** An upstream resolver to forward to. */
export interface UpstreamAddress {
  /** An IP literal, without brackets; IPv6 in RFC 5952 form, IPv4-mapped IPv6 as IPv4. */
  readonly host: string;
  readonly port: number;
}

/** `--forward`: the names at and below `zone` go to these upstreams instead of --upstream. */
export interface ForwardZone {
  readonly zone: Name;
  readonly upstreams: readonly UpstreamAddress[];
}

/** The DNS port, for upstreams written without one. */
const DNS_PORT = 53;
/** CoreDNS `forward` takes at most 15 upstreams per zone; more would only lengthen failover. */
export const MAX_UPSTREAMS = 15;

/**
 * `ADDR[:PORT]`: `10.0.0.1`, `10.0.0.1:5353`, `[2001:db8::1]:5353`, `[2001:db8::1]` or a bare
 * `2001:db8::1` (a bare IPv6 address takes no port: `2001:db8::1:53` is itself an address).
 * Addresses only, as for --listen: a DNS server must not need DNS to reach its upstreams.
 */
export function parseUpstream(text: string): UpstreamAddress {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new ValueError('missing "]" after the IPv6 address');
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new ValueError('expected ":PORT" after "]"');
      portText = rest.slice(1);
    }
    checkNoZone(host);
    if (isIP(host) !== 6) throw new ValueError('not an IPv6 address inside [...]');
  } else if (text.indexOf(':') !== text.lastIndexOf(':')) {
    host = text;
    checkNoZone(host);
    if (isIP(host) !== 6) throw new ValueError('not an IPv6 address (with a port, write [IPv6]:PORT)');
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    if (colon >= 0) portText = text.slice(colon + 1);
    if (isIP(host) !== 4) throw new ValueError('must be an IP address (e.g. 10.0.0.1, 10.0.0.1:5353, [2001:db8::1]:53)');
  }
  let port = DNS_PORT;
  if (portText !== undefined) {
    if (portText === '') throw new ValueError('missing port after ":"');
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new ValueError('port must be 1-65535');
    port = Number(portText);
  }
  if (host.includes(':')) host = unmapIPv4(canonicalIPv6(host)!);
  // Sending to 0.0.0.0 or :: reaches this host on Linux, whatever is listening there: never meant.
  if (host === '0.0.0.0' || host === '::') throw new ValueError('the unspecified address is not a server to send to');
  return { host, port };
}

function checkNoZone(host: string): void {
  // Which interface a link-local upstream is on would be fixed by the zone, and the zone by
  // the host's interface names: not something to carry in shared configuration.
  if (host.includes('%')) throw new ValueError('a zone id (%...) is not supported; use a global or ULA address');
}

export function formatUpstream(u: UpstreamAddress): string {
  return formatHostPort(u.host, u.port);
}

/** One `--forward` item, `DOMAIN=ADDR[:PORT]`. */
function parseForwardItem(text: string): { readonly zone: Name; readonly upstream: UpstreamAddress } {
  // Addresses never contain '=', so the last one separates (a domain could, escaped).
  const eq = text.lastIndexOf('=');
  if (eq < 0) throw new ValueError('write DOMAIN=ADDR[:PORT], e.g. corp.example=10.1.2.3 (repeat for more upstreams)');
  const domain = text.slice(0, eq).trim();
  const address = text.slice(eq + 1).trim();
  if (domain === '') throw new ValueError('missing DOMAIN before "="');
  if (address === '') throw new ValueError('missing ADDR[:PORT] after "="');
  const parsed = parseName(domain);
  if ('error' in parsed) throw new ValueError(parsed.error);
  if (parsed.name === '') throw new ValueError('the root zone is what --upstream is for');
  return { zone: parsed.name, upstream: parseUpstream(address) };
}

export function formatForwardItem(zone: Name, upstream: UpstreamAddress): string {
  return `${zone}=${formatUpstream(upstream)}`;
}

/**
 * `--forward`: one `DOMAIN=ADDR[:PORT]` per item, so that it is one flag per upstream and a
 * plain comma-separated list in ETCDNS_FORWARD; items naming the same domain add upstreams
 * to it, in the order given. The value is one entry per domain.
 */
export function forwardOption<const K extends string>(
  o: OptionBasics<K> & { readonly default: readonly string[]; readonly placeholder: string },
): OptionSpec<K, readonly ForwardZone[]> {
  const items = listOption({
    ...o,
    item: parseForwardItem,
    identity: (f) => formatForwardItem(f.zone, f.upstream),
  });
  return optionSpec(o, {
    kind: 'list',
    default: o.default,
    placeholder: o.placeholder,
    parse(raw, ctx) {
      const byZone = new Map<Name, UpstreamAddress[]>();
      for (const { zone, upstream } of items.parse(raw, ctx)) {
        const upstreams = byZone.get(zone) ?? [];
        upstreams.push(upstream);
        byZone.set(zone, upstreams);
        if (upstreams.length > MAX_UPSTREAMS) {
          throw new ValueError(`more than ${MAX_UPSTREAMS} upstreams for one domain`, formatForwardItem(zone, upstream));
        }
      }
      return [...byZone].map(([zone, upstreams]) => ({ zone, upstreams }));
    },
  });
}

/** An --allow-recursion network, returned canonical (`10.0.0.0/8`, `fc00::/7`). */
export function parseAllowedNetwork(text: string): string {
  const parsed = parseCidr(text);
  if ('error' in parsed) throw new ValueError(parsed.error);
  return formatCidr(parsed.cidr);
}

/**
 * Who may recurse by default: loopback (RFC 1122 §3.2.1.3, RFC 4291), the private networks
 * (RFC 1918), shared address space used for carrier-grade NAT and by some Kubernetes pod
 * networks (RFC 6598), unique local IPv6 (RFC 4193) and link-local IPv6 (RFC 4291 §2.5.6):
 * addresses that cannot come from the internet at large, so etcdns is not an open resolver
 * (RFC 5358) even when it listens on a public address.
 */
export const DEFAULT_ALLOW_RECURSION = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
  'fe80::/10',
] as const;
