/**
 * `etcdns records` in-process, through runCli like main.test.ts drives serve: argument and
 * value checks (nothing may reach etcd then), and the name <-> key mapping against an
 * in-memory record store.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from './cli.js';
import type { CheckZoneResult, CliContext } from './context.js';
import type { RecordStore, RecordsContext, StoredRecord } from './records.js';

/** An in-memory etcd keyspace with the store's semantics. */
function memoryStore(initial: Record<string, string> = {}) {
  const kv = new Map<string, string>(Object.entries(initial));
  const leases: { key: string; ttl: number }[] = [];
  const sorted = () => [...kv.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const store: RecordStore & { closed: boolean } = {
    closed: false,
    async list(key, self) {
      return sorted()
        .filter(([k]) => (self && k === key) || k.startsWith(`${key}/`))
        .map(([k, v]): StoredRecord => ({ key: k, value: Buffer.from(v) }));
    },
    async put(key, value, ttl) {
      kv.set(key, value);
      if (ttl === undefined) return {};
      leases.push({ key, ttl });
      return { leaseId: '7587' };
    },
    async remove(key, recursive) {
      const gone = sorted()
        .map(([k]) => k)
        .filter((k) => k === key || (recursive && k.startsWith(`${key}/`)));
      for (const k of gone) kv.delete(k);
      return gone;
    },
    close() {
      store.closed = true;
    },
  };
  return { store, kv, leases };
}

function harness(store?: RecordStore, env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  const openRecordStore = vi.fn((): RecordStore => {
    if (!store) throw new Error('no store in this test');
    return store;
  });
  const ctx: RecordsContext = {
    env,
    cwd: '/srv/etcdns',
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    runServer: vi.fn(async (): Promise<{ close(): Promise<void> }> => {
      throw new Error('runServer called');
    }),
    checkZoneFile: vi.fn(async (): Promise<CheckZoneResult> => ({ ok: true, errors: [], warnings: [] })),
    openRecordStore,
  };
  return {
    openRecordStore,
    async run(...args: string[]) {
      const code = await runCli(args, ctx as CliContext);
      return { code, ...out };
    },
  };
}

const ETCD = ['--etcd', 'http://127.0.0.1:2379'];

describe('records: usage errors (one line, exit 2, etcd never opened)', () => {
  it.each([
    [['records'], 'etcdns: missing records command (list, put or rm); see "etcdns records --help"'],
    [['records', 'lst'], 'etcdns: unknown argument: lst; see "etcdns records --help"'],
    [['records', 'put', 'x.example.test'], 'etcdns: not enough non-option arguments: got 1, need at least 2; see "etcdns records --help"'],
    [['records', 'list'], 'etcdns: --etcd is required: the etcd endpoints (e.g. --etcd http://127.0.0.1:2379)'],
    [['records', 'list', '--etcd', 'etcd:2379'], 'etcdns: --etcd "etcd:2379": must start with http:// or https:// (e.g. http://127.0.0.1:2379)'],
    [['records', 'list', ...ETCD, '--etcd-prefix', 'skydns'], 'etcdns: --etcd-prefix "skydns": must start with "/" (e.g. /skydns)'],
    [['records', 'list', ...ETCD, '--etcd-username', 'dns'], 'etcdns: --etcd-username needs --etcd-password'],
    [['records', 'list', ...ETCD, '--etcd-ca', 'nope.pem'], 'etcdns: --etcd-ca "nope.pem": file not found'],
    [['records', 'list', 'bad name.test', ...ETCD], 'etcdns: name "bad name.test": label "bad name" may only hold letters, digits, "-" and "_" (or be a lone "*")'],
    [['records', 'rm', '.', ...ETCD], 'etcdns: name ".": the root has no record (give a name such as www.example.test)'],
    [['records', 'put', 'x..test', '{}', ...ETCD], 'etcdns: name "x..test": empty label in "x..test"'],
    [['records', 'put', 'x.example.test', '{"host":', ...ETCD], expect.stringMatching(/^etcdns: value for x\.example\.test: invalid JSON: /)],
    [['records', 'put', 'x.example.test', '{"host":"not a host!"}', ...ETCD], 'etcdns: value for x.example.test: host: "not a host!" is neither an IP address nor a valid host name'],
    [['records', 'put', 'x.example.test', '{"host":"10.0.0.1","port":"80"}', ...ETCD], 'etcdns: value for x.example.test: port: expected an integer -1..65535, got "80"'],
    [['records', 'put', 'x.example.test', '[1]', ...ETCD], 'etcdns: value for x.example.test: expected a JSON object, got an array'],
    [['records', 'put', 'x.example.test', '{}', '--ttl-lease', '0', ...ETCD], 'etcdns: --ttl-lease "0": must be 1-9000000000'],
    [['records', 'put', 'x.example.test', '{}', '--ttl-lease', '5s', ...ETCD], 'etcdns: --ttl-lease "5s": not a number'],
    [['records', 'rm', 'x.example.test', '--recursive=maybe', ...ETCD], 'etcdns: --recursive "maybe": must be true or false (or 1/0, yes/no)'],
  ])('%j', async (args, line) => {
    const h = harness();
    const { code, stdout, stderr } = await h.run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toEqual(typeof line === 'string' ? `${line}\n` : line);
    expect(h.openRecordStore).not.toHaveBeenCalled();
  });

  it('takes the connection from ETCDNS_* variables, a flag winning', async () => {
    const { store } = memoryStore();
    const h = harness(store, { ETCDNS_ETCD: 'http://10.0.0.1:2379,http://10.0.0.2:2379', ETCDNS_ETCD_PREFIX: '/dns', ETCDNS_ETCD_USERNAME: 'u', ETCDNS_ETCD_PASSWORD: 'p' });
    expect((await h.run('records', 'list')).code).toBe(0);
    expect(h.openRecordStore).toHaveBeenLastCalledWith({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], username: 'u', password: 'p' });
    expect((await h.run('records', 'list', '--etcd', 'http://127.0.0.1:2379')).code).toBe(0);
    expect(h.openRecordStore).toHaveBeenLastCalledWith(expect.objectContaining({ endpoints: ['http://127.0.0.1:2379'] }));
  });

  it('never shows a password in an error', async () => {
    const h = harness(undefined, { ETCDNS_ETCD_PASSWORD: '' });
    const { code, stderr } = await h.run('records', 'list', ...ETCD, '--etcd-username', 'dns');
    expect(code).toBe(2);
    expect(stderr).toBe('etcdns: ETCDNS_ETCD_PASSWORD=[redacted]: must not be empty\n');
  });

  it('reads TLS files up front: a file that is not PEM is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcdns-records-'));
    writeFileSync(join(dir, 'ca.pem'), 'not a certificate');
    const h = harness();
    const { code, stderr } = await h.run('records', 'list', '--etcd', 'https://127.0.0.1:2379', '--etcd-ca', join(dir, 'ca.pem'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^etcdns: etcd: caFile .*ca\.pem does not look like PEM/);
    const plain = await harness().run('records', 'list', ...ETCD, '--etcd-ca', join(dir, 'ca.pem'));
    expect(plain.stderr).toMatch(/^etcdns: etcd: TLS files are set but the endpoints are http:\/\//);
  });
});

describe('records list', () => {
  const data = {
    '/skydns/test/example/www': '{"host":"192.0.2.1"}',
    '/skydns/test/example/www/x1': '{\n  "host": "192.0.2.10"\n}',
    '/skydns/test/example/www-2': '{"host":"192.0.2.2"}',
    '/skydns/test/example/api/x1': '{"host":"10.0.0.1","port":8080,"metadata":{"v":"1"}}',
    '/skydns/test/example/bad': '{not json',
    '/skydns/test/example/odd.key': '{"host":"10.0.0.9"}',
  };

  it('prints every record under the prefix by name, values compact, invalid ones marked', async () => {
    const { store } = memoryStore(data);
    const { code, stdout, stderr } = await harness(store).run('records', 'list', ...ETCD);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    // Key order (etcd's): names grouped by zone, parents before children.
    expect(lines.map((l) => /^(.*?) {2,}(.*)$/.exec(l)!.slice(1))).toEqual([
      ['x1.api.example.test', '{"host":"10.0.0.1","port":8080,"metadata":{"v":"1"}}'],
      ['bad.example.test', expect.stringMatching(/^\{not json {2}# invalid: invalid JSON: /)],
      ['/skydns/test/example/odd.key (key is not a DNS name)', '{"host":"10.0.0.9"}'],
      ['www.example.test', '{"host":"192.0.2.1"}'],
      ['www-2.example.test', '{"host":"192.0.2.2"}'],
      ['x1.www.example.test', '{"host":"192.0.2.10"}'],
    ]);
    // Values start in one column.
    expect(new Set(lines.map((l) => l.indexOf('{')))).toHaveProperty('size', 1);
  });

  it('under NAME: the record at NAME and those below it, not its siblings', async () => {
    const { store } = memoryStore(data);
    const h = harness(store);
    const { code, stdout } = await h.run('records', 'list', 'WWW.example.test.', ...ETCD);
    expect(code).toBe(0);
    expect(stdout).toBe('www.example.test     {"host":"192.0.2.1"}\nx1.www.example.test  {"host":"192.0.2.10"}\n');
    expect(store.closed).toBe(true);
  });

  it('a name with nothing at or below it exits 1', async () => {
    const { store } = memoryStore(data);
    const { code, stdout, stderr } = await harness(store).run('records', 'list', 'nope.example.test', ...ETCD);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('etcdns: no records at or below nope.example.test\n');
  });

  it('uses --etcd-prefix for keys and names', async () => {
    const { store } = memoryStore({ '/dns/test/example/a': '{"host":"10.0.0.1"}', '/skydns/test/example/b': '{"host":"10.0.0.2"}' });
    const { stdout } = await harness(store).run('records', 'list', ...ETCD, '--etcd-prefix', '/dns');
    expect(stdout).toBe('a.example.test  {"host":"10.0.0.1"}\n');
  });

  it('an etcd failure is one line naming the endpoints, exit 1', async () => {
    const { store } = memoryStore();
    store.list = async () => {
      throw new Error('14 UNAVAILABLE: No connection established\nLast error: connect ECONNREFUSED');
    };
    const { code, stderr } = await harness(store).run('records', 'list', ...ETCD);
    expect(code).toBe(1);
    expect(stderr).toBe('etcdns: records list: etcd http://127.0.0.1:2379: 14 UNAVAILABLE: No connection established; Last error: connect ECONNREFUSED\n');
    expect(store.closed).toBe(true);
  });
});

describe('records put', () => {
  it('writes the value exactly as typed at the key of the name', async () => {
    const { store, kv } = memoryStore();
    const value = '{"host":"10.0.0.1","port":53,"owner":"ops"}';
    const { code, stdout, stderr } = await harness(store).run('records', 'put', 'NS1.Example.TEST', value, ...ETCD);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('ns1.example.test  /skydns/test/example/ns1\n');
    expect([...kv]).toEqual([['/skydns/test/example/ns1', value]]);
  });

  it('wildcards and underscore labels map to keys', async () => {
    const { store, kv } = memoryStore();
    const h = harness(store);
    expect((await h.run('records', 'put', '*.example.test', '{"host":"10.0.0.1"}', ...ETCD)).code).toBe(0);
    expect((await h.run('records', 'put', '_grpc._tcp.api.example.test', '{"host":"api.example.test","port":443}', ...ETCD)).code).toBe(0);
    expect([...kv.keys()]).toEqual(['/skydns/test/example/*', '/skydns/test/example/api/_tcp/_grpc']);
  });

  it('--ttl-lease puts it under a lease and says when it expires', async () => {
    const { store, leases } = memoryStore();
    const { code, stdout } = await harness(store).run('records', 'put', 'tmp.example.test', '{"host":"10.0.0.1"}', '--ttl-lease', '30', ...ETCD);
    expect(code).toBe(0);
    expect(stdout).toBe('tmp.example.test  /skydns/test/example/tmp, lease 7587 expires in 30s\n');
    expect(leases).toEqual([{ key: '/skydns/test/example/tmp', ttl: 30 }]);
  });
});

describe('records rm', () => {
  const data = { '/skydns/test/example/www': '{"host":"192.0.2.1"}', '/skydns/test/example/www/x1': '{"host":"192.0.2.10"}', '/skydns/test/example/www/x2': '{"host":"192.0.2.11"}' };

  it('deletes the record at NAME only', async () => {
    const { store, kv } = memoryStore(data);
    const { code, stdout } = await harness(store).run('records', 'rm', 'www.example.test', ...ETCD);
    expect(code).toBe(0);
    expect(stdout).toBe('deleted www.example.test\n');
    expect([...kv.keys()]).toEqual(['/skydns/test/example/www/x1', '/skydns/test/example/www/x2']);
  });

  it('--recursive (-r) deletes what is below too', async () => {
    const { store, kv } = memoryStore(data);
    const { code, stdout } = await harness(store).run('records', 'rm', 'www.example.test', '-r', ...ETCD);
    expect(code).toBe(0);
    expect(stdout).toBe('deleted www.example.test\ndeleted x1.www.example.test\ndeleted x2.www.example.test\n');
    expect(kv.size).toBe(0);
  });

  it('nothing there: exit 1, with a hint when there are records below', async () => {
    const { store } = memoryStore({ '/skydns/test/example/www/x1': '{"host":"192.0.2.10"}' });
    const h = harness(store);
    const below = await h.run('records', 'rm', 'www.example.test', ...ETCD);
    expect(below.code).toBe(1);
    expect(below.stderr).toBe('etcdns: no record named www.example.test (1 record below it: add --recursive to delete them)\n');
  });
});
