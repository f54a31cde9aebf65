import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noop } from 'cockatiel';
import { Etcd3, GRPCUnavailableError, EtcdPermissionDeniedError, type CallOptionsFactory } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { createEtcdClient, etcdClientOptions } from './client.js';
import { EtcdOptionsError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'etcdns-client-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
// Only the PEM block labels are checked here; gRPC parses the contents when it connects.
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n');
const key = file('client-key.pem', '-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n');
const notPem = file('garbage.txt', 'hello');

function callOptions(factory: CallOptionsFactory | undefined, isStream: boolean) {
  expect(typeof factory).toBe('function');
  return (factory as (ctx: unknown) => { deadline?: number })({ service: 'KV', method: 'range', isStream, params: {} });
}

describe('etcdClientOptions', () => {
  it('normalises endpoints: bare host:port gets http://, or https:// with TLS files', () => {
    expect(etcdClientOptions({ endpoints: ['127.0.0.1:2379', 'http://etcd-1:2379/'] }).hosts).toEqual(['http://127.0.0.1:2379', 'http://etcd-1:2379']);
    expect(etcdClientOptions({ endpoints: ['etcd:2379'], caFile: ca }).hosts).toEqual(['https://etcd:2379']);
    expect(etcdClientOptions({ endpoints: ['[::1]:2379'] }).hosts).toEqual(['http://[::1]:2379']);
  });

  it('rejects bad endpoint lists with a message naming the endpoint', () => {
    expect(() => etcdClientOptions({ endpoints: [] })).toThrow(/at least one endpoint/);
    expect(() => etcdClientOptions({ endpoints: [''] })).toThrow(/empty endpoint/);
    expect(() => etcdClientOptions({ endpoints: ['http://a:2379', 'https://b:2379'] })).toThrow(/mix https/);
    expect(() => etcdClientOptions({ endpoints: ['http://a:2379'], caFile: ca })).toThrow(/TLS files are set but the endpoints are http/);
    expect(() => etcdClientOptions({ endpoints: ['http://etcd'] })).toThrow(/"http:\/\/etcd" has no port/);
    expect(() => etcdClientOptions({ endpoints: ['unix://x:1'] })).toThrow(/only http/);
    expect(() => etcdClientOptions({ endpoints: ['http://a:2379/v3'] })).toThrow(/path/);
  });

  it('throws its option errors as EtcdOptionsError with a stable code', () => {
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const o of [{ endpoints: [] }, { endpoints: ['http://etcd'] }, { endpoints: ['a:2379'], username: 'root' }, { endpoints: ['https://a:2379'], caFile: join(dir, 'nope.pem') }]) {
      const err = thrown(() => etcdClientOptions(o));
      expect(err).toBeInstanceOf(EtcdOptionsError);
      expect(err).toMatchObject({ code: 'ETCDNS_ERR_ETCD_OPTIONS', name: 'EtcdOptionsError' });
    }
    // An unreadable file keeps the file system's error as the cause.
    expect(thrown(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: join(dir, 'nope.pem') }))).toMatchObject({ cause: { code: 'ENOENT' } });
  });

  it('requires cert and key together, and username and password together', () => {
    expect(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: ca, certFile: cert })).toThrow(/certFile and keyFile/);
    expect(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: ca, keyFile: key })).toThrow(/certFile and keyFile/);
    expect(() => etcdClientOptions({ endpoints: ['a:2379'], username: 'root' })).toThrow(/username and password/);
    expect(() => etcdClientOptions({ endpoints: ['a:2379'], password: 'x' })).toThrow(/username and password/);
    expect(() => etcdClientOptions({ endpoints: ['a:2379'], username: '', password: 'x' })).toThrow(/username is empty/);
  });

  it('reads TLS files, failing with the file name and its role', () => {
    const missing = join(dir, 'nope.pem');
    expect(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: missing })).toThrow(`cannot read caFile ${missing}`);
    expect(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: ca, certFile: cert, keyFile: missing })).toThrow(`cannot read keyFile ${missing}`);
    expect(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: notPem })).toThrow(`caFile ${notPem} does not look like PEM`);
    expect(() => etcdClientOptions({ endpoints: ['https://a:2379'], caFile: ca, certFile: cert, keyFile: cert })).toThrow(/keyFile .*"PRIVATE KEY"/);

    const caOnly = etcdClientOptions({ endpoints: ['https://a:2379'], caFile: ca });
    expect(caOnly.credentials?.rootCertificate?.toString()).toContain('MIIB');
    expect(caOnly.credentials?.certChain).toBeUndefined();
    const mtls = etcdClientOptions({ endpoints: ['https://a:2379'], caFile: ca, certFile: cert, keyFile: key });
    expect(mtls.credentials?.certChain?.toString()).toContain('MIIC');
    expect(mtls.credentials?.privateKey?.toString()).toContain('MHcC');
    // https:// without files: TLS against the system roots, no credentials object needed.
    expect(etcdClientOptions({ endpoints: ['https://a:2379'] }).credentials).toBeUndefined();
  });

  it('passes username/password auth, with a deadline on the token exchange', () => {
    const o = etcdClientOptions({ endpoints: ['a:2379'], username: 'root', password: 'pw' });
    expect(o.auth).toMatchObject({ username: 'root', password: 'pw' });
    const before = Date.now();
    expect(callOptions(o.auth!.callOptions, false).deadline).toBeGreaterThanOrEqual(before + 5000);
    expect(etcdClientOptions({ endpoints: ['a:2379'] }).auth).toBeUndefined();
  });

  it('puts a deadline on unary calls only (5 s, or dialTimeoutMs), never on streams', () => {
    const before = Date.now();
    const o = etcdClientOptions({ endpoints: ['a:2379'] });
    const unary = callOptions(o.defaultCallOptions, false).deadline!;
    expect(unary).toBeGreaterThanOrEqual(before + 5000);
    expect(unary).toBeLessThanOrEqual(Date.now() + 5000);
    expect(callOptions(o.defaultCallOptions, true)).toEqual({});
    const custom = etcdClientOptions({ endpoints: ['a:2379'], dialTimeoutMs: 1500 });
    expect(callOptions(custom.defaultCallOptions, false).deadline!).toBeLessThanOrEqual(Date.now() + 1500);
    expect(() => etcdClientOptions({ endpoints: ['a:2379'], dialTimeoutMs: 0 })).toThrow(/dialTimeoutMs/);
    expect(() => etcdClientOptions({ endpoints: ['a:2379'], dialTimeoutMs: Number.NaN })).toThrow(/dialTimeoutMs/);
  });

  it('keeps gRPC keepalive at 10 s / 5 s (etcd GOAWAYs pings more often than every 5 s)', () => {
    const g = etcdClientOptions({ endpoints: ['a:2379'] }).grpcOptions!;
    expect(g['grpc.keepalive_time_ms']).toBe(10_000);
    expect(g['grpc.keepalive_timeout_ms']).toBe(5_000);
    expect(g['grpc.keepalive_permit_without_calls']).toBeUndefined();
  });

  it('tunes fault handling: no per-host breaker, 2 attempts on recoverable errors only, watch backoff ≤ 2 s', async () => {
    const f = etcdClientOptions({ endpoints: ['a:2379'] }).faultHandling!;
    expect(f.host!('a:2379')).toBe(noop);

    let calls = 0;
    await expect(
      f.global!.execute(() => {
        calls++;
        throw new GRPCUnavailableError('14 UNAVAILABLE');
      }),
    ).rejects.toBeInstanceOf(GRPCUnavailableError);
    expect(calls).toBe(3); // cockatiel's maxAttempts counts retries: 1 try + 2 retries
    calls = 0;
    await expect(
      f.global!.execute(() => {
        calls++;
        throw new EtcdPermissionDeniedError('permission denied');
      }),
    ).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    expect(calls).toBe(1);

    // etcd3 uses watchBackoff as a factory: next() gives the first delay, and so on.
    let b = (f.watchBackoff as unknown as { next(): { duration: number; next(): unknown } }).next();
    const delays = [b.duration];
    for (let i = 0; i < 30; i++) {
      b = b.next() as typeof b;
      delays.push(b.duration);
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(delays[0]).toBeLessThanOrEqual(200);
  });
});

describe('createEtcdClient', () => {
  it('builds an etcd3 client without connecting', () => {
    const client = createEtcdClient({ endpoints: ['127.0.0.1:1'] });
    expect(client).toBeInstanceOf(Etcd3);
    client.close();
  });
});
