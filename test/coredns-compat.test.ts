/**
 * CoreDNS's own etcd plugin tests (test/coredns/cases.ts) replayed against the built server and
 * a real etcd, over UDP and TCP: `--compat coredns` must give CoreDNS's answer for every case,
 * the default (`--compat rfc`) the same except for the cases where CoreDNS departs from an RFC,
 * and docs/etcd-data.md must list exactly those cases.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedFor, SUITES, type CorednsCase, type CorednsService, type CorednsSuite, type Expected } from './coredns/cases.js';
import { dig, digUntil, type DigRecord, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { REPO_ROOT, startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const MODES = ['coredns', 'rfc'] as const;

const prefixOf = (suite: CorednsSuite) => `/coredns-${suite.file.replace('_test.go', '')}`;

/** `msg.PathWithWildcard`: the key's labels reversed under the prefix. */
function etcdKey(prefix: string, name: string): string {
  return `${prefix}/${name.replace(/\.$/, '').split('.').reverse().join('/')}`;
}

function value(s: CorednsService): string {
  const { key: _key, ...fields } = s;
  return JSON.stringify(fields);
}

/** One record as compared by CoreDNS's test.Section: owner, TTL (303: any), type, data. */
interface Rec {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  readonly data: string;
}

function parseExpected(text: string): Rec {
  const m = /^(\S+) (\d+) (\S+) (.*)$/.exec(text);
  if (!m) throw new Error(`bad expected record ${text}`);
  return { name: m[1]!, ttl: Number(m[2]), type: m[3]!, data: m[4]! };
}

/** An SOA is compared by its MNAME only (test.Section): serials and timers are CoreDNS's own. */
const dataKey = (r: { type: string; data: string }) => (r.type === 'SOA' ? r.data.split(/\s+/)[0]! : r.data);
const sortKey = (r: { name: string; type: string; data: string }) => `${r.name} ${r.type} ${dataKey(r)}`;

function sameSection(got: readonly DigRecord[], want: readonly string[] | undefined): string | undefined {
  const g = [...got].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
  const w = (want ?? []).map(parseExpected).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
  if (g.length !== w.length) return `${g.length} records, expected ${w.length}`;
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    const e = w[i]!;
    if (a.name !== e.name || a.type !== e.type || dataKey(a) !== dataKey(e) || (e.ttl !== 303 && a.ttl !== e.ttl)) {
      return `record ${i} is ${a.name} ${a.ttl} ${a.type} ${dataKey(a)}, expected ${e.name} ${e.ttl} ${e.type} ${dataKey(e)}`;
    }
  }
  return undefined;
}

/** Why `r` is not `want`, or undefined when it is. */
function mismatch(r: DigResult, want: Expected): string | undefined {
  if (r.status !== want.rcode) return `rcode ${r.status}, expected ${want.rcode}`;
  for (const [section, got, expected] of [
    ['answer', r.answer, want.answer],
    ['authority', r.authority, want.ns],
    ['additional', r.additional, want.extra],
  ] as const) {
    const why = sameSection(got, expected);
    if (why) return `${section}: ${why}`;
  }
  return undefined;
}

async function ask(server: ServerProcess, c: CorednsCase, tcp: boolean): Promise<DigResult> {
  return dig(server.port, [c.qname, c.qtype, ...(tcp ? ['+tcp'] : []), ...(c.rd ? ['+recurse'] : [])]);
}

describe('CoreDNS plugin/etcd test cases', () => {
  let etcd: EtcdCluster;
  const servers = new Map<string, ServerProcess>();
  const zonesDir = tempZones({});

  beforeAll(async () => {
    etcd = await startEtcd();
    for (const suite of SUITES) {
      for (const s of suite.services) await etcd.client.put(etcdKey(prefixOf(suite), s.key)).value(value(s));
    }
    // Two servers at a time (one suite, both modes): ten processes starting at once on a busy
    // machine can miss startServer's 10 s limit.
    for (const suite of SUITES) {
      await Promise.all(
        MODES.map(async (mode) => {
          const server = await startServer([
            '--etcd', etcd.endpoints.join(','),
            '--etcd-prefix', prefixOf(suite),
            ...suite.zones.flatMap((z) => ['--etcd-zone', z]),
            '--etcd-default-ttl', '300s',
            '--compat', mode,
            '--zones', zonesDir.dir,
            // The handler after the etcd zones: a forwarder whose upstream never answers.
            '--upstream', '127.0.0.1:9', '--forward-timeout', '100ms',
          ]);
          servers.set(`${suite.file} ${mode}`, server);
          // Synced once the first zone answers anything but the pre-sync SERVFAIL.
          await digUntil(server.port, [suite.zones[0]!, 'SOA'], (r) => r.status === 'NOERROR', 10_000);
        }),
      );
    }
  }, 150_000);

  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await etcd?.stop();
    zonesDir.remove();
  });

  for (const suite of SUITES) {
    for (const mode of MODES) {
      describe(`${suite.file}, --compat ${mode}`, () => {
        for (const c of suite.cases) {
          it(`${c.id}: ${c.qname} ${c.qtype}`, async () => {
            const server = servers.get(`${suite.file} ${mode}`)!;
            const want = expectedFor(c, mode);
            for (const tcp of [false, true]) {
              const r = await ask(server, c, tcp);
              expect(mismatch(r, want), `${tcp ? 'TCP' : 'UDP'}:\n${r.raw}`).toBeUndefined();
            }
          });
        }
      });
    }
  }

  it('the comparison fails on a wrong answer (the check can fail)', () => {
    const r: DigResult = {
      status: 'NOERROR',
      flags: [],
      answer: [{ name: 'a.skydns.test.', ttl: 300, class: 'IN', type: 'A', data: '10.0.0.1' }],
      authority: [],
      additional: [],
      edns: undefined,
      raw: '',
    };
    expect(mismatch(r, { rcode: 'NOERROR', answer: ['a.skydns.test. 300 A 10.0.0.1'] })).toBeUndefined();
    expect(mismatch(r, { rcode: 'NOERROR', answer: ['a.skydns.test. 300 A 10.0.0.2'] })).toMatch(/record 0/);
    expect(mismatch(r, { rcode: 'NOERROR', answer: ['A.skydns.test. 300 A 10.0.0.1'] })).toMatch(/record 0/);
    expect(mismatch(r, { rcode: 'NOERROR', answer: ['a.skydns.test. 30 A 10.0.0.1'] })).toMatch(/record 0/);
    expect(mismatch(r, { rcode: 'NOERROR', answer: ['a.skydns.test. 303 A 10.0.0.1'] })).toBeUndefined();
    expect(mismatch(r, { rcode: 'NXDOMAIN', answer: ['a.skydns.test. 300 A 10.0.0.1'] })).toMatch(/rcode/);
    expect(mismatch(r, { rcode: 'NOERROR' })).toMatch(/answer: 1 records, expected 0/);
  });
});

describe('docs/etcd-data.md and the ported cases', () => {
  const doc = readFileSync(`${REPO_ROOT}docs/etcd-data.md`, 'utf8');
  const start = doc.indexOf('<!-- compat-cases:start');
  const end = doc.indexOf('<!-- compat-cases:end');
  const table = doc.slice(start, end);
  const named = (row: string) => [...row.matchAll(/`([a-z]+_test\.go#\d+)`/g)].map((m) => m[1]!);
  const rows = table.split('\n').filter((l) => l.startsWith('|') && named(l).length > 0);

  it('list every case where the modes differ, and no other, each with its RFC section', () => {
    expect(start).toBeGreaterThan(0);
    const cases = SUITES.flatMap((s) => s.cases);
    const differing = cases.filter((c) => c.rfc).map((c) => c.id).sort();
    const listed = rows.filter((r) => /RFC \d+/.test(r) && !/harness/.test(r)).flatMap(named).sort();
    expect(listed).toEqual(differing);
  });

  it('list every case whose CoreDNS expectation comes from its test harness', () => {
    const cases = SUITES.flatMap((s) => s.cases);
    const harness = cases.filter((c) => c.server).map((c) => c.id).sort();
    expect(rows.filter((r) => /harness/.test(r)).flatMap(named).sort()).toEqual(harness);
  });

  it('name only cases that exist', () => {
    const ids = new Set(SUITES.flatMap((s) => s.cases.map((c) => c.id)));
    for (const id of rows.flatMap(named)) expect(ids, id).toContain(id);
  });
});
