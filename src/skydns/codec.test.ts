import { describe, expect, it } from 'vitest';
import {
  classifyHost,
  groupFilter,
  keyToName,
  MAX_VALUE_BYTES,
  nameToKey,
  normalizePrefix,
  parseKey,
  parseService,
  sameService,
  srvWeights,
  targetStrip,
  type Service,
} from './codec.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const raw = (s: string) => Buffer.from(s);

describe('keys (CoreDNS msg/path.go)', () => {
  it.each([
    ['/skydns/test/example/api/x1', '/skydns', 'x1.api.example.test'],
    ['/skydns/local/skydns/staging/service', '/skydns', 'service.staging.skydns.local'],
    ['/skydns/test/example', 'skydns', 'example.test'],
    ['/skydns/test/example', '/skydns/', 'example.test'],
    ['/skydns/test/Example/API', '/skydns', 'api.example.test'],
    ['/skydns/test/example/*', '/skydns', '*.example.test'],
    ['/skydns/test/example/_tcp/_http', '/skydns', '_http._tcp.example.test'],
    ['/skydns/arpa/in-addr/10/0/0/127', '/skydns', '127.0.0.10.in-addr.arpa'],
    ['/skydns/com/example/goh/149a1668', '/skydns', '149a1668.goh.example.com'],
    ['/dns/a/b/test/example/www', '/dns/a/b', 'www.example.test'],
    ['/test/example', '/', 'example.test'],
  ])('%s under %s is %s', (key, prefix, name) => {
    expect(parseKey(key, prefix)).toEqual({ name });
    expect(keyToName(key, prefix)).toBe(name);
  });

  it.each([
    ['/other/test/example', 'not under the prefix "/skydns/"'],
    ['/skydnsx/test/example', 'not under the prefix'],
    ['/skydns', 'not under the prefix'],
    ['/skydns/', 'names the root'],
    ['/skydns/test//example', 'empty label'],
    ['/skydns/test/example/', 'empty label'],
    [`/skydns/test/${'a'.repeat(64)}`, 'longer than 63 octets'],
    [`/skydns/test/${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('/')}`, 'longer than 255 octets'],
    ['/skydns/test/a.b', 'may only hold letters'],
    ['/skydns/test/a b', 'may only hold letters'],
    ['/skydns/test/bücher', 'may only hold letters'],
    ['/skydns/test/a*', 'may only hold letters'],
  ])('%s is not a name: %s', (key, reason) => {
    const parsed = parseKey(key, '/skydns');
    expect(parsed).toHaveProperty('error');
    expect((parsed as { error: string }).error).toContain(reason);
    expect(keyToName(key, '/skydns')).toBeUndefined();
  });

  it('a 63-octet label and a 255-octet name are the limits, not errors', () => {
    const label = 'a'.repeat(63);
    // 4 x 63 + 3 dots = 255 chars -> 257 octets on the wire: too long; 3 x 63 + 61 fits.
    expect(parseKey(`/skydns/${label}/${label}/${label}/${'b'.repeat(61)}`, '/skydns')).toHaveProperty('name');
    expect(parseKey(`/skydns/${label}/${label}/${label}/${'b'.repeat(62)}`, '/skydns')).toHaveProperty('error');
  });

  it('nameToKey is the inverse (CoreDNS msg.Path)', () => {
    expect(nameToKey('service.staging.skydns.local', '/skydns')).toBe('/skydns/local/skydns/staging/service');
    expect(nameToKey('x1.api.example.test', 'skydns/')).toBe('/skydns/test/example/api/x1');
    for (const name of ['a.b.c', '*.example.test', '127.0.0.10.in-addr.arpa']) {
      expect(keyToName(nameToKey(name, '/skydns'), '/skydns')).toBe(name);
    }
  });

  it('normalizes prefixes', () => {
    expect(normalizePrefix('skydns')).toBe('/skydns');
    expect(normalizePrefix('/skydns//')).toBe('/skydns');
    expect(normalizePrefix('/')).toBe('');
  });
});

describe('parseService (CoreDNS msg/service.go)', () => {
  it('reads every field', () => {
    const s = parseService(
      json({ host: '10.0.0.1', port: 8080, priority: 20, weight: 5, text: 'hi', mail: true, ttl: 60, targetstrip: 1, group: 'g1' }),
    );
    expect(s).toEqual({
      host: '10.0.0.1',
      kind: 'ipv4',
      address: '10.0.0.1',
      hostName: undefined,
      port: 8080,
      priority: 20,
      weight: 5,
      text: 'hi',
      mail: true,
      ttl: 60,
      targetstrip: 1,
      group: 'g1',
    });
  });

  it('defaults like CoreDNS: priority 0 or missing is 10, port missing is 0; ttl is as written (0 kept, for the reader to take as the default)', () => {
    for (const [value, ttl] of [[{}, undefined], [{ priority: 0, ttl: 0, port: 0, weight: 0 }, 0]] as const) {
      expect(parseService(json(value))).toMatchObject({ kind: 'none', port: 0, priority: 10, weight: 0, ttl, text: '', mail: false, group: '', targetstrip: 0 });
    }
  });

  it('reads a value with only host and port (kept compact) field by field as the same value with a default spelled out', () => {
    const fields = ['host', 'kind', 'address', 'hostName', 'port', 'priority', 'weight', 'text', 'mail', 'ttl', 'targetstrip', 'group', 'extension'] as const;
    for (const value of [{ host: '10.0.0.1', port: 8080 }, { host: '2001:DB8::1' }, { host: '::ffff:10.0.0.7', port: -1 }, { host: 'Svc.Example.org.', port: 80 }, {}]) {
      const compact = parseService(json(value)) as Service;
      // priority 10 is the default, but written out it takes the general path.
      const general = parseService(json({ ...value, priority: 10 })) as Service;
      for (const field of fields) expect(compact[field], `${JSON.stringify(value)} ${field}`).toEqual(general[field]);
      expect(sameService(compact, general)).toBe(true);
      expect('error' in compact).toBe(false);
    }
  });

  it('reads a compact {"host","port"} value (read from its bytes) exactly as the same value with a trailing space (JSON.parse)', () => {
    const fields = ['host', 'kind', 'address', 'hostName', 'port', 'priority', 'weight', 'text', 'mail', 'ttl', 'targetstrip', 'group', 'extension'] as const;
    const hosts = ['10.0.0.1', '255.255.255.255', '256.1.1.1', '2001:DB8::1', '::ffff:10.0.0.7', 'Svc.Example.org.', 'a b', 'x"y', '', '\\u0031.2.3.4', '\\"', 'é.example', 'bad_host!', '1.2.3'];
    const ports = [undefined, '0', '8080', '65535', '65536', '-1', '-0', '-2', '007', '0', '1.0', '1e3', '', 'null', '"80"', '123456', 'true'];
    let compact = 0;
    for (const host of hosts) {
      for (const port of ports) {
        const text = port === undefined ? `{"host":"${host}"}` : `{"host":"${host}","port":${port}}`;
        const fast = parseService(raw(text));
        const general = parseService(raw(`${text} `));
        if ('error' in general) {
          // JSON.parse's own message quotes the text (the space too): only its start is the same.
          if (general.error.startsWith('invalid JSON')) expect('error' in fast && fast.error.startsWith('invalid JSON'), text).toBe(true);
          else expect(fast, text).toEqual(general);
          continue;
        }
        compact++;
        expect('error' in fast, text).toBe(false);
        for (const field of fields) expect((fast as Service)[field], `${text} ${field}`).toEqual(general[field]);
        expect(Object.is((fast as Service).port, general.port), `${text} port`).toBe(true);
      }
    }
    expect(compact).toBeGreaterThan(20);
  });

  it('ignores unknown fields, treats null as absent and matches field names case-insensitively like Go', () => {
    expect(parseService(json({ host: 'a.example.org', labels: { owner: 'x' }, 'external-dns': [1], ttl: null }))).toMatchObject({
      kind: 'name',
      hostName: 'a.example.org',
      ttl: undefined,
    });
    expect(parseService(json({ Host: '10.0.0.9', PORT: 53 }))).toMatchObject({ kind: 'ipv4', address: '10.0.0.9', port: 53 });
  });

  it.each([
    ['10.0.0.1', 'ipv4', '10.0.0.1', undefined],
    ['2001:DB8:0:0:0:0:0:1', 'ipv6', '2001:db8::1', undefined],
    ['::1', 'ipv6', '::1', undefined],
    // Go's ip.To4() makes the IPv4-mapped form an A record (msg/type.go HostType).
    ['::ffff:10.1.2.3', 'ipv4', '10.1.2.3', undefined],
    ['Dev.Server1.', 'name', undefined, 'dev.server1'],
    ['_http._tcp.example.org', 'name', undefined, '_http._tcp.example.org'],
    ['localhost', 'name', undefined, 'localhost'],
    ['', 'none', undefined, undefined],
  ])('host %j is %s', (host, kind, address, hostName) => {
    expect(classifyHost(host)).toEqual({ kind, ...(address ? { address } : {}), ...(hostName ? { hostName } : {}) });
  });

  it.each([
    [json({ port: '80' }), 'port: expected an integer -1..65535, got "80"'],
    [json({ port: 65536 }), 'port: expected an integer -1..65535, got 65536'],
    [json({ port: -2 }), 'port: expected an integer -1..65535, got -2'],
    [json({ port: 1.5 }), 'port: expected an integer -1..65535, got 1.5'],
    [json({ priority: -1 }), 'priority: expected an integer 0..65535, got -1'],
    [json({ weight: 'x' }), 'weight: expected an integer 0..65535, got "x"'],
    [json({ ttl: 2 ** 31 }), 'ttl: expected an integer 0..2147483647, got 2147483648'],
    [json({ ttl: -1 }), 'ttl: expected an integer 0..2147483647, got -1'],
    [json({ mail: 'true' }), 'mail: expected true or false, got "true"'],
    [json({ text: 5 }), 'text: expected a string, got 5'],
    [json({ group: ['g'] }), 'group: expected a string, got an array'],
    [json({ targetstrip: -1 }), 'targetstrip: expected a non-negative integer, got -1'],
    [json({ host: 12 }), 'host: expected a string, got 12'],
    [json({ host: { a: 1 } }), 'host: expected a string, got an object'],
    [json({ host: '999.1.1.1' }), 'host: "999.1.1.1" is not a valid IPv4 address'],
    [json({ host: '10.0.0' }), 'host: "10.0.0" is not a valid IPv4 address'],
    [json({ host: 'fe80::1%eth0' }), 'host: "fe80::1%eth0" is not a valid IPv6 address'],
    [json({ host: '2001:db8::g' }), 'host: "2001:db8::g" is neither an IP address nor a valid host name'],
    [json({ host: '1:2:3:4:5:6:7:8:9' }), 'host: "1:2:3:4:5:6:7:8:9" is not a valid IPv6 address'],
    [json({ host: 'http://example.org' }), 'host: "http://example.org" is neither an IP address nor a valid host name'],
    [json({ host: 'a..b' }), 'is neither an IP address nor a valid host name'],
    [json({ host: 'a b.example' }), 'is neither an IP address nor a valid host name'],
    [json({ host: `${'a'.repeat(64)}.example` }), 'is neither an IP address nor a valid host name'],
    [json({ host: '.' }), 'is neither an IP address nor a valid host name'],
    [json({ text: 'x'.repeat(65281) }), 'text: 65281 bytes do not fit one TXT record'],
    [raw('{"host": "10.0.0.1"'), 'invalid JSON'],
    [raw(''), 'invalid JSON'],
    [raw('[1,2]'), 'expected a JSON object, got an array'],
    [raw('"10.0.0.1"'), 'expected a JSON object, got "10.0.0.1"'],
    [raw('null'), 'expected a JSON object, got null'],
    [raw('42'), 'expected a JSON object, got 42'],
    [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'value is not valid UTF-8'],
    [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), raw('{}')]), 'invalid JSON'],
    [Buffer.alloc(MAX_VALUE_BYTES + 1, 0x20), `value is ${MAX_VALUE_BYTES + 1} bytes; the limit is 65536 (64 KiB)`],
  ])('rejects %#: %s', (value, error) => {
    const parsed = parseService(value);
    expect(parsed).toHaveProperty('error');
    expect((parsed as { error: string }).error).toContain(error);
  });

  it('survives deeply nested garbage without blowing the stack', () => {
    const deep = '['.repeat(MAX_VALUE_BYTES / 2) + ']'.repeat(MAX_VALUE_BYTES / 2);
    expect(parseService(raw(deep))).toEqual({ error: 'expected a JSON object, got an array' });
    const inField = `{"host":${'['.repeat(30000)}${']'.repeat(30000)}}`;
    expect(parseService(raw(inField))).toEqual({ error: 'host: expected a string, got an array' });
    const unclosed = '{"a":'.repeat(13000);
    expect(parseService(raw(unclosed))).toHaveProperty('error');
  });

  it('accepts a value of exactly 64 KiB', () => {
    const body = JSON.stringify({ host: '10.0.0.1' });
    const padded = body + ' '.repeat(MAX_VALUE_BYTES - body.length);
    expect(parseService(raw(padded))).toHaveProperty('kind', 'ipv4');
  });
});

describe('targetStrip (msg/service.go targetStrip)', () => {
  it.each([
    ['x1.api.example.test', 0, 'x1.api.example.test'],
    ['x1.api.example.test', 1, 'api.example.test'],
    ['x1.api.example.test', 3, 'test'],
    // "We overshot the name, use the original one."
    ['x1.api.example.test', 4, 'x1.api.example.test'],
    ['x1.api.example.test', 99, 'x1.api.example.test'],
  ])('%s minus %i labels is %s', (name, n, out) => {
    expect(targetStrip(name, n)).toBe(out);
  });
});

describe('groupFilter (CoreDNS msg.Group, group_test cases)', () => {
  // Depth = labels in the key's name; CoreDNS counts '/' in the key, which orders the same way.
  const e = (host: string, group: string, name: string) => ({ depth: name.split('.').length, service: { group, host } as unknown as Service, name });
  const hosts = (xs: readonly { service: Service }[]) => xs.map((x) => (x.service as unknown as { host: string }).host);

  it.each([
    ['shortest grouped key wins', [e('127.0.0.1', 'g1', 'b.sub.dom1.skydns.test'), e('127.0.0.2', 'g2', 'a.dom1.skydns.test')], ['127.0.0.2']],
    ['disagreement on the same level: no grouping', [e('server1', 'g1', 'region1.skydns.test'), e('server2', 'g2', 'region1.skydns.test')], ['server1', 'server2']],
    ['only the top-level group', [e('server1', 'g1', 'a.dom.region1.skydns.test'), e('server2', 'g2', 'a.subdom.dom.region1.skydns.test')], ['server1']],
    [
      'group-less services stay',
      [e('server1', 'g1', 'a.dom.region1.skydns.test'), e('server2', 'g2', 'a.subdom.dom.region1.skydns.test'), e('server3', '', 'b.subdom.dom.region1.skydns.test')],
      ['server1', 'server3'],
    ],
    [
      'empty group on the highest level',
      [e('server1', 'g1', 'a.dom.region1.skydns.test'), e('server4', '', 'b.dom.region1.skydns.test'), e('server2', 'g2', 'a.subdom.dom.region1.skydns.test')],
      ['server1', 'server4'],
    ],
    [
      'same group deeper stays',
      [e('server1', 'g5', 'a.dom.region1.skydns.test'), e('server4', '', 'b.dom.region1.skydns.test'), e('server2', 'g5', 'a.subdom.dom.region1.skydns.test')],
      ['server1', 'server4', 'server2'],
    ],
    ['one group', [e('server1', 'g6', 'a.dom.region1.skydns.test')], ['server1']],
    ['no group', [e('server1', '', 'a.dom.region1.skydns.test')], ['server1']],
    ['nothing', [], []],
  ])('%s', (_, items, kept) => {
    expect(hosts(groupFilter(items))).toEqual(kept);
  });
});

describe('srvWeights (backend_lookup.go SRV; SkyDNS README)', () => {
  const w = (...weights: number[]) => srvWeights(weights.map((weight) => ({ priority: 10, weight })));
  it.each([
    ['three unset weights', w(0, 0, 0), [33, 33, 33]],
    ['SkyDNS README 120/100/130', w(120, 100, 130), [34, 28, 37]],
    ['eight unset weights', w(0, 0, 0, 0, 0, 0, 0, 0), [12, 12, 12, 12, 12, 12, 12, 12]],
    ['one', w(0), [100]],
    ['unset counts as 100', w(0, 300), [25, 75]],
    ['at least 1', w(1, 65535), [1, 99]],
  ])('%s', (_, got, want) => {
    expect(got).toEqual(want);
  });

  it('sums per priority class', () => {
    expect(
      srvWeights([
        { priority: 10, weight: 0 },
        { priority: 20, weight: 0 },
        { priority: 10, weight: 0 },
      ]),
    ).toEqual([50, 100, 50]);
  });
});
