import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOW_RECURSION } from '../config/addresses.js';
import { NetworkAcl, formatCidr, parseCidr, unmapIPv4 } from './acl.js';

describe('parseCidr', () => {
  const ok = (text: string): string => {
    const parsed = parseCidr(text);
    if ('error' in parsed) throw new Error(parsed.error);
    return formatCidr(parsed.cidr);
  };
  const error = (text: string): string => {
    const parsed = parseCidr(text);
    if (!('error' in parsed)) throw new Error(`${text} parsed`);
    return parsed.error;
  };

  it('canonicalises networks; a bare address is one host', () => {
    expect(ok('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(ok('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(ok('192.0.2.7')).toBe('192.0.2.7/32');
    expect(ok('FC00::/7')).toBe('fc00::/7');
    expect(ok('2001:0db8:0000::/48')).toBe('2001:db8::/48');
    expect(ok('::/0')).toBe('::/0');
    expect(ok('::1')).toBe('::1/128');
    expect(ok('172.16.0.0/12')).toBe('172.16.0.0/12');
    expect(ok('100.64.0.0/10')).toBe('100.64.0.0/10');
  });

  it('turns IPv4-mapped IPv6 networks into IPv4 ones (/96 and longer)', () => {
    expect(ok('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8');
    expect(ok('::ffff:192.0.2.1')).toBe('192.0.2.1/32');
    expect(ok('::ffff:0:0/96')).toBe('0.0.0.0/0');
    // Shorter than /96 covers more than the mapped space: it stays IPv6.
    expect(ok('::/80')).toBe('::/80');
  });

  it('refuses host bits, bad prefixes, zones and non-addresses', () => {
    expect(error('10.1.2.3/8')).toBe('host bits are set (the network is 10.0.0.0/8; for one host use /32)');
    expect(error('172.16.5.0/12')).toBe('host bits are set (the network is 172.16.0.0/12; for one host use /32)');
    expect(error('fe80::1/10')).toBe('host bits are set (the network is fe80::/10; for one host use /128)');
    expect(error('10.0.0.0/33')).toBe('prefix length must be 0-32');
    expect(error('::/129')).toBe('prefix length must be 0-128');
    expect(error('10.0.0.0/')).toBe('prefix length must be 0-32');
    expect(error('10.0.0.0/x')).toBe('prefix length must be 0-32');
    expect(error('10.0.0.0/8/8')).toMatch(/^not an IPv4 or IPv6 network/);
    expect(error('10.0.0/8')).toMatch(/^not an IPv4 or IPv6 network/);
    expect(error('localhost')).toMatch(/^not an IPv4 or IPv6 network/);
    expect(error('')).toMatch(/^not an IPv4 or IPv6 network/);
    expect(error('fe80::%eth0/10')).toBe('a zone id (%...) has no place in a network');
  });
});

describe('unmapIPv4', () => {
  it('returns the IPv4 address inside an IPv4-mapped IPv6 address, in either spelling', () => {
    expect(unmapIPv4('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(unmapIPv4('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(unmapIPv4('::ffff:a01:203')).toBe('10.1.2.3');
    expect(unmapIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
  });

  it('leaves anything else alone', () => {
    for (const a of ['10.1.2.3', '::1', '2001:db8::ffff:10.1.2.3', '::10.1.2.3', 'fe80::1%eth0']) expect(unmapIPv4(a)).toBe(a);
  });
});

describe('NetworkAcl', () => {
  const defaults = new NetworkAcl(DEFAULT_ALLOW_RECURSION);

  it.each([
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['::1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.10', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['fd12:3456::1', true],
    ['fe80::1', true],
    // Just outside each network.
    ['172.32.0.1', false],
    ['172.15.255.255', false],
    ['100.128.0.1', false],
    ['192.169.0.1', false],
    ['11.0.0.1', false],
    ['8.8.8.8', false],
    ['2001:db8::1', false],
    ['fec0::1', false],
    ['::2', false],
  ])('default networks: %s → %s', (address, allowed) => {
    expect(defaults.allows(address)).toBe(allowed);
  });

  it('matches IPv4 clients of a dual-stack socket (::ffff:a.b.c.d) as IPv4', () => {
    expect(defaults.allows('::ffff:10.1.2.3')).toBe(true);
    expect(defaults.allows('::ffff:127.0.0.1')).toBe(true);
    expect(defaults.allows('::ffff:8.8.8.8')).toBe(false);
    expect(defaults.allows('::ffff:a01:203')).toBe(true);
    const v4only = new NetworkAcl(['192.0.2.0/24']);
    expect(v4only.allows('::ffff:192.0.2.99')).toBe(true);
    expect(v4only.allows('::ffff:192.0.3.1')).toBe(false);
    // A network written in mapped form matches the plain IPv4 client too.
    const mapped = new NetworkAcl(['::ffff:198.51.100.0/120']);
    expect(mapped.allows('198.51.100.7')).toBe(true);
    expect(mapped.allows('::ffff:198.51.100.7')).toBe(true);
    expect(mapped.networks).toEqual(['198.51.100.0/24']);
  });

  it('ignores the zone of a link-local client address', () => {
    expect(defaults.allows('fe80::1%eth0')).toBe(true);
    expect(new NetworkAcl(['10.0.0.0/8']).allows('fe80::1%eth0')).toBe(false);
  });

  it('allows nobody with no networks, and everybody with /0', () => {
    const none = new NetworkAcl([]);
    expect(none.allows('127.0.0.1')).toBe(false);
    expect(none.allows('::1')).toBe(false);
    const all = new NetworkAcl(['0.0.0.0/0', '::/0']);
    expect(all.allows('8.8.8.8')).toBe(true);
    expect(all.allows('2001:db8::1')).toBe(true);
    expect(all.allows('::ffff:8.8.8.8')).toBe(true);
  });

  it('answers false, never throws, for something that is not an address', () => {
    for (const a of ['', 'localhost', '10.0.0', '::ffff:999.1.1.1', 'undefined']) expect(defaults.allows(a)).toBe(false);
  });

  it('refuses a bad network at construction, naming it', () => {
    expect(() => new NetworkAcl(['10.0.0.0/8', '10.0.0.0/40'])).toThrow('allow-recursion "10.0.0.0/40": prefix length must be 0-32');
    expect(() => new NetworkAcl(['10.1.0.0/8'])).toThrow(/host bits are set/);
  });

  it('gives the same answer from its memo, and stays correct past the memo limit', () => {
    const acl = new NetworkAcl(['10.0.0.0/8']);
    for (let round = 0; round < 2; round++) {
      expect(acl.allows('10.9.9.9')).toBe(true);
      expect(acl.allows('11.9.9.9')).toBe(false);
    }
    // Many distinct (e.g. spoofed) sources: the memo starts over rather than growing.
    for (let i = 0; i < 10_000; i++) {
      const address = `${i % 2 === 0 ? 10 : 11}.0.${(i >> 8) & 255}.${i & 255}`;
      expect(acl.allows(address)).toBe(i % 2 === 0);
    }
    expect(acl.allows('10.9.9.9')).toBe(true);
  });

  it('is faster per query than asking BlockList itself (the memo works)', () => {
    const addresses = Array.from({ length: 64 }, (_, i) => (i % 2 ? `192.168.0.${i}` : `::ffff:203.0.113.${i}`));
    const plain = new BlockList();
    for (const c of DEFAULT_ALLOW_RECURSION) {
      const [address, prefix] = c.split('/') as [string, string];
      plain.addSubnet(address, Number(prefix), address.includes(':') ? 'ipv6' : 'ipv4');
    }
    const time = (check: (address: string) => boolean): number => {
      let allowed = 0;
      const start = performance.now();
      for (let i = 0; i < 100_000; i++) if (check(addresses[i & 63]!)) allowed++;
      expect(allowed).toBe(50_000);
      return performance.now() - start;
    };
    time((a) => defaults.allows(a)); // warm-up
    // Compared in the same run rather than against a fixed bound, so a slow machine does not
    // fail it; the memo makes it about ten times faster, the margin here is two.
    const ours = time((a) => defaults.allows(a));
    const blockList = time((a) => plain.check(unmapIPv4(a), a.includes(':') && !a.startsWith('::ffff:') ? 'ipv6' : 'ipv4'));
    expect(ours * 2).toBeLessThan(blockList);
  });
});
