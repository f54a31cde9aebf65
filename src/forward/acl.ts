/**
 * Who may use etcdns as a resolver for names outside its zones (--allow-recursion).
 *
 * Answering recursive queries for anyone makes an open resolver, which attackers use to
 * amplify reflection attacks (RFC 5358 §1, §4: recursion should be offered only to the
 * intended clients). The check runs once per query that would be forwarded, so it must be
 * cheap: node:net's BlockList does the prefix matching, and a small memo of recent client
 * addresses saves its per-call cost (about 1.5 µs, mostly crossing into C++) for the few
 * addresses a server usually hears from.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { formatIPv6, ipv4Bytes, ipv6Bytes } from '../dns/ip.js';

export interface Cidr {
  readonly family: 'ipv4' | 'ipv6';
  /** The network address, canonical (IPv6 per RFC 5952). */
  readonly address: string;
  readonly prefix: number;
}

/**
 * `ADDR/PREFIX` (or a bare address, meaning that one host) to a network. IPv4-mapped IPv6
 * networks (`::ffff:10.0.0.0/104`) become the IPv4 network they stand for, since clients are
 * matched by their IPv4 address (see `unmapIPv4`). Host bits must be zero: `10.1.2.3/8`
 * is more likely a typo for `10.1.2.3/32` or a misunderstanding of `10.0.0.0/8` than a
 * request for the latter, so it is refused with the network spelled out.
 */
export function parseCidr(text: string): { cidr: Cidr } | { error: string } {
  const slash = text.lastIndexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (addressText.includes('%')) return { error: 'a zone id (%...) has no place in a network' };
  let family: 'ipv4' | 'ipv6';
  let bytes: Uint8Array;
  if (isIPv4(addressText)) {
    family = 'ipv4';
    bytes = ipv4Bytes(addressText)!;
  } else if (isIPv6(addressText)) {
    family = 'ipv6';
    bytes = ipv6Bytes(addressText)!;
  } else {
    return { error: 'not an IPv4 or IPv6 network (write e.g. 10.0.0.0/8 or fc00::/7)' };
  }
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return { error: `prefix length must be 0-${bits}` };
    prefix = Number(prefixText);
  }
  const network = bytes.map((byte, i) => byte & maskByte(prefix, i));
  if (network.some((byte, i) => byte !== bytes[i])) {
    const suggested = formatCidr({ family, address: bytesToText(family, network), prefix });
    return { error: `host bits are set (the network is ${suggested}; for one host use /${bits})` };
  }
  if (family === 'ipv6' && prefix >= 96 && isMappedIPv4(bytes)) {
    return { cidr: { family: 'ipv4', address: bytes.slice(12).join('.'), prefix: prefix - 96 } };
  }
  return { cidr: { family, address: bytesToText(family, network), prefix } };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}

/** The mask's byte `i` for a prefix length: 0xff for whole bytes, then the partial byte, then 0. */
function maskByte(prefix: number, i: number): number {
  const bitsInByte = Math.min(8, Math.max(0, prefix - i * 8));
  return (0xff << (8 - bitsInByte)) & 0xff;
}

function bytesToText(family: 'ipv4' | 'ipv6', bytes: Uint8Array): string {
  return family === 'ipv4' ? bytes.join('.') : formatIPv6(bytes);
}

/** ::ffff:0:0/96, the IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2). */
function isMappedIPv4(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

const MAPPED_DOTTED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/**
 * A dual-stack socket (bound to `::`) reports IPv4 clients as IPv4-mapped IPv6 addresses,
 * `::ffff:10.1.2.3` (RFC 4291 §2.5.5.2; Node prints the dotted form). They are IPv4 clients
 * and are matched against the IPv4 networks.
 */
export function unmapIPv4(address: string): string {
  const dotted = MAPPED_DOTTED.exec(address);
  if (dotted) return dotted[1]!;
  const hex = MAPPED_HEX.exec(address);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return address;
}

/** Distinct client addresses remembered; past this the memo starts over (spoofed sources cannot grow it). */
const MEMO_LIMIT = 4096;

/**
 * Client networks allowed to do something: recurse (--allow-recursion), transfer zones
 * (--transfer-allow).
 */
export class NetworkAcl {
  readonly #list = new BlockList();
  readonly #memo = new Map<string, boolean>();
  /** The networks, canonical, for logs. */
  readonly networks: readonly string[];

  /**
   * Throws an Error naming the option and the entry when one is not a network (the config
   * loader checks first).
   */
  constructor(cidrs: readonly string[], option = 'allow-recursion') {
    const networks: string[] = [];
    for (const text of cidrs) {
      const parsed = parseCidr(text.trim());
      if ('error' in parsed) throw new Error(`${option} ${JSON.stringify(text)}: ${parsed.error}`);
      this.#list.addSubnet(parsed.cidr.address, parsed.cidr.prefix, parsed.cidr.family);
      networks.push(formatCidr(parsed.cidr));
    }
    this.networks = Object.freeze(networks);
  }

  /** Whether a client at `address` (as a socket reports it) may recurse; false for anything unparsable. */
  allows(address: string): boolean {
    const known = this.#memo.get(address);
    if (known !== undefined) return known;
    const allowed = this.#check(address);
    if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(address, allowed);
    return allowed;
  }

  #check(address: string): boolean {
    // A link-local client arrives as fe80::1%eth0; the zone names our interface, not the client.
    const zone = address.indexOf('%');
    const plain = unmapIPv4(zone < 0 ? address : address.slice(0, zone));
    if (isIPv4(plain)) return this.#list.check(plain, 'ipv4');
    if (isIPv6(plain)) return this.#list.check(plain, 'ipv6');
    return false;
  }
}
