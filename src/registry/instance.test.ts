import { describe, expect, it } from 'vitest';
import { nameToKey, parseService } from '../skydns/codec.js';
import {
  defaultInstanceId,
  domainKeyPrefix,
  instanceKey,
  instanceValue,
  MAX_METADATA_BYTES,
  normalizeInstance,
  parseDiscovered,
  parseInstanceKey,
  RegistryValidationError,
  resolveOptions,
} from './instance.js';

const o = resolveOptions({ endpoints: ['127.0.0.1:2379'], domain: 'svc.example.test' });
const enc = (s: string) => new TextEncoder().encode(s);

describe('options', () => {
  it('defaults: /skydns, TTL 10 s, backoff cap 2 s; the domain is normalised', () => {
    expect(o).toEqual({ prefix: '/skydns', domain: 'svc.example.test', leaseTtlSeconds: 10, maxBackoffMs: 2000, syncTimeoutMs: 5000, registerTimeoutMs: 15_000 });
    expect(resolveOptions({ endpoints: ['x:1'], domain: 'SVC.Example.Test.', prefix: 'dns/' })).toMatchObject({ prefix: '/dns', domain: 'svc.example.test' });
  });

  it('rejects what cannot work, saying why', () => {
    expect(() => resolveOptions({ endpoints: [], domain: 'a.test' })).toThrow(/at least one etcd endpoint/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: '' })).toThrow(/root/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a..test' })).toThrow(/empty label/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a b.test' })).toThrow(/label "a b"/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', leaseTtlSeconds: 2.5 })).toThrow(/leaseTtlSeconds/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', leaseTtlSeconds: 0 })).toThrow(/leaseTtlSeconds/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', maxBackoffMs: 0 })).toThrow(/maxBackoffMs/);
    expect(() => resolveOptions({ endpoints: ['x:1'] } as never)).toThrow(/domain is required/);
    // A typo is refused (it would be ignored silently), naming the key.
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', leaseTTL: 5 } as never)).toThrow(/unknown option "leaseTTL"/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', syncTimeoutMs: 0 })).toThrow(/syncTimeoutMs must be a number of ms > 0/);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', registerTimeoutMs: Number.NaN })).toThrow(/registerTimeoutMs/);
    expect(resolveOptions({ endpoints: ['x:1'], domain: 'a.test', registerTimeoutMs: Infinity }).registerTimeoutMs).toBe(Infinity);
    expect(() => resolveOptions({ endpoints: ['x:1'], domain: 'a.test', logger: {} as never })).toThrow(/logger must have debug, info, warn and error/);
    expect(resolveOptions({ endpoints: ['x:1'], domain: 'a.test', logger: console }).domain).toBe('a.test');
  });

  it('an etcd3 client of the caller instead of endpoints, not both', () => {
    const client = { lease: () => undefined } as never;
    expect(resolveOptions({ client, domain: 'a.test' }).domain).toBe('a.test');
    expect(() => resolveOptions({ client, endpoints: ['x:1'], domain: 'a.test' })).toThrow(/either client or endpoints/);
    expect(() => resolveOptions({ client: {} as never, domain: 'a.test' })).toThrow(/client must be an etcd3 Etcd3 instance/);
    expect(() => resolveOptions({ domain: 'a.test' })).toThrow(/or pass an etcd3 client/);
  });
});

describe('RFC 2782 names (portName, protocol)', () => {
  it('the key is <id>._<portName>._<protocol>.<service>, protocol tcp by default', () => {
    const g = normalizeInstance({ service: 'greeter', id: 'g1', host: '10.0.0.1', port: 50051, portName: 'GRPC' }, o.domain);
    expect([g.portName, g.protocol]).toEqual(['grpc', 'tcp']);
    expect(instanceKey(g, o)).toBe('/skydns/test/example/svc/greeter/_tcp/_grpc/g1');
    const u = normalizeInstance({ service: 'dns', id: 'd1', host: '10.0.0.2', port: 53, portName: '_domain', protocol: 'udp' }, o.domain);
    expect(instanceKey(u, o)).toBe('/skydns/test/example/svc/dns/_udp/_domain/d1');
    // Without a port name, nothing changes for existing users.
    expect(instanceKey(normalizeInstance({ service: 'greeter', id: 'g1', host: '10.0.0.1', port: 1 }, o.domain), o)).toBe('/skydns/test/example/svc/greeter/g1');
  });

  it('refuses what no RFC 2782 client could ask for', () => {
    const bad = (x: object) => () => normalizeInstance({ service: 's', id: 'i', host: '10.0.0.1', port: 1, ...x }, o.domain);
    expect(bad({ protocol: 'tcp' })).toThrow(/protocol needs portName/);
    expect(bad({ portName: 'a b' })).toThrow(/portName "a b" must be one label/);
    expect(bad({ portName: 'grpc', protocol: 'sctp' })).toThrow(/protocol must be "tcp" or "udp"/);
  });

  it('discovery reads them back as their service, with the port name and protocol', () => {
    const d = parseDiscovered('/skydns/test/example/svc/greeter/_tcp/_grpc/g1', enc('{"host":"10.0.0.1","port":50051}'), o);
    expect(d).toEqual({ instance: expect.objectContaining({ service: 'greeter', id: 'g1', portName: 'grpc', protocol: 'tcp', name: 'g1._grpc._tcp.greeter.svc.example.test' }) });
  });
});

describe('instances', () => {
  it('keys: <id>.<service>.<domain> in the SkyDNS layout, nested services reversed', () => {
    const a = normalizeInstance({ service: 'payments', id: 'p1', host: '10.0.0.1', port: 8443 }, o.domain);
    expect(instanceKey(a, o)).toBe('/skydns/test/example/svc/payments/p1');
    expect(instanceKey(a, o)).toBe(nameToKey('p1.payments.svc.example.test', '/skydns'));
    const b = normalizeInstance({ service: 'Payments.Team', id: 'P-2', host: '10.0.0.1', port: 1 }, o.domain);
    expect(instanceKey(b, o)).toBe('/skydns/test/example/svc/team/payments/p-2');
    expect(domainKeyPrefix(o)).toBe('/skydns/test/example/svc/');
  });

  it('values: only the fields given, metadata always; parseable by the DNS server', () => {
    const a = normalizeInstance({ service: 'payments', id: 'p1', host: '10.0.0.1', port: 8443 }, o.domain);
    expect(instanceValue(a)).toBe('{"host":"10.0.0.1","port":8443,"metadata":{}}');
    const b = normalizeInstance(
      { service: 'payments', id: 'p2', host: '2001:DB8:0:0::1', port: 8443, priority: 5, weight: 30, ttl: 20, metadata: { v: '1' } },
      o.domain,
    );
    expect(b.host).toBe('2001:db8::1'); // canonical
    expect(JSON.parse(instanceValue(b))).toEqual({ host: '2001:db8::1', port: 8443, priority: 5, weight: 30, ttl: 20, metadata: { v: '1' } });
    expect(parseService(enc(instanceValue(b)))).toMatchObject({ kind: 'ipv6', port: 8443, priority: 5, weight: 30, ttl: 20 });
    const c = normalizeInstance({ service: 'payments', id: 'p3', host: 'Backend.Example.ORG.', port: 80 }, o.domain);
    expect(c.host).toBe('backend.example.org');
    expect(parseService(enc(instanceValue(c)))).toMatchObject({ kind: 'name', hostName: 'backend.example.org' });
  });

  it('validation errors name the field and the rule', () => {
    const bad = (x: object) => () => normalizeInstance({ service: 'svc', id: 'i1', host: '10.0.0.1', port: 80, ...x } as never, o.domain);
    expect(bad({ service: '' })).toThrow(RegistryValidationError);
    expect(bad({ service: '' })).toThrow(expect.objectContaining({ code: 'ETCDNS_ERR_REGISTRY_VALIDATION', name: 'RegistryValidationError' }));
    expect(bad({ service: 'a/b' })).toThrow(/service "a\/b": label "a\/b" may only hold/);
    expect(bad({ service: '-a' })).toThrow(/must not start or end with "-"/);
    expect(bad({ service: '*' })).toThrow(/label "\*"/);
    expect(bad({ id: 'a.b' })).toThrow(/id "a.b" must be one DNS label/);
    expect(bad({ id: 'a_b' })).toThrow(/id "a_b"/);
    expect(bad({ id: 'x'.repeat(64) })).toThrow(/id "x{64}"/);
    expect(bad({ port: 0 })).toThrow(/port must be an integer 1..65535, got 0/);
    expect(bad({ port: 65536 })).toThrow(/port/);
    expect(bad({ port: '80' })).toThrow(/port/);
    expect(bad({ host: '' })).toThrow(/host is required/);
    expect(bad({ host: ' 10.0.0.1' })).toThrow(/whitespace/);
    expect(bad({ host: '10.0.0.256' })).toThrow(/not a valid IPv4 address/);
    expect(bad({ host: 'fe80::1::2' })).toThrow(/not a valid IPv6 address/);
    expect(bad({ host: 'has space.example' })).toThrow(/neither an IP address nor a valid host name/);
    expect(bad({ priority: -1 })).toThrow(/priority/);
    expect(bad({ weight: 70000 })).toThrow(/weight/);
    expect(bad({ ttl: 0 })).toThrow(/ttl must be an integer number of seconds/);
    expect(bad({ metadata: ['a'] })).toThrow(/metadata must be an object/);
    expect(bad({ metadata: { a: 1 } })).toThrow(/metadata.a must be a string, got number/);
    expect(bad({ metadata: { '': 'x' } })).toThrow(/keys must not be empty/);
    expect(bad({ metadata: { big: 'x'.repeat(MAX_METADATA_BYTES) } })).toThrow(/metadata is \d+ bytes as JSON; the limit is 4096/);
    expect(bad({ service: `${'s'.repeat(63)}.${'t'.repeat(63)}.${'u'.repeat(63)}`, id: 'i'.repeat(63) })).toThrow(/longer than 255 octets/);
  });

  it('the default id is one DNS label: hostname-pid-random, sanitised and shortened', () => {
    expect(defaultInstanceId('web-1.prod.internal', 4242, 'deadbeef')).toBe('web-1-prod-internal-4242-deadbeef');
    expect(defaultInstanceId('WEB_01', 7, 'ab12cd34')).toBe('web-01-7-ab12cd34');
    expect(defaultInstanceId('', 7, 'ab12cd34')).toBe('instance-7-ab12cd34');
    expect(defaultInstanceId('---', 7, 'ab12cd34')).toBe('instance-7-ab12cd34');
    const long = defaultInstanceId('h'.repeat(100), 1234567, 'ffffffff');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith('-1234567-ffffffff')).toBe(true);
    expect(defaultInstanceId()).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(defaultInstanceId()).not.toBe(defaultInstanceId());
    // Filled in when the instance has none.
    expect(normalizeInstance({ service: 's', host: '10.0.0.1', port: 1 }, o.domain).id).toMatch(/-\d+-[0-9a-f]{8}$/);
  });
});

describe('reading keys back', () => {
  it('service and id from a key under the domain; records straight under it are not instances', () => {
    expect(parseInstanceKey('/skydns/test/example/svc/payments/p1', o)).toEqual({ service: 'payments', id: 'p1', name: 'p1.payments.svc.example.test' });
    expect(parseInstanceKey('/skydns/test/example/svc/team/payments/P1', o)).toEqual({ service: 'payments.team', id: 'p1', name: 'p1.payments.team.svc.example.test' });
    expect(parseInstanceKey('/skydns/test/example/svc/payments', o)).toBeUndefined();
    expect(parseInstanceKey('/skydns/test/example/other/payments/p1', o)).toBeUndefined();
    expect(parseInstanceKey('/skydns/test/example/svc/payments/*', o)).toBeUndefined();
    expect(parseInstanceKey('/skydns/test/example/svc/pay.ments/p1', o)).toBeUndefined();
  });

  it('round trip: what register writes is what discovery reads', () => {
    const inst = normalizeInstance({ service: 'payments', id: 'p1', host: '10.0.0.1', port: 8443, weight: 7, metadata: { zone: 'b' } }, o.domain);
    const r = parseDiscovered(instanceKey(inst, o), enc(instanceValue(inst)), o);
    expect(r).toEqual({
      instance: {
        service: 'payments',
        id: 'p1',
        name: 'p1.payments.svc.example.test',
        key: '/skydns/test/example/svc/payments/p1',
        host: '10.0.0.1',
        port: 8443,
        priority: 10,
        weight: 7,
        ttl: undefined,
        metadata: { zone: 'b' },
      },
    });
  });

  it('skips what the DNS server skips, and entries that are no endpoint; ignores odd metadata', () => {
    const key = '/skydns/test/example/svc/payments/p1';
    expect(parseDiscovered(key, enc('{not json'), o)).toMatchObject({ error: expect.stringMatching(/invalid JSON/) });
    expect(parseDiscovered(key, enc('{"host":"10.0.0.1","port":"80"}'), o)).toMatchObject({ error: expect.stringMatching(/port/) });
    expect(parseDiscovered(key, enc('{"text":"only txt"}'), o)).toEqual({ error: 'no host' });
    expect(parseDiscovered(key, enc('{"host":"10.0.0.1","port":-1}'), o)).toMatchObject({ error: expect.stringMatching(/port -1/) });
    const odd = parseDiscovered(key, enc('{"host":"10.0.0.1","metadata":{"a":"x","b":2,"c":null}}'), o);
    expect(odd).toMatchObject({ instance: { port: 0, metadata: { a: 'x' } } });
    expect(parseDiscovered(key, enc('{"host":"10.0.0.1","metadata":[1]}'), o)).toMatchObject({ instance: { metadata: {} } });
  });
});
