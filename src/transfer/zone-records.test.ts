import { describe, expect, it } from 'vitest';
import { formatRR } from '../dns/present.js';
import { listed, put } from '../sources/etcd/test-support.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { layerZones } from '../table/layered.js';
import type { ZoneView } from '../table/zone.js';
import { axfrRecords } from './zone-records.js';

const lines = (view: ZoneView) => [...axfrRecords(view)].map(formatRR);

function zoneFile(text: string): ZoneView {
  const r = parseZoneFile(text, { file: 'test.zone' });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.zone;
}

describe('what a zone transfer carries', () => {
  it('a zone file: its records, SOA first and last, nothing else', () => {
    const view = zoneFile('$ORIGIN example.test.\n$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\na.b.c TXT "deep"\n');
    expect(lines(view)).toEqual([
      'example.test. 60 IN SOA ns.example.test. h.example.test. 7 1 1 1 1',
      'example.test. 60 IN NS ns.example.test.',
      'ns.example.test. 60 IN A 192.0.2.1',
      'a.b.c.example.test. 60 IN TXT "deep"',
      'example.test. 60 IN SOA ns.example.test. h.example.test. 7 1 1 1 1',
    ]);
  });

  it('an etcd zone: what each name answers; a service whose host is a name has no CNAME (RFC 2181 §10.1)', () => {
    const built = listed(['example.test'], [
      put('x.api.example.test', { host: '10.0.0.1', port: 80 }),
      put('y.api.example.test', { host: 'lb.example.net', port: 443 }),
      put('ns1.ns.dns.example.test', { host: '192.0.2.53' }),
      put('note.example.test', { text: 'hello' }),
    ]);
    const got = lines(built.index.zones.get('example.test')!);
    expect(got[0]).toMatch(/^example\.test\. \d+ IN SOA ns\.dns\.example\.test\. hostmaster\.example\.test\. 100 /);
    expect(got.at(-1)).toBe(got[0]);
    const body = got.slice(1, -1).sort();
    // api aggregates both services: addresses and SRV. y.api is a service (a port) whose host is
    // a name outside the zone: its SRV, and the PTR of its exact key (CoreDNS exact=true), no CNAME.
    expect(body).toEqual(
      [
        'example.test. 10 IN NS ns1.ns.dns.example.test.',
        'example.test. 10 IN A 10.0.0.1',
        'example.test. 10 IN A 192.0.2.53',
        'api.example.test. 10 IN A 10.0.0.1',
        'api.example.test. 10 IN SRV 10 50 80 x.api.example.test.',
        'api.example.test. 10 IN SRV 10 50 443 lb.example.net.',
        'x.api.example.test. 10 IN A 10.0.0.1',
        'x.api.example.test. 10 IN SRV 10 100 80 x.api.example.test.',
        'y.api.example.test. 10 IN PTR lb.example.net.',
        'y.api.example.test. 10 IN SRV 10 100 443 lb.example.net.',
        'note.example.test. 10 IN TXT "hello"',
        // Every SkyDNS host answers SRV too (port 0 when none is set), as CoreDNS does.
        'ns1.ns.dns.example.test. 10 IN A 192.0.2.53',
        'ns1.ns.dns.example.test. 10 IN SRV 10 100 0 ns1.ns.dns.example.test.',
        'ns.dns.example.test. 10 IN A 192.0.2.53',
        'ns.dns.example.test. 10 IN SRV 10 100 0 ns1.ns.dns.example.test.',
        'dns.example.test. 10 IN A 192.0.2.53',
        'dns.example.test. 10 IN SRV 10 100 0 ns1.ns.dns.example.test.',
      ].sort(),
    );
  });

  it('a zone in a zone file and in etcd: the merged records of every name either has, once', () => {
    const file = zoneFile('$ORIGIN example.test.\n$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n');
    const etcd = listed(['example.test'], [put('www.example.test', { host: '10.0.0.9', text: 'from etcd' }), put('app.example.test', { host: '10.0.0.10' })]);
    const got = lines(layerZones([file, etcd.index.zones.get('example.test')!])).slice(1, -1);
    expect(got.filter((l) => l.startsWith('www.'))).toEqual(['www.example.test. 60 IN A 192.0.2.80', 'www.example.test. 10 IN SRV 10 100 0 www.example.test.', 'www.example.test. 10 IN TXT "from etcd"']);
    expect(got.filter((l) => l.startsWith('app.'))).toContain('app.example.test. 10 IN A 10.0.0.10');
    expect(new Set(got).size).toBe(got.length);
  });
});
