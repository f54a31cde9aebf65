import { describe, expect, it } from 'vitest';
import { ask, listed, put } from './test-support.js';

/** CoreDNS's README apex examples, as docs/coredns-migration.md says etcdns answers them (both modes). */
describe.each(['rfc', 'coredns'] as const)('the zone apex, --compat %s', (compat) => {
  const trailing = { ...put('unused.skydns.local', { host: '1.1.1.1', ttl: 60 }), key: '/skydns/local/skydns/' };
  const data = [
    trailing,
    put('x1.skydns.local', { host: '1.1.1.2' }),
    put('x2.skydns.local', { host: '1.1.1.3' }),
    put('_sip._tcp.skydns.local', { host: 'sip.example.net', port: 5060 }),
    put('t.skydns.local', { text: 'hello' }),
  ];
  const zones = listed(['skydns.local'], data, { compat }).index.zones;

  it('skips a key with a trailing slash; without dns/apex, A is every address of the zone', () => {
    expect(ask(zones, 'skydns.local. A').answer).toEqual(['skydns.local. 10 IN A 1.1.1.2', 'skydns.local. 10 IN A 1.1.1.3']);
  });

  it('without dns/apex, SRV and TXT at the apex are NODATA (CoreDNS answers the whole zone’s)', () => {
    expect(ask(zones, 'skydns.local. SRV')).toMatchObject({ kind: 'nodata', answer: [] });
    expect(ask(zones, 'skydns.local. TXT')).toMatchObject({ kind: 'nodata', answer: [] });
  });

  it('answers what dns/apex holds, as CoreDNS does', () => {
    const withApex = listed(['skydns.local'], [...data, put('x.apex.dns.skydns.local', { host: '1.1.1.9', text: 'apex text' })], { compat }).index.zones;
    expect(ask(withApex, 'skydns.local. A').answer).toEqual(['skydns.local. 10 IN A 1.1.1.9']);
    expect(ask(withApex, 'skydns.local. TXT').answer).toEqual(['skydns.local. 10 IN TXT "apex text"']);
  });
});
