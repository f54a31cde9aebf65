/**
 * CoreDNS's own `plugin/etcd` tests, as data: the services each test file writes and the answers
 * it expects, translated by hand from lookup_test.go, cname_test.go, group_test.go,
 * multi_test.go and other_test.go (the facts, none of the Go code). test/coredns-compat.test.ts
 * replays them against the built server and a real etcd, over UDP and TCP, in both
 * `--compat` modes.
 *
 * Translation rules:
 * - A service's `key` is the DNS name CoreDNS's tests use for it (`msg.PathWithWildcard` makes
 *   the etcd key: labels reversed under the prefix); the other fields are its JSON value, as Go
 *   writes it (`omitempty`: zero fields left out).
 * - Records are `owner TTL TYPE data` as dig prints them. As in CoreDNS's `test.Section`, a TTL
 *   of 303 means "any TTL", and an SOA is compared by type, owner, TTL and MNAME only (serial
 *   and timers are CoreDNS's own). Sections are compared as sorted lists (`test.SortAndCheck`).
 * - Each suite runs on its own server with the zones the Go test configures
 *   (`newEtcdPlugin`, or `etc.Zones` in multi_test.go), `--etcd-default-ttl 300s` (CoreDNS's
 *   default TTL).
 * - `rfc`: the default mode (`--compat rfc`) answers differently, because CoreDNS's answer
 *   departs from the RFC named in `why`. docs/etcd-data.md lists exactly these cases
 *   (test/coredns-compat.test.ts checks that).
 * - `server`: what CoreDNS's test expects follows from its test harness rather than from CoreDNS
 *   serving DNS; `expected` keeps the test's answer, `server` gives what a CoreDNS server answers
 *   (see the case), which both modes are checked against. Also listed in docs/etcd-data.md.
 *
 * Sources: coredns/coredns `plugin/etcd/*_test.go`; lookup, cname, group and multi as in the
 * current tree (with the TXT, targetstrip and `c.ns` entries), other_test.go with the
 * `ipv4.ns.dns` name-server entry.
 */

export interface CorednsService {
  readonly key: string;
  readonly host?: string;
  readonly port?: number;
  readonly priority?: number;
  readonly weight?: number;
  readonly text?: string;
  readonly mail?: boolean;
  readonly targetstrip?: number;
  readonly group?: string;
}

export interface Expected {
  readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';
  readonly answer?: readonly string[];
  readonly ns?: readonly string[];
  readonly extra?: readonly string[];
}

export interface CorednsCase {
  /** `<file>#<index in the Go test's case list>`, as CoreDNS's "Test %d" messages count. */
  readonly id: string;
  readonly qname: string;
  readonly qtype: string;
  /** What CoreDNS's test expects. */
  readonly expected: Expected;
  /** Where the default mode answers differently, and the RFC section why. */
  readonly rfc?: Expected & { readonly why: string };
  /** Where CoreDNS's expectation is an artifact of its test harness: a CoreDNS server's answer. */
  readonly server?: Expected & { readonly why: string };
  /** Send RD=1 (the question goes past the etcd plugin to the next handler). */
  readonly rd?: boolean;
}

export interface CorednsSuite {
  readonly file: string;
  readonly zones: readonly string[];
  readonly services: readonly CorednsService[];
  readonly cases: readonly CorednsCase[];
}

const SOA = 'skydns.test. 30 SOA ns.dns.skydns.test.';
const NODATA: Expected = { rcode: 'NOERROR', ns: [SOA] };
const LOOKUP_ZONES = ['skydns.test', 'skydns_extra.test', 'skydns_zonea.test', 'skydns_zoneb.test', 'skydns_zonec.test', 'skydns_zoned.test', 'in-addr.arpa'];

const lookup: CorednsSuite = {
  file: 'lookup_test.go',
  zones: LOOKUP_ZONES,
  services: [
    { host: 'dev.server1', port: 8080, key: 'a.server1.dev.region1.skydns.test.' },
    { host: '10.0.0.1', port: 8080, key: 'a.server1.prod.region1.skydns.test.' },
    { host: '10.0.0.2', port: 8080, key: 'b.server1.prod.region1.skydns.test.' },
    { host: '::1', port: 8080, key: 'b.server6.prod.region1.skydns.test.' },
    { text: 'sometext', key: 'a.txt.server1.prod.region1.skydns.test.' },
    { text: 'moretext', key: 'b.txt.server1.prod.region1.skydns.test.' },
    { host: 'unresolvable.skydns.test', key: 'cname.prod.region1.skydns.test.' },
    { host: 'priority.server1', priority: 333, port: 8080, key: 'priority.skydns.test.' },
    { host: 'sub.server1', key: 'a.sub.region1.skydns.test.' },
    { host: 'sub.server2', port: 80, key: 'b.sub.region1.skydns.test.' },
    { host: '10.0.0.1', port: 8080, key: 'c.sub.region1.skydns.test.' },
    { host: '10.0.0.1', port: 8080, key: 'a.targetstrip.skydns.test.', targetstrip: 1 },
    { host: 'a.cname.skydns.test', key: 'b.cname.skydns.test.' },
    { host: 'b.cname.skydns.test', key: 'a.cname.skydns.test.' },
    { host: '10.0.0.2', key: 'a.ns.dns.skydns.test.' },
    { host: '10.0.0.3', key: 'b.ns.dns.skydns.test.' },
    { host: '10.0.0.4', key: 'ns1.c.ns.dns.skydns.test.', targetstrip: 1 },
    { host: '10.0.0.5', key: 'ns2.c.ns.dns.skydns.test.', targetstrip: 1 },
    { host: '10.0.0.2', key: 'x.skydns_zonea.test.' },
    { host: '10.0.0.3', key: 'y.skydns_zonea.test.' },
    { host: '10.0.0.2', key: 'x.skydns_zoneb.test.' },
    { host: '10.0.0.3', key: 'y.skydns_zoneb.test.' },
    { host: '10.0.0.4', key: 'apex.dns.skydns_zoneb.test.' },
    { host: '10.0.0.2', key: 'x.skydns_zonec.test.' },
    { host: '10.0.0.3', key: 'y.skydns_zonec.test.' },
    { host: '10.0.0.4', key: 'a1.apex.dns.skydns_zonec.test.' },
    { host: '10.0.0.5', key: 'a2.apex.dns.skydns_zonec.test.' },
    { host: '10.0.0.2', key: 'x.skydns_zoned.test.' },
    { host: '10.0.0.3', key: 'y.skydns_zoned.test.' },
    { host: '10.0.0.4', key: 'a1.apex.dns.skydns_zoned.test.' },
    { host: '10.0.0.5', key: 'a2.apex.dns.skydns_zoned.test.' },
    { host: '2003::8:1', key: 'a3.apex.dns.skydns_zoned.test.' },
    { host: '2003::8:2', key: 'a4.apex.dns.skydns_zoned.test.' },
    { host: 'reverse.example.com', key: '1.0.0.10.in-addr.arpa.' },
  ],
  cases: [
    { id: 'lookup_test.go#0', qname: 'a.server1.dev.region1.skydns.test.', qtype: 'SRV', expected: { rcode: 'NOERROR', answer: ['a.server1.dev.region1.skydns.test. 300 SRV 10 100 8080 dev.server1.'] } },
    { id: 'lookup_test.go#1', qname: 'a.SERVer1.dEv.region1.skydns.tEst.', qtype: 'SRV', expected: { rcode: 'NOERROR', answer: ['a.SERVer1.dEv.region1.skydns.tEst. 300 SRV 10 100 8080 dev.server1.'] } },
    { id: 'lookup_test.go#2', qname: 'doesnotexist.skydns.test.', qtype: 'A', expected: { rcode: 'NXDOMAIN', ns: [SOA] } },
    { id: 'lookup_test.go#3', qname: 'a.server1.prod.region1.skydns.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['a.server1.prod.region1.skydns.test. 300 A 10.0.0.1'] } },
    {
      id: 'lookup_test.go#4',
      qname: 'a.server1.prod.region1.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: ['a.server1.prod.region1.skydns.test. 300 SRV 10 100 8080 a.server1.prod.region1.skydns.test.'],
        extra: ['a.server1.prod.region1.skydns.test. 300 A 10.0.0.1'],
      },
    },
    { id: 'lookup_test.go#5', qname: 'b.server6.prod.region1.skydns.test.', qtype: 'AAAA', expected: { rcode: 'NOERROR', answer: ['b.server6.prod.region1.skydns.test. 300 AAAA ::1'] } },
    {
      id: 'lookup_test.go#6',
      qname: 'server1.prod.region1.skydns.test.',
      qtype: 'A',
      expected: { rcode: 'NOERROR', answer: ['server1.prod.region1.skydns.test. 300 A 10.0.0.1', 'server1.prod.region1.skydns.test. 300 A 10.0.0.2'] },
    },
    { id: 'lookup_test.go#7', qname: 'priority.skydns.test.', qtype: 'SRV', expected: { rcode: 'NOERROR', answer: ['priority.skydns.test. 300 SRV 333 100 8080 priority.server1.'] } },
    {
      id: 'lookup_test.go#8',
      qname: 'sub.region1.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: [
          'sub.region1.skydns.test. 300 SRV 10 33 0 sub.server1.',
          'sub.region1.skydns.test. 300 SRV 10 33 80 sub.server2.',
          'sub.region1.skydns.test. 300 SRV 10 33 8080 c.sub.region1.skydns.test.',
        ],
        extra: ['c.sub.region1.skydns.test. 300 A 10.0.0.1'],
      },
    },
    {
      id: 'lookup_test.go#9',
      qname: 'targetstrip.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: ['targetstrip.skydns.test. 300 SRV 10 100 8080 targetstrip.skydns.test.'],
        extra: ['targetstrip.skydns.test. 300 A 10.0.0.1'],
      },
    },
    {
      id: 'lookup_test.go#10',
      qname: 'cname.prod.region1.skydns.test.',
      qtype: 'A',
      expected: NODATA,
      rfc: {
        rcode: 'NXDOMAIN',
        answer: ['cname.prod.region1.skydns.test. 300 CNAME unresolvable.skydns.test.'],
        ns: [SOA],
        why: 'RFC 1034 §4.3.2 step 3a, RFC 6604 §3: the name owns a CNAME, which the answer carries; the RCODE is that of its target, which does not exist',
      },
    },
    {
      id: 'lookup_test.go#11',
      qname: 'txt.server1.prod.region1.skydns.test.',
      qtype: 'TXT',
      expected: { rcode: 'NOERROR', answer: ['txt.server1.prod.region1.skydns.test. 303 TXT "moretext"', 'txt.server1.prod.region1.skydns.test. 303 TXT "sometext"'] },
    },
    {
      id: 'lookup_test.go#12',
      qname: '*.region1.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: [
          '*.region1.skydns.test. 300 SRV 10 12 0 sub.server1.',
          '*.region1.skydns.test. 300 SRV 10 12 0 unresolvable.skydns.test.',
          '*.region1.skydns.test. 300 SRV 10 12 80 sub.server2.',
          '*.region1.skydns.test. 300 SRV 10 12 8080 a.server1.prod.region1.skydns.test.',
          '*.region1.skydns.test. 300 SRV 10 12 8080 b.server1.prod.region1.skydns.test.',
          '*.region1.skydns.test. 300 SRV 10 12 8080 b.server6.prod.region1.skydns.test.',
          '*.region1.skydns.test. 300 SRV 10 12 8080 c.sub.region1.skydns.test.',
          '*.region1.skydns.test. 300 SRV 10 12 8080 dev.server1.',
        ],
        extra: [
          'a.server1.prod.region1.skydns.test. 300 A 10.0.0.1',
          'b.server1.prod.region1.skydns.test. 300 A 10.0.0.2',
          'b.server6.prod.region1.skydns.test. 300 AAAA ::1',
          'c.sub.region1.skydns.test. 300 A 10.0.0.1',
        ],
      },
    },
    {
      id: 'lookup_test.go#13',
      qname: 'prod.*.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: [
          'prod.*.skydns.test. 300 SRV 10 25 0 unresolvable.skydns.test.',
          'prod.*.skydns.test. 300 SRV 10 25 8080 a.server1.prod.region1.skydns.test.',
          'prod.*.skydns.test. 300 SRV 10 25 8080 b.server1.prod.region1.skydns.test.',
          'prod.*.skydns.test. 300 SRV 10 25 8080 b.server6.prod.region1.skydns.test.',
        ],
        extra: [
          'a.server1.prod.region1.skydns.test. 300 A 10.0.0.1',
          'b.server1.prod.region1.skydns.test. 300 A 10.0.0.2',
          'b.server6.prod.region1.skydns.test. 300 AAAA ::1',
        ],
      },
    },
    {
      id: 'lookup_test.go#14',
      qname: 'prod.any.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: [
          'prod.any.skydns.test. 300 SRV 10 25 0 unresolvable.skydns.test.',
          'prod.any.skydns.test. 300 SRV 10 25 8080 a.server1.prod.region1.skydns.test.',
          'prod.any.skydns.test. 300 SRV 10 25 8080 b.server1.prod.region1.skydns.test.',
          'prod.any.skydns.test. 300 SRV 10 25 8080 b.server6.prod.region1.skydns.test.',
        ],
        extra: [
          'a.server1.prod.region1.skydns.test. 300 A 10.0.0.1',
          'b.server1.prod.region1.skydns.test. 300 A 10.0.0.2',
          'b.server6.prod.region1.skydns.test. 300 AAAA ::1',
        ],
      },
    },
    // CNAME loop detection.
    { id: 'lookup_test.go#15', qname: 'a.cname.skydns.test.', qtype: 'A', expected: NODATA },
    {
      id: 'lookup_test.go#16',
      qname: 'a.server1.dev.region1.skydns.test.',
      qtype: 'TXT',
      expected: NODATA,
      rfc: { ...NODATA, why: 'RFC 2181 §10.1, RFC 1034 §3.6.2: the name is a service (a port), not an alias, so it has no CNAME, whose owner could have no SRV; CoreDNS answers A, AAAA and TXT with a CNAME and SRV with its own records, which a resolver in front mixes up' },
      server: {
        rcode: 'NOERROR',
        answer: ['a.server1.dev.region1.skydns.test. 300 CNAME dev.server1.'],
        why:
          "the host dev.server1 is outside CoreDNS's zones, so CoreDNS looks it up through Upstream, which re-enters the whole server; the test runs the plugin alone (no server in the context), the lookup fails and CoreDNS drops the CNAME. A CoreDNS server answers the CNAME plus whatever that lookup returns (nothing for this name): the CNAME, as etcdns answers",
      },
    },
    {
      id: 'lookup_test.go#17',
      qname: 'a.server1.dev.region1.skydns.test.',
      qtype: 'HINFO',
      expected: NODATA,
    },
    { id: 'lookup_test.go#18', qname: 'a.server1.nonexistent.region1.skydns.test.', qtype: 'HINFO', expected: { rcode: 'NXDOMAIN', ns: [SOA] } },
    { id: 'lookup_test.go#19', qname: 'skydns.test.', qtype: 'SOA', expected: { rcode: 'NOERROR', answer: [SOA] } },
    {
      id: 'lookup_test.go#20',
      qname: 'skydns.test.',
      qtype: 'NS',
      expected: {
        rcode: 'NOERROR',
        answer: ['skydns.test. 300 NS a.ns.dns.skydns.test.', 'skydns.test. 300 NS b.ns.dns.skydns.test.', 'skydns.test. 300 NS c.ns.dns.skydns.test.'],
        extra: ['a.ns.dns.skydns.test. 300 A 10.0.0.2', 'b.ns.dns.skydns.test. 300 A 10.0.0.3', 'c.ns.dns.skydns.test. 300 A 10.0.0.4', 'c.ns.dns.skydns.test. 300 A 10.0.0.5'],
      },
    },
    { id: 'lookup_test.go#21', qname: 'a.skydns.test.', qtype: 'NS', expected: { rcode: 'NXDOMAIN', ns: [SOA] } },
    {
      id: 'lookup_test.go#22',
      qname: 'ns.dns.skydns.test.',
      qtype: 'A',
      expected: {
        rcode: 'NOERROR',
        answer: ['ns.dns.skydns.test. 300 A 10.0.0.2', 'ns.dns.skydns.test. 300 A 10.0.0.3', 'ns.dns.skydns.test. 300 A 10.0.0.4', 'ns.dns.skydns.test. 300 A 10.0.0.5'],
      },
    },
    { id: 'lookup_test.go#23', qname: 'skydns_extra.test.', qtype: 'SOA', expected: { rcode: 'NOERROR', answer: ['skydns_extra.test. 30 SOA ns.dns.skydns_extra.test.'] } },
    // Zone apex without dns/apex: every A record of the zone.
    { id: 'lookup_test.go#24', qname: 'skydns_zonea.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['skydns_zonea.test. 300 A 10.0.0.2', 'skydns_zonea.test. 300 A 10.0.0.3'] } },
    { id: 'lookup_test.go#25', qname: 'skydns_zoneb.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['skydns_zoneb.test. 300 A 10.0.0.4'] } },
    { id: 'lookup_test.go#26', qname: 'skydns_zonec.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['skydns_zonec.test. 300 A 10.0.0.4', 'skydns_zonec.test. 300 A 10.0.0.5'] } },
    { id: 'lookup_test.go#27', qname: 'skydns_zoned.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['skydns_zoned.test. 300 A 10.0.0.4', 'skydns_zoned.test. 300 A 10.0.0.5'] } },
    {
      id: 'lookup_test.go#28',
      qname: 'skydns_zoned.test.',
      qtype: 'AAAA',
      expected: { rcode: 'NOERROR', answer: ['skydns_zoned.test. 300 AAAA 2003::8:1', 'skydns_zoned.test. 300 AAAA 2003::8:2'] },
    },
    { id: 'lookup_test.go#29', qname: '1.0.0.10.in-addr.arpa.', qtype: 'PTR', expected: { rcode: 'NOERROR', answer: ['1.0.0.10.in-addr.arpa. 300 PTR reverse.example.com.'] } },
  ],
};

const cname: CorednsSuite = {
  file: 'cname_test.go',
  zones: LOOKUP_ZONES,
  services: [
    { host: 'cname1.region2.skydns.test', key: 'a.server1.dev.region1.skydns.test.' },
    { host: 'cname2.region2.skydns.test', key: 'cname1.region2.skydns.test.' },
    { host: 'cname3.region2.skydns.test', key: 'cname2.region2.skydns.test.' },
    { host: 'cname4.region2.skydns.test', key: 'cname3.region2.skydns.test.' },
    { host: 'cname5.region2.skydns.test', key: 'cname4.region2.skydns.test.' },
    { host: 'cname6.region2.skydns.test', key: 'cname5.region2.skydns.test.' },
    { host: 'endpoint.region2.skydns.test', key: 'cname6.region2.skydns.test.' },
    { host: '10.240.0.1', key: 'endpoint.region2.skydns.test.' },
    { host: 'mainendpoint.region2.skydns.test', key: 'region2.skydns.test.' },
    { host: 'cname2.region3.skydns.test', key: 'cname3.region3.skydns.test.' },
    { host: 'cname1.region3.skydns.test', key: 'cname2.region3.skydns.test.' },
    { host: 'endpoint.region3.skydns.test', key: 'cname1.region3.skydns.test.' },
    { key: 'endpoint.region3.skydns.test.', text: 'SOME-RECORD-TEXT' },
  ],
  cases: [
    {
      id: 'cname_test.go#0',
      qname: 'a.server1.dev.region1.skydns.test.',
      qtype: 'SRV',
      expected: {
        rcode: 'NOERROR',
        answer: ['a.server1.dev.region1.skydns.test. 300 SRV 10 100 0 cname1.region2.skydns.test.'],
        extra: [
          'cname1.region2.skydns.test. 300 CNAME cname2.region2.skydns.test.',
          'cname2.region2.skydns.test. 300 CNAME cname3.region2.skydns.test.',
          'cname3.region2.skydns.test. 300 CNAME cname4.region2.skydns.test.',
          'cname4.region2.skydns.test. 300 CNAME cname5.region2.skydns.test.',
          'cname5.region2.skydns.test. 300 CNAME cname6.region2.skydns.test.',
          'cname6.region2.skydns.test. 300 CNAME endpoint.region2.skydns.test.',
          'endpoint.region2.skydns.test. 300 A 10.240.0.1',
        ],
      },
      rfc: {
        rcode: 'NOERROR',
        answer: [
          'a.server1.dev.region1.skydns.test. 300 CNAME cname1.region2.skydns.test.',
          'cname1.region2.skydns.test. 300 CNAME cname2.region2.skydns.test.',
          'cname2.region2.skydns.test. 300 CNAME cname3.region2.skydns.test.',
          'cname3.region2.skydns.test. 300 CNAME cname4.region2.skydns.test.',
          'cname4.region2.skydns.test. 300 CNAME cname5.region2.skydns.test.',
          'cname5.region2.skydns.test. 300 CNAME cname6.region2.skydns.test.',
          'cname6.region2.skydns.test. 300 CNAME endpoint.region2.skydns.test.',
          'endpoint.region2.skydns.test. 300 SRV 10 100 0 endpoint.region2.skydns.test.',
        ],
        extra: ['endpoint.region2.skydns.test. 300 A 10.240.0.1'],
        why: 'RFC 2181 §10.1, RFC 1034 §3.6.2: a host name with no port and no `mail` is an alias, and its CNAME answers every type, SRV too (CoreDNS gives the CNAME for A and an SRV of its own for SRV)',
      },
    },
    {
      id: 'cname_test.go#1',
      qname: 'region2.skydns.test.',
      qtype: 'CNAME',
      expected: { rcode: 'NOERROR', answer: ['region2.skydns.test. 300 CNAME mainendpoint.region2.skydns.test.'] },
      rfc: { ...NODATA, why: 'RFC 2181 §10.1: region2 holds addresses (endpoint.region2 below it answers its A queries), so it is not an alias and has no CNAME beside them' },
    },
    { id: 'cname_test.go#2', qname: 'endpoint.region3.skydns.test.', qtype: 'CNAME', expected: { rcode: 'NOERROR', ns: ['skydns.test. 303 SOA ns.dns.skydns.test.'] } },
    {
      id: 'cname_test.go#3',
      qname: 'cname3.region3.skydns.test.',
      qtype: 'TXT',
      expected: {
        rcode: 'NOERROR',
        answer: [
          'cname3.region3.skydns.test. 300 CNAME cname2.region3.skydns.test.',
          'cname2.region3.skydns.test. 300 CNAME cname1.region3.skydns.test.',
          'cname1.region3.skydns.test. 300 CNAME endpoint.region3.skydns.test.',
          'endpoint.region3.skydns.test. 300 TXT "SOME-RECORD-TEXT"',
        ],
      },
    },
  ],
};

const group: CorednsSuite = {
  file: 'group_test.go',
  zones: LOOKUP_ZONES,
  services: [
    { host: '127.0.0.1', key: 'a.dom.skydns.test.', group: 'g1' },
    { host: '127.0.0.2', key: 'b.sub.dom.skydns.test.', group: 'g1' },
    { host: '127.0.0.1', key: 'a.dom2.skydns.test.', group: 'g1' },
    { host: '127.0.0.2', key: 'b.sub.dom2.skydns.test.' },
    { host: '127.0.0.1', key: 'a.dom1.skydns.test.', group: 'g1' },
    { host: '127.0.0.2', key: 'b.sub.dom1.skydns.test.', group: 'g2' },
    { text: 'foo', key: 'a.dom3.skydns.test.', group: 'g1' },
    { text: 'bar', key: 'b.sub.dom3.skydns.test.', group: 'g1' },
  ],
  cases: [
    { id: 'group_test.go#0', qname: 'dom.skydns.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['dom.skydns.test. 300 A 127.0.0.1', 'dom.skydns.test. 300 A 127.0.0.2'] } },
    { id: 'group_test.go#1', qname: 'dom2.skydns.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['dom2.skydns.test. 300 A 127.0.0.1', 'dom2.skydns.test. 300 A 127.0.0.2'] } },
    { id: 'group_test.go#2', qname: 'dom1.skydns.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['dom1.skydns.test. 300 A 127.0.0.1'] } },
    { id: 'group_test.go#3', qname: 'dom3.skydns.test.', qtype: 'TXT', expected: { rcode: 'NOERROR', answer: ['dom3.skydns.test. 300 TXT "bar"', 'dom3.skydns.test. 300 TXT "foo"'] } },
  ],
};

const multi: CorednsSuite = {
  file: 'multi_test.go',
  zones: ['skydns.test', 'miek.nl'],
  services: [
    { host: 'dev.server1', port: 8080, key: 'a.server1.dev.region1.skydns.test.' },
    { host: 'dev.server1', port: 8080, key: 'a.server1.dev.region1.miek.nl.' },
    { host: 'dev.server1', port: 8080, key: 'a.server1.dev.region1.example.org.' },
  ],
  cases: [
    { id: 'multi_test.go#0', qname: 'a.server1.dev.region1.skydns.test.', qtype: 'SRV', expected: { rcode: 'NOERROR', answer: ['a.server1.dev.region1.skydns.test. 300 SRV 10 100 8080 dev.server1.'] } },
    { id: 'multi_test.go#1', qname: 'a.server1.dev.region1.miek.nl.', qtype: 'SRV', expected: { rcode: 'NOERROR', answer: ['a.server1.dev.region1.miek.nl. 300 SRV 10 100 8080 dev.server1.'] } },
    // Not in the plugin's zones: the next handler answers (the test's ErrorHandler: SERVFAIL).
    // Here the next handler is the forwarder, given an upstream that does not answer.
    { id: 'multi_test.go#2', qname: 'a.server1.dev.region1.example.org.', qtype: 'SRV', rd: true, expected: { rcode: 'SERVFAIL' } },
  ],
};

const other: CorednsSuite = {
  file: 'other_test.go',
  zones: LOOKUP_ZONES,
  services: [
    { host: 'dev.server1', port: 8080, key: 'a.server1.dev.region1.skydns.test.' },
    { host: 'mx.skydns.test', priority: 50, mail: true, key: 'a.mail.skydns.test.' },
    { host: 'mx.miek.nl', priority: 50, mail: true, key: 'b.mail.skydns.test.' },
    { host: 'a.ipaddr.skydns.test', priority: 30, mail: true, key: 'a.mx.skydns.test.' },
    { host: 'a.ipaddr.skydns.test', mail: true, key: 'a.mx2.skydns.test.' },
    { host: 'b.ipaddr.skydns.test', mail: true, key: 'b.mx2.skydns.test.' },
    { host: 'a.ipaddr.skydns.test', priority: 20, mail: true, key: 'a.mx3.skydns.test.' },
    { host: 'a.ipaddr.skydns.test', priority: 30, mail: true, key: 'b.mx3.skydns.test.' },
    { host: '172.16.1.1', key: 'a.ipaddr.skydns.test.' },
    { host: '172.16.1.2', key: 'b.ipaddr.skydns.test.' },
    { text: 'abc', key: 'a1.txt.skydns.test.' },
    { text: 'abc abc', key: 'a2.txt.skydns.test.' },
    { text: '0'.repeat(400), key: 'large400.skydns.test.' },
    { text: '0'.repeat(600), key: 'large600.skydns.test.' },
    { text: '0'.repeat(2000), key: 'large2000.skydns.test.' },
    // The Go test also sets RName, which is no JSON field of the message.
    { host: '172.17.1.1', key: 'ipv4.ns.dns.skydns.test.' },
    { host: '10.11.11.10', key: 'http.multiport.http.skydns.test.', port: 80 },
    { host: '10.11.11.10', key: 'https.multiport.http.skydns.test.', port: 443 },
  ],
  cases: [
    {
      id: 'other_test.go#0',
      qname: 'a.server1.dev.region1.skydns.test.',
      qtype: 'MX',
      expected: NODATA,
    },
    {
      id: 'other_test.go#1',
      qname: 'a.mail.skydns.test.',
      qtype: 'MX',
      expected: {
        rcode: 'NOERROR',
        answer: ['a.mail.skydns.test. 300 MX 50 mx.skydns.test.'],
        extra: ['a.ipaddr.skydns.test. 300 A 172.16.1.1', 'mx.skydns.test. 300 CNAME a.ipaddr.skydns.test.'],
      },
      rfc: {
        rcode: 'NOERROR',
        answer: ['a.mail.skydns.test. 300 MX 50 mx.skydns.test.'],
        extra: ['mx.skydns.test. 300 A 172.16.1.1'],
        why: 'RFC 2181 §10.1: mx.skydns.test is a mail exchanger (its key below has `mail`), so it has no CNAME (its owner could have no MX); its A is its in-zone target’s address',
      },
    },
    {
      id: 'other_test.go#2',
      qname: 'mx2.skydns.test.',
      qtype: 'MX',
      expected: {
        rcode: 'NOERROR',
        answer: ['mx2.skydns.test. 300 MX 10 a.ipaddr.skydns.test.', 'mx2.skydns.test. 300 MX 10 b.ipaddr.skydns.test.'],
        extra: ['a.ipaddr.skydns.test. 300 A 172.16.1.1', 'b.ipaddr.skydns.test. 300 A 172.16.1.2'],
      },
    },
    {
      id: 'other_test.go#3',
      qname: 'mx3.skydns.test.',
      qtype: 'MX',
      expected: {
        rcode: 'NOERROR',
        answer: ['mx3.skydns.test. 300 MX 20 a.ipaddr.skydns.test.', 'mx3.skydns.test. 300 MX 30 a.ipaddr.skydns.test.'],
        extra: ['a.ipaddr.skydns.test. 300 A 172.16.1.1'],
      },
    },
    { id: 'other_test.go#4', qname: 'a1.txt.skydns.test.', qtype: 'TXT', expected: { rcode: 'NOERROR', answer: ['a1.txt.skydns.test. 300 TXT "abc"'] } },
    { id: 'other_test.go#5', qname: 'a2.txt.skydns.test.', qtype: 'TXT', expected: { rcode: 'NOERROR', answer: ['a2.txt.skydns.test. 300 TXT "abc abc"'] } },
    // CoreDNS splits a text into 255-octet strings (split255), as RFC 1035 §3.3.14 needs.
    {
      id: 'other_test.go#6',
      qname: 'large400.skydns.test.',
      qtype: 'TXT',
      expected: { rcode: 'NOERROR', answer: [`large400.skydns.test. 300 TXT "${'0'.repeat(255)}" "${'0'.repeat(145)}"`] },
    },
    {
      id: 'other_test.go#7',
      qname: 'skydns.test.',
      qtype: 'NS',
      expected: { rcode: 'NOERROR', answer: ['skydns.test. 300 NS ipv4.ns.dns.skydns.test.'], extra: ['ipv4.ns.dns.skydns.test. 300 A 172.17.1.1'] },
    },
    { id: 'other_test.go#8', qname: 'multiport.http.skydns.test.', qtype: 'A', expected: { rcode: 'NOERROR', answer: ['multiport.http.skydns.test. 300 A 10.11.11.10'] } },
  ],
};

export const SUITES: readonly CorednsSuite[] = [lookup, cname, group, multi, other];

/** What a mode should answer for a case. */
export function expectedFor(c: CorednsCase, mode: 'coredns' | 'rfc'): Expected {
  if (mode === 'rfc' && c.rfc) return c.rfc;
  if (c.server) return c.server;
  return c.expected;
}
