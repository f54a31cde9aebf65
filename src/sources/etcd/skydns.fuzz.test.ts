/**
 * Fuzzing the etcd side (fast-check): SkyDNS values and keys as a hostile or careless writer
 * would put them in etcd. `parseService` and `SkyDnsIndex.apply` must always return (an error
 * for the key, never a throw or a hang), accept only values within their documented ranges,
 * and the index must give the same answers whether it got the keys as a stream of changes or
 * as one listing of the final state (which is what a re-list after a compaction does).
 */
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RRType } from '../../dns/constants.js';
import { MAX_LABEL_OCTETS, MAX_NAME_OCTETS, wireLength, type Name } from '../../dns/name.js';
import { formatRR } from '../../dns/present.js';
import { resolve } from '../../resolve/resolve.js';
import { templateFor } from '../../chain/authoritative.js';
import { Snapshot } from '../../table/snapshot.js';
import type { ZoneView } from '../../table/zone.js';
import type { KeyChange, KeyPut, MirrorBatch } from '../../etcd/changes.js';
import { SkyDnsIndex } from './skydns-index.js';
import { MAX_TEXT_BYTES, MAX_VALUE_BYTES, parseKey, parseService, type Service } from '../../skydns/codec.js';

const SOAK = process.env.SOAK === '1';
const RUNS = SOAK ? 50_000 : 4_000;
/** Fixed, so a failure replays; `npm run soak` sets FUZZ_SEED to explore further. */
const SEED = Number(process.env.FUZZ_SEED ?? 1234);

// ---------------------------------------------------------------------------------------------
// Values.

const HOSTS = [
  '192.0.2.1', '192.0.2.2', '10.0.0.256', '1.2.3', '01.2.3.4', '2001:db8::1', '2001:DB8:0:0:0:0:0:2', '::ffff:192.0.2.9', '::', 'fe80::1%eth0',
  '1:2:3:4:5:6:7:8:9', 'www.example.test', 'Target.Example.Test.', 'x1.api.example.test', 'elsewhere.org', 'a..b', '.', '', ' ', '*.x', '_sip._udp.x',
  `${'x'.repeat(64)}.y`, `${'abcdefg.'.repeat(40)}z`, 'http://x', 'bücher.example', '\u0000', '1e5', '-1',
];

/** A JSON value of the wrong shape for any field. */
const wrongJson = fc.oneof(
  fc.constantFrom(null, true, false, '', '80', 'x', [], {}, [1], { a: 1 }),
  fc.double(),
  fc.string({ maxLength: 10 }),
);

const intField = (min: number, max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min, max }) },
    { weight: 2, arbitrary: fc.constantFrom(min - 1, max + 1, 0, -0, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308) },
    { weight: 1, arbitrary: wrongJson },
  );

/** Field names as CoreDNS writers spell them, or in another case (Go's JSON is case-insensitive). */
const fieldName = (name: string) => fc.constantFrom(name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1));

const serviceObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.option(fc.tuple(fieldName('host'), fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...HOSTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: wrongJson }))),
    fc.option(fc.tuple(fieldName('port'), intField(-1, 65535))),
    fc.option(fc.tuple(fieldName('priority'), intField(0, 65535))),
    fc.option(fc.tuple(fieldName('weight'), intField(0, 65535))),
    fc.option(
      fc.tuple(
        fieldName('text'),
        fc.oneof(
          { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
          { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
          { weight: 1, arbitrary: fc.integer({ min: MAX_TEXT_BYTES - 300, max: MAX_TEXT_BYTES + 300 }).map((n) => 't'.repeat(n)) },
          { weight: 1, arbitrary: fc.integer({ min: 21000, max: 22000 }).map((n) => '€'.repeat(n)) },
          { weight: 1, arbitrary: wrongJson },
        ),
      ),
    ),
    fc.option(fc.tuple(fieldName('mail'), fc.oneof(fc.boolean(), wrongJson))),
    fc.option(fc.tuple(fieldName('ttl'), intField(0, 2 ** 31 - 1))),
    fc.option(fc.tuple(fieldName('targetstrip'), intField(0, 5))),
    fc.option(fc.tuple(fieldName('group'), fc.oneof(fc.constantFrom('', 'g1', 'g2'), wrongJson))),
    fc.option(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'key', 'extra', 'hostx'), fc.jsonValue({ maxDepth: 3 }))),
  )
  .map((fields) => {
    const o: Record<string, unknown> = {};
    for (const f of fields) if (f) Object.defineProperty(o, f[0], { value: f[1], enumerable: true, configurable: true, writable: true });
    return o;
  });

/** Raw JSON with numbers JSON.stringify cannot write (1e400, -0, 30 digits), and duplicate keys. */
const rawNumberJson = fc
  .tuple(fc.constantFrom('port', 'priority', 'weight', 'ttl', 'targetstrip'), fc.constantFrom('1e400', '-1e400', '-0', '1.0', '1e2', '123456789012345678901234567890', '0.0000001', '65535.0000000001', '0x10'))
  .map(([field, n]) => `{"host":"192.0.2.1","${field}":${n}}`);
const duplicateKeys = fc.constantFrom('{"host":"192.0.2.1","host":"www.example.test"}', '{"port":80,"PORT":"x"}', '{"HOST":"10.0.0.1","host":null}');

/** Deep nesting up to the 64 KiB value cap, in a field and at the top. */
const deepJson = fc.tuple(fc.integer({ min: 1000, max: 32000 }), fc.constantFrom('[', '{"a":'), fc.boolean()).map(([depth, open, inField]) => {
  const close = open === '[' ? ']' : '}';
  const nested = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
  return inField ? `{"host":${nested}}` : nested;
});

const byteEdit = fc.record({ at: fc.noBias(fc.integer({ min: 0, max: 9999 })), value: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'cut', 'insert') });

function mutateBytes(bytes: Uint8Array, edits: readonly { at: number; value: number; op: string }[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const e of edits) {
    const at = Math.floor((e.at / 10000) * (b.length + 1));
    if (e.op === 'cut') b = b.subarray(0, at);
    else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.value]), b.subarray(at)]);
    else if (at < b.length) b[at] = e.value;
  }
  return b;
}

const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 8, arbitrary: serviceObject.map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 3, arbitrary: fc.tuple(serviceObject, fc.array(byteEdit, { minLength: 1, maxLength: 3 })).map(([o, e]) => mutateBytes(Buffer.from(JSON.stringify(o)), e)) },
  { weight: 1, arbitrary: rawNumberJson.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: duplicateKeys.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: deepJson.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_VALUE_BYTES - 2, max: MAX_VALUE_BYTES + 2 }).map((n) => Buffer.from(`{"text":"${'x'.repeat(Math.max(0, n - 11))}"}`)) },
);

/** What a parsed service promises (docs/etcd-data.md: the value table; skydns.ts). */
function checkService(s: Service): void {
  const int = (v: number, min: number, max: number, what: string) => {
    if (!Number.isInteger(v) || v < min || v > max) expect.fail(`${what} ${v} outside ${min}..${max}`);
  };
  int(s.port, -1, 65535, 'port');
  int(s.priority, 1, 65535, 'priority'); // 0 or missing is 10
  int(s.weight, 0, 65535, 'weight');
  // 0 is kept as written since 6535c6b (the index reads it as the default where SkyDNS does).
  if (s.ttl !== undefined) int(s.ttl, 0, 2 ** 31 - 1, 'ttl');
  int(s.targetstrip, 0, 2 ** 31 - 1, 'targetstrip');
  expect(Buffer.byteLength(s.text)).toBeLessThanOrEqual(MAX_TEXT_BYTES);
  switch (s.kind) {
    case 'none':
      expect(s.host).toBe('');
      break;
    case 'ipv4':
      expect(isIPv4(s.address!)).toBe(true);
      break;
    case 'ipv6':
      expect(isIPv6(s.address!)).toBe(true);
      break;
    case 'name':
      expect(wireLength(s.hostName!)).toBeLessThanOrEqual(MAX_NAME_OCTETS);
      for (const label of s.hostName!.split('.')) {
        expect(label.length).toBeGreaterThan(0);
        expect(label.length).toBeLessThanOrEqual(MAX_LABEL_OCTETS);
        expect(label).toMatch(/^[a-z0-9_-]+$/);
      }
      break;
  }
}

describe('parseService under fuzzing', () => {
  it('returns a service within its ranges or an error, for any bytes, quickly', () => {
    let valid = 0;
    fc.assert(
      fc.property(valueArb, (value) => {
        // CPU time of this process, not the wall clock, which a loaded CI machine stretches.
        const started = process.cpuUsage();
        const parsed = parseService(value);
        const used = process.cpuUsage(started);
        expect((used.user + used.system) / 1000).toBeLessThan(500);
        if ('error' in parsed) {
          expect(typeof parsed.error).toBe('string');
          // Reasons are logged and used as metric labels (the part before ':'): bounded.
          expect(parsed.error.length).toBeLessThan(300);
          return;
        }
        valid++;
        checkService(parsed);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(valid).toBeGreaterThan(RUNS / 10);
  }, 120_000);

  it.each([
    ['1e400 (Infinity)', '{"port":1e400}', 'port'],
    ['-1e400', '{"ttl":-1e400}', 'ttl'],
    ['a 30-digit number', '{"weight":123456789012345678901234567890}', 'weight'],
    ['a fraction over the range', '{"port":65535.001}', 'port'],
    ['2^53 + 1', '{"priority":9007199254740993}', 'priority'],
    ['a hex number', '{"port":0x10}', 'invalid JSON'],
    ['NaN', '{"ttl":NaN}', 'invalid JSON'],
    ['a host that is a number', '{"host":1.5}', 'host'],
    ['a host with a NUL', '{"host":"a\\u0000b"}', 'host'],
    ['a host that is an IPv4 address with a leading zero', '{"host":"01.2.3.4"}', 'host'],
    ['a host with a trailing space', '{"host":"10.0.0.1 "}', 'host'],
    ['a targetstrip over 2^31', '{"targetstrip":4294967296}', 'targetstrip'],
    ['a lone surrogate in text', '{"text":"\\ud800"}', undefined],
  ])('rejects or accepts %s consistently', (_, json, error) => {
    const parsed = parseService(Buffer.from(json));
    if (error === undefined) {
      // A lone surrogate is valid JSON (it decodes to U+FFFD on the wire later): accepted.
      expect(parsed).not.toHaveProperty('error');
      return;
    }
    expect(parsed).toHaveProperty('error');
    expect((parsed as { error: string }).error).toContain(error);
  });
});

// ---------------------------------------------------------------------------------------------
// Keys and the index.

const ZONES = ['example.test', '2.0.192.in-addr.arpa'];
const LABELS = ['www', 'api', 'x1', 'x2', 'Upper', '*', 'any', 'dns', 'apex', 'ns', '_tcp', '_http', 'a', 'b'];

/** Keys from a small pool, so that changes hit the same keys again; some invalid or outside. */
const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('/skydns/test/example', '/skydns/arpa/in-addr/192/0/2'), fc.array(fc.constantFrom(...LABELS), { maxLength: 3 })).map(([base, rest]) => [base, ...rest].join('/')) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/skydns/test/example/a.b', '/skydns/test/example//x', '/skydns/test/example/', '/skydns/test/example/sp ace', '/skydns/test/example/bücher',
      `/skydns/test/example/${'l'.repeat(64)}`, `/skydns/test/example/${Array.from({ length: 5 }, () => 'm'.repeat(60)).join('/')}`,
      '/skydns/test/other/www', '/skydns/org/elsewhere', '/elsewhere/test/example/x', '/skydns', '/skydns/', '/skydns/test/example/x*', '/skydns/test/example/dns/ns/x',
    ),
  },
);

interface Put {
  readonly type: 'put';
  readonly key: string;
  readonly value: Uint8Array;
  readonly lease: string | undefined;
  readonly leaseTtl: number | undefined;
}
type Change = Put | { readonly type: 'delete'; readonly key: string };

/** Mostly valid services: answers must exist for the comparison to mean something. */
const indexValueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record(
        {
          host: fc.constantFrom('192.0.2.1', '192.0.2.2', '2001:db8::1', 'www.example.test', 'elsewhere.org', 'x1.api.example.test', ''),
          port: fc.constantFrom(0, 80, 8080, -1),
          priority: fc.constantFrom(0, 10, 20),
          weight: fc.constantFrom(0, 10, 100),
          text: fc.constantFrom('', 'hello', 'owner=x'),
          mail: fc.boolean(),
          ttl: fc.constantFrom(0, 30, 300),
          targetstrip: fc.constantFrom(0, 1),
          group: fc.constantFrom('', 'g1', 'g2'),
        },
        { requiredKeys: ['host'] },
      )
      .map((o) => Buffer.from(JSON.stringify(o))),
  },
  // Not the texts of 60 000 octets and more: see the known issues below.
  { weight: 1, arbitrary: valueArb.filter((v) => v.length < 60_000) },
);

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('put' as const),
      key: keyArb,
      value: indexValueArb,
      lease: fc.constantFrom(undefined, '7587862072066000001'),
      leaseTtl: fc.constantFrom(undefined, 5, 60, -1, Number.NaN, 1e12),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), key: keyArb }) },
);

/** Batches as the mirror sends them; one in five a re-list (reset: puts only, the whole state). */
const batchesArb = fc.array(
  fc.record({ reset: fc.integer({ min: 0, max: 4 }).map((n) => n === 0), changes: fc.array(changeArb, { maxLength: 12 }) }).map((b) => (b.reset ? { ...b, changes: b.changes.filter((c) => c.type === 'put') } : b)),
  { minLength: 1, maxLength: 6 },
);

function indexWithTracking() {
  const invalid = new Set<string>();
  const index = new SkyDnsIndex({
    prefix: '/skydns',
    zones: ZONES,
    defaultTtl: 10,
    onInvalid: (key, reason) => {
      expect(typeof reason).toBe('string');
      invalid.add(key);
    },
    onValid: (key) => invalid.delete(key),
  });
  return { index, invalid };
}

const TYPES = [RRType.A, RRType.AAAA, RRType.CNAME, RRType.TXT, RRType.SRV, RRType.MX, RRType.NS, RRType.SOA, RRType.PTR, RRType.ANY];

/** Every answer the views give for names around the keys, as sorted zone-file lines; each also encoded. */
function answers(zones: ReadonlyMap<Name, ZoneView>, keys: Iterable<string>): Map<string, string> {
  const snapshot = new Snapshot(zones, 1);
  const names = new Set<Name>([...ZONES, 'nope.example.test', 'dns.example.test', 'ns.dns.example.test']);
  for (const key of keys) {
    const parsed = parseKey(key, '/skydns');
    if ('name' in parsed) {
      names.add(parsed.name);
      names.add(parsed.name.replace(/^\*\./, 'wild.'));
      names.add(`any.${parsed.name}`);
    }
  }
  const out = new Map<string, string>();
  for (const name of names) {
    for (const type of TYPES) {
      const outcome = resolve({ name, type }, snapshot);
      if (outcome.kind === 'notours') continue;
      // Servable: the outcome encodes (a throw here is a SERVFAIL for every such query), with
      // its rcode and every answer record in the message.
      const template = templateFor({ name, type }, outcome);
      expect(template.rcode).toBe(outcome.kind === 'nxdomain' ? 3 : 0);
      expect(template.bytes.readUInt16BE(6)).toBe(outcome.answer.length);
      const text = [outcome.kind, ...outcome.answer.map(formatRR).sort(), '|', ...outcome.authority.map(formatRR).sort(), '|', ...outcome.additional.map(formatRR).sort()]
        .join('\n')
        // The SOA serial is the revision of the zone's last change when streamed, and the listing's
        // revision after a (re-)list: equal data, different serials (reported; not compared).
        .replace(/(IN SOA \S+ \S+ )\d+/g, '$1SERIAL');
      out.set(`${name} ${type}`, text);
    }
  }
  return out;
}

describe('SkyDnsIndex.apply under fuzzing', () => {
  it('gives the same answers from a stream of changes as from one listing of the final state', () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const streamed = indexWithTracking();
        const state = new Map<string, Put>();
        let revision = 1;
        for (const b of batches) {
          const changes: KeyChange[] = b.changes.map((c) =>
            c.type === 'put' ? { ...c, modRevision: ++revision } : { type: 'delete' as const, key: c.key, modRevision: ++revision },
          );
          if (b.reset) state.clear();
          for (const c of b.changes) {
            if (c.type === 'put') state.set(c.key, c);
            else state.delete(c.key);
          }
          streamed.index.apply({ reset: b.reset, changes, revision } satisfies MirrorBatch);
        }
        // etcd lists in key order.
        const listing: KeyPut[] = [...state.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((p, i) => ({ ...p, modRevision: i + 1 }));
        const listed = indexWithTracking();
        listed.index.apply({ reset: true, changes: listing, revision });

        for (const built of [streamed, listed]) {
          const i = built.index;
          expect(i.keyCount).toBe(i.recordCount + i.invalidCount + i.ignoredCount);
          expect(i.invalidCount).toBe(built.invalid.size);
          expect([...i.zones.keys()].sort()).toEqual([...ZONES].sort());
        }
        expect(streamed.index.recordCount).toBe(listed.index.recordCount);
        expect(streamed.index.invalidCount).toBe(listed.index.invalidCount);
        expect(streamed.index.ignoredCount).toBe(listed.index.ignoredCount);
        expect([...streamed.invalid].sort()).toEqual([...listed.invalid].sort());
        const keys = [...batches.flatMap((b) => b.changes.map((c) => c.key))];
        const a1 = answers(streamed.index.zones, keys);
        const a2 = answers(listed.index.zones, keys);
        expect(a1).toEqual(a2);
      }),
      { numRuns: SOAK ? 10_000 : 300, seed: SEED + 1 },
    );
  }, 120_000);

  it('never throws on malformed batches and change objects', () => {
    const { index } = indexWithTracking();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ reset: fc.anything(), changes: fc.array(fc.oneof(fc.anything(), changeArb as fc.Arbitrary<unknown>, fc.record({ type: fc.constantFrom('put', 'delete', 'x'), key: fc.anything(), value: fc.anything(), leaseTtl: fc.anything(), lease: fc.anything() }))), revision: fc.anything() }),
        ),
        (batch) => {
          const views = index.apply(batch as MirrorBatch);
          expect([...views.keys()].sort()).toEqual([...ZONES].sort());
        },
      ),
      { numRuns: SOAK ? 20_000 : 2_000, seed: SEED + 2 },
    );
  }, 120_000);

  // Found by this file under SOAK=1: a text limit of 65280 octets let through texts whose TXT
  // record could not be encoded (SERVFAIL) or whose answer could not fit any DNS message (TC over
  // UDP and TCP alike). The limit now accounts for the whole message. (Zone files still accept a
  // TXT up to the RDATA limit; such an answer is TC even over TCP.)
  function txtAnswerSize(n: number): number {
    const index = new SkyDnsIndex({ prefix: '/skydns', zones: ['example.test'], defaultTtl: 10 });
    const value = Buffer.from(JSON.stringify({ text: 't'.repeat(n) }));
    index.apply({ reset: true, revision: 2, changes: [{ type: 'put', key: '/skydns/test/example/www', value, lease: undefined, leaseTtl: undefined, modRevision: 1 }] });
    const outcome = resolve({ name: 'www.example.test', type: RRType.TXT }, new Snapshot(index.zones, 1));
    if (outcome.kind !== 'answer') return 0; // rejected: fine
    return templateFor({ name: 'www.example.test', type: RRType.TXT }, outcome).bytes.length;
  }
  it(`encodes a text of MAX_TEXT_BYTES (${MAX_TEXT_BYTES}) into an answer that fits a DNS message`, () => {
    expect(txtAnswerSize(MAX_TEXT_BYTES)).toBeGreaterThan(MAX_TEXT_BYTES);
    expect(txtAnswerSize(MAX_TEXT_BYTES)).toBeLessThanOrEqual(0xffff - 11);
  });
  it('rejects a text whose answer could not fit a DNS message', () => {
    expect(txtAnswerSize(65_250)).toBe(0);
    expect(txtAnswerSize(MAX_TEXT_BYTES + 1)).toBe(0);
  });

  it('rejects values that are huge, deeply nested or full of bad numbers per key, and serves the rest', () => {
    const { index, invalid } = indexWithTracking();
    const put = (key: string, value: string | Buffer): KeyPut => ({ type: 'put', key, value: Buffer.from(value), lease: undefined, leaseTtl: undefined, modRevision: 1 });
    index.apply({
      reset: true,
      revision: 10,
      changes: [
        put('/skydns/test/example/good', '{"host":"192.0.2.1"}'),
        put('/skydns/test/example/deep', '['.repeat(40_000) + ']'.repeat(20_000)),
        put('/skydns/test/example/deepfield', `{"host":${'{"a":'.repeat(13_000)}1${'}'.repeat(13_000)}}`),
        put('/skydns/test/example/huge', Buffer.alloc(MAX_VALUE_BYTES + 1, 0x20)),
        put('/skydns/test/example/inf', '{"host":"192.0.2.2","port":1e400}'),
        put('/skydns/test/example/neg', '{"host":"192.0.2.3","ttl":-5}'),
        put('/skydns/test/example/big', '{"host":"192.0.2.4","weight":123456789012345678901234567890}'),
        put('/skydns/test/example/badlabel/a.b', '{"host":"192.0.2.5"}'),
        put('/skydns/test/example/host', '{"host":"neither an address nor a name"}'),
      ],
    });
    expect(index.recordCount).toBe(1);
    expect(invalid.size).toBe(8);
    const snapshot = new Snapshot(index.zones, 1);
    expect(resolve({ name: 'good.example.test', type: RRType.A }, snapshot)).toMatchObject({ kind: 'answer', answer: [expect.anything()] });
    for (const name of ['deep', 'inf', 'neg', 'big', 'host']) expect(resolve({ name: `${name}.example.test`, type: RRType.A }, snapshot).kind).toBe('nxdomain');
  });
});
