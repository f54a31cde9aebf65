import { describe, expect, it } from 'vitest';
import { ask, batch, listed, put } from './test-support.js';

/**
 * `--compat rfc`: every name answers one shape whatever type is asked first (RFC 2181 §10.1),
 * so a resolver that caches one answer and derives others from it gets etcdns's answers.
 */
describe('names whose services are host names (--compat rfc)', () => {
  const data = [
    put('x1._sip._tcp.example.test', { host: 'sip1.example.test', port: 5060, priority: 10 }),
    put('x2._sip._tcp.example.test', { host: 'sip2.example.test', port: 5060, priority: 20 }),
    put('x3._sip._tcp.example.test', { host: 'sip.example.net', port: 5061, priority: 30 }),
    put('sip1.example.test', { host: '192.0.2.1' }),
    put('x.sip2.example.test', { host: '192.0.2.2' }),
    put('y.sip2.example.test', { host: '2001:db8::2' }),
    put('m1.mail.example.test', { host: 'mx1.example.test', mail: true, priority: 10 }),
    put('m2.mail.example.test', { host: 'mx.example.net', mail: true, priority: 20 }),
    put('mx1.example.test', { host: '192.0.2.25' }),
    put('www.example.test', { host: 'lb.example.net' }),
  ];
  const built = listed(['example.test'], data);
  const zones = built.index.zones;

  it('a service with in- and out-of-zone targets: SRV names them all; A and AAAA are the in-zone targets’ addresses; no CNAME', () => {
    expect(ask(zones, '_sip._tcp.example.test. SRV').answer).toHaveLength(3);
    expect(ask(zones, '_sip._tcp.example.test. A').answer).toEqual(['_sip._tcp.example.test. 10 IN A 192.0.2.1', '_sip._tcp.example.test. 10 IN A 192.0.2.2']);
    expect(ask(zones, '_sip._tcp.example.test. AAAA').answer).toEqual(['_sip._tcp.example.test. 10 IN AAAA 2001:db8::2']);
    expect(ask(zones, '_sip._tcp.example.test. CNAME')).toMatchObject({ kind: 'nodata', answer: [] });
  });

  it('a mail name: MX names both exchangers; A is the in-zone one’s address; no CNAME', () => {
    expect(ask(zones, 'mail.example.test. MX').answer).toEqual(['mail.example.test. 10 IN MX 10 mx1.example.test.', 'mail.example.test. 10 IN MX 20 mx.example.net.']);
    expect(ask(zones, 'mail.example.test. A').answer).toEqual(['mail.example.test. 10 IN A 192.0.2.25']);
    expect(ask(zones, 'mail.example.test. CNAME').answer).toEqual([]);
  });

  it('an alias (a host name, no port, no mail) answers every type with its CNAME', () => {
    for (const type of ['A', 'AAAA', 'SRV', 'MX', 'TXT', 'CNAME']) {
      expect(ask(zones, `www.example.test. ${type}`).answer, type).toEqual(['www.example.test. 10 IN CNAME lb.example.net.']);
    }
  });

  it('follows a target’s address change in the next view (the service’s own keys unchanged)', () => {
    const later = listed(['example.test'], data);
    later.index.apply(batch([put('sip1.example.test', { host: '192.0.2.100' })], 101));
    expect(ask(later.index.zones, '_sip._tcp.example.test. A').answer).toEqual(['_sip._tcp.example.test. 10 IN A 192.0.2.100', '_sip._tcp.example.test. 10 IN A 192.0.2.2']);
  });

  it('--compat coredns keeps CoreDNS’s CNAME for A at such names', () => {
    const coredns = listed(['example.test'], data, { compat: 'coredns' }).index.zones;
    expect(ask(coredns, '_sip._tcp.example.test. A').answer?.[0]).toMatch(/IN CNAME sip1\.example\.test\.$/);
  });
});
