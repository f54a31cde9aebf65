import { describe, expect, it } from 'vitest';
import { loopReason, parseResolvConf, upstreamsFromResolvConf } from './resolvconf.js';

/** /etc/resolv.conf on a systemd-resolved host (its stub-resolv.conf, trimmed). */
const SYSTEMD_RESOLVED = `# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
# Do not edit.
#
# This file might be symlinked as /etc/resolv.conf. If you're looking at
# /etc/resolv.conf and seeing this text, you have followed the symlink.
#
# Run "resolvectl status" to see details about the uplink DNS servers
# currently in use.

nameserver 127.0.0.53
options edns0 trust-ad
search corp.example
`;

/** A Kubernetes pod's resolv.conf (dnsPolicy ClusterFirst). */
const KUBERNETES_POD = `search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
`;

const MIXED = `; written by hand
# IPv4, IPv6 and a link-local server
nameserver 192.0.2.53
nameserver 2001:DB8:0:0::53   # trailing text is ignored, as glibc does
nameserver fe80::1%eth0
nameserver 198.51.100.53
domain example.org
options rotate
options timeout:1 attempts:2
`;

const own = (...addresses: string[]) =>
  addresses.map((a) => {
    const colon = a.lastIndexOf(':');
    return { host: a.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(a.slice(colon + 1)) };
  });

describe('parseResolvConf', () => {
  it('reads a systemd-resolved stub file', () => {
    expect(parseResolvConf(SYSTEMD_RESOLVED)).toEqual({
      nameservers: [{ host: '127.0.0.53', port: 53 }],
      search: ['corp.example'],
      options: ['edns0', 'trust-ad'],
      dropped: [],
    });
  });

  it('reads a Kubernetes pod file', () => {
    expect(parseResolvConf(KUBERNETES_POD)).toEqual({
      nameservers: [{ host: '10.96.0.10', port: 53 }],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      options: ['ndots:5'],
      dropped: [],
    });
  });

  it('keeps IPv6 canonical, drops zoned link-local addresses, and uses the first 3 (glibc MAXNS)', () => {
    const conf = parseResolvConf(MIXED);
    expect(conf.nameservers).toEqual([
      { host: '192.0.2.53', port: 53 },
      { host: '2001:db8::53', port: 53 },
    ]);
    expect(conf.dropped).toEqual([
      { host: 'fe80::1%eth0', port: 53, reason: 'has a zone id (%eth0); etcdns does not forward to link-scoped addresses' },
      // The zoned server counted as the third, as in glibc, so this fourth one is not used.
      { host: '198.51.100.53', port: 53, reason: 'glibc uses only the first 3 nameservers (MAXNS)' },
    ]);
    expect(conf.search).toEqual(['example.org']);
    expect(conf.options).toEqual(['rotate', 'timeout:1', 'attempts:2']);
  });

  it('takes comments and keywords the way glibc does', () => {
    const conf = parseResolvConf(
      [
        '#nameserver 192.0.2.1',
        ';nameserver 192.0.2.2',
        '  nameserver 192.0.2.3', // not at the start of the line: glibc ignores it
        'Nameserver 192.0.2.4', // keywords are case-sensitive
        'nameserver192.0.2.5', // the keyword needs a space or tab after it
        'nameservers 192.0.2.6',
        'nameserver\t192.0.2.7\t; a comment after the address',
        'nameserver 192.0.2.8#no-space', // one word: not an address
        'nameserver',
        'sortlist 130.155.160.0/255.255.240.0',
        '',
      ].join('\n'),
    );
    expect(conf.nameservers).toEqual([{ host: '192.0.2.7', port: 53 }]);
    expect(conf.dropped).toEqual([{ host: '192.0.2.8#no-space', port: 53, reason: 'not an IPv4 or IPv6 address' }]);
  });

  it('lets the last search or domain line win', () => {
    expect(parseResolvConf('search a.example b.example\ndomain c.example\n').search).toEqual(['c.example']);
    expect(parseResolvConf('domain c.example\nsearch a.example  b.example\n').search).toEqual(['a.example', 'b.example']);
    expect(parseResolvConf('nameserver 192.0.2.1\n').search).toEqual([]);
  });

  it('handles CRLF line ends and a missing final newline', () => {
    expect(parseResolvConf('nameserver 192.0.2.1\r\nnameserver 192.0.2.2').nameservers).toEqual([
      { host: '192.0.2.1', port: 53 },
      { host: '192.0.2.2', port: 53 },
    ]);
  });

  it('skips what is not a numeric address without counting it towards the 3', () => {
    const conf = parseResolvConf(
      ['nameserver dns.example', 'nameserver 192.0.2.256', 'nameserver [2001:db8::1]', 'nameserver 192.0.2.1', 'nameserver 192.0.2.2', 'nameserver ::1'].join('\n'),
    );
    expect(conf.nameservers.map((n) => n.host)).toEqual(['192.0.2.1', '192.0.2.2', '::1']);
    expect(conf.dropped.map((d) => [d.host, d.reason])).toEqual([
      ['dns.example', 'not an IPv4 or IPv6 address'],
      ['192.0.2.256', 'not an IPv4 or IPv6 address'],
      ['[2001:db8::1]', 'not an IPv4 or IPv6 address'],
    ]);
  });

  it('takes IPv4-mapped IPv6 as IPv4 and drops unspecified addresses', () => {
    const conf = parseResolvConf('nameserver ::ffff:192.0.2.1\nnameserver 0.0.0.0\nnameserver ::\n');
    expect(conf.nameservers).toEqual([{ host: '192.0.2.1', port: 53 }]);
    expect(conf.dropped.map((d) => [d.host, d.reason])).toEqual([
      ['0.0.0.0', 'the unspecified address is not a server to send to'],
      ['::', 'the unspecified address is not a server to send to'],
    ]);
  });

  it('returns nothing for an empty file', () => {
    expect(parseResolvConf('')).toEqual({ nameservers: [], search: [], options: [], dropped: [] });
  });
});

describe('upstreamsFromResolvConf', () => {
  it('keeps systemd-resolved (127.0.0.53) while etcdns listens elsewhere, on 127.0.0.1:53 included', () => {
    for (const listen of [own('127.0.0.1:5353'), own('127.0.0.1:53'), own('[::1]:53', '192.0.2.10:53')]) {
      expect(upstreamsFromResolvConf(SYSTEMD_RESOLVED, listen)).toEqual({ upstreams: [{ host: '127.0.0.53', port: 53 }], skipped: [] });
    }
  });

  it('skips 127.0.0.53 when etcdns listens there, or on a wildcard of port 53', () => {
    expect(upstreamsFromResolvConf(SYSTEMD_RESOLVED, own('127.0.0.53:53'))).toEqual({
      upstreams: [],
      skipped: [{ host: '127.0.0.53', port: 53, reason: 'this is etcdns itself (--listen 127.0.0.53:53); forwarding there would loop' }],
    });
    expect(upstreamsFromResolvConf(SYSTEMD_RESOLVED, own('0.0.0.0:53')).skipped).toEqual([
      {
        host: '127.0.0.53',
        port: 53,
        reason: 'a loopback address reaches etcdns itself on --listen 0.0.0.0:53 (all local addresses); forwarding there would loop',
      },
    ]);
    // `::` is dual-stack: it takes IPv4 loopback too.
    expect(upstreamsFromResolvConf(SYSTEMD_RESOLVED, own('[::]:53')).upstreams).toEqual([]);
  });

  it('uses the cluster DNS of a Kubernetes pod', () => {
    expect(upstreamsFromResolvConf(KUBERNETES_POD, own('0.0.0.0:53'))).toEqual({ upstreams: [{ host: '10.96.0.10', port: 53 }], skipped: [] });
  });

  it('skips etcdns itself when the machine points resolv.conf at it', () => {
    const pointed = 'nameserver 127.0.0.1\nnameserver 192.0.2.53\noptions edns0 trust-ad\n';
    expect(upstreamsFromResolvConf(pointed, own('127.0.0.1:53'))).toEqual({
      upstreams: [{ host: '192.0.2.53', port: 53 }],
      skipped: [{ host: '127.0.0.1', port: 53, reason: 'this is etcdns itself (--listen 127.0.0.1:53); forwarding there would loop' }],
    });
    // On another port, 127.0.0.1:53 is some other server.
    expect(upstreamsFromResolvConf(pointed, own('127.0.0.1:5353')).upstreams).toHaveLength(2);
  });

  it('skips IPv6 loopback and our own IPv6 address, however written', () => {
    const text = 'nameserver ::1\nnameserver 2001:DB8::0:10\nnameserver 2001:db8::53\n';
    expect(upstreamsFromResolvConf(text, own('[::1]:53')).upstreams.map((u) => u.host)).toEqual(['2001:db8::10', '2001:db8::53']);
    expect(upstreamsFromResolvConf(text, own('[2001:db8::10]:53')).upstreams.map((u) => u.host)).toEqual(['::1', '2001:db8::53']);
    const wildcard = upstreamsFromResolvConf(text, own('[::]:53'));
    expect(wildcard.upstreams.map((u) => u.host)).toEqual(['2001:db8::10', '2001:db8::53']);
    expect(wildcard.skipped.map((s) => s.host)).toEqual(['::1']);
    // 0.0.0.0 is IPv4 only: ::1 is not us then.
    expect(upstreamsFromResolvConf(text, own('0.0.0.0:53')).upstreams).toHaveLength(3);
  });

  it('skips an address of this host while etcdns listens on a wildcard, when told the interface addresses', () => {
    const text = 'nameserver 192.0.2.10\nnameserver 192.0.2.53\n';
    expect(upstreamsFromResolvConf(text, own('0.0.0.0:53')).upstreams).toHaveLength(2);
    const result = upstreamsFromResolvConf(text, own('0.0.0.0:53'), { interfaceAddresses: ['127.0.0.1', '192.0.2.10', 'fe80::1'] });
    expect(result.upstreams).toEqual([{ host: '192.0.2.53', port: 53 }]);
    expect(result.skipped).toEqual([
      {
        host: '192.0.2.10',
        port: 53,
        reason: 'an address of this host reaches etcdns itself on --listen 0.0.0.0:53 (all local addresses); forwarding there would loop',
      },
    ]);
  });

  it('skips a nameserver listed twice', () => {
    expect(upstreamsFromResolvConf('nameserver 192.0.2.1\nnameserver 192.0.2.1\n', [])).toEqual({
      upstreams: [{ host: '192.0.2.1', port: 53 }],
      skipped: [{ host: '192.0.2.1', port: 53, reason: 'listed twice' }],
    });
  });

  it('reports the dropped nameservers among the skipped ones', () => {
    const result = upstreamsFromResolvConf(MIXED, own('127.0.0.1:53'));
    expect(result.upstreams.map((u) => u.host)).toEqual(['192.0.2.53', '2001:db8::53']);
    expect(result.skipped.map((s) => s.host)).toEqual(['fe80::1%eth0', '198.51.100.53']);
  });

  it('falls back to 127.0.0.1 like glibc when no nameserver is named, unless that is etcdns', () => {
    expect(upstreamsFromResolvConf('search example.org\n', own('127.0.0.1:5353'))).toEqual({ upstreams: [{ host: '127.0.0.1', port: 53 }], skipped: [] });
    expect(upstreamsFromResolvConf('', own('0.0.0.0:53'))).toEqual({
      upstreams: [],
      skipped: [
        {
          host: '127.0.0.1',
          port: 53,
          reason:
            'a loopback address reaches etcdns itself on --listen 0.0.0.0:53 (all local addresses); forwarding there would loop (127.0.0.1 is the glibc default when resolv.conf names no nameserver)',
        },
      ],
    });
    // Nameservers that were all dropped are not "none named": glibc would use them, we cannot.
    expect(upstreamsFromResolvConf('nameserver fe80::1%eth0\n', own('127.0.0.1:5353')).upstreams).toEqual([]);
  });
});

describe('loopReason', () => {
  it('compares ports, and ignores port 0 listen addresses', () => {
    expect(loopReason({ host: '127.0.0.1', port: 53 }, own('127.0.0.1:5353'))).toBeUndefined();
    expect(loopReason({ host: '127.0.0.1', port: 5353 }, own('127.0.0.1:5353'))).toMatch(/^this is etcdns itself/);
    expect(loopReason({ host: '127.0.0.1', port: 53 }, own('127.0.0.1:0', '0.0.0.0:0'))).toBeUndefined();
  });

  it('matches IPv4-mapped and differently written IPv6 addresses', () => {
    expect(loopReason({ host: '::ffff:127.0.0.1', port: 53 }, own('127.0.0.1:53'))).toMatch(/^this is etcdns itself/);
    expect(loopReason({ host: '2001:db8:0::1', port: 53 }, own('[2001:DB8::1]:53'))).toMatch(/^this is etcdns itself/);
  });

  it('does not take another loopback address for a specific loopback listener', () => {
    expect(loopReason({ host: '127.0.0.2', port: 53 }, own('127.0.0.1:53'))).toBeUndefined();
    expect(loopReason({ host: '::1', port: 53 }, own('127.0.0.1:53'))).toBeUndefined();
  });
});
