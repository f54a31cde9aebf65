import { createServer as createTcpServer, connect, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isEtcdnsError } from '../errors.js';
import { silentLogger } from '../log.js';
import { Metrics } from './metrics.js';
import { OpsListenError, OpsServer, OpsServerStateError, type OpsServerOptions, type Readiness } from './http.js';

const LOOPBACK = '127.0.0.1';
const ANY_PORT = { host: LOOPBACK, port: 0 };

const open: OpsServer[] = [];
const blockers: TcpServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await Promise.all(blockers.splice(0).map((b) => new Promise((done) => b.close(done))));
});

const metrics = new Metrics({ defaultMetrics: false });

function server(o: Partial<OpsServerOptions> = {}): OpsServer {
  const s = new OpsServer({
    healthListen: ANY_PORT,
    readyListen: ANY_PORT,
    metricsListen: ANY_PORT,
    isReady: () => ({ ready: true, reasons: [] }),
    metrics: metrics.registry,
    logger: silentLogger(),
    ...o,
  });
  open.push(s);
  return s;
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A port that was free a moment ago (bound and released): for tests that need to name one. */
async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((done) => probe.listen(0, LOOPBACK, done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

/** Holds a port, so that binding it fails. */
async function occupied(): Promise<number> {
  const blocker = createTcpServer();
  await new Promise<void>((done) => blocker.listen(0, LOOPBACK, done));
  blockers.push(blocker);
  return (blocker.address() as { port: number }).port;
}

/** Writes raw bytes and returns what comes back until the server closes the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, LOOPBACK, () => socket.write(bytes));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('OpsServer endpoints', () => {
  it('answers /health with 200 OK, uncached, on its own address', async () => {
    const urls = await server().listen();
    expect(urls.health).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set([urls.health, urls.ready, urls.metrics]).size).toBe(3);
    const res = await get(`${urls.health}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('OK');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    // A query string does not change the path.
    expect((await get(`${urls.health}/health?verbose=1`)).status).toBe(200);
  });

  it('answers /ready with 200 once ready and 503 with the reasons, one per line, before', async () => {
    let state: Readiness = { ready: false, reasons: ['etcd: initial sync not done', 'zones: not loaded'] };
    const urls = await server({ isReady: () => state }).listen();
    const before = await get(`${urls.ready}/ready`);
    expect(before.status).toBe(503);
    expect(before.body).toBe('etcd: initial sync not done\nzones: not loaded\n');
    state = { ready: true, reasons: [] };
    expect(await get(`${urls.ready}/ready`)).toMatchObject({ status: 200, body: 'OK' });
    state = { ready: false, reasons: [] };
    expect(await get(`${urls.ready}/ready`)).toMatchObject({ status: 503, body: 'not ready\n' });
  });

  it('says 503 "shutting down" on /ready once draining, while /health stays 200', async () => {
    let state: Readiness = { ready: true, reasons: [] };
    const s = server({ isReady: () => state });
    const urls = await s.listen();
    expect((await get(`${urls.ready}/ready`)).status).toBe(200);
    s.setDraining();
    expect(await get(`${urls.ready}/ready`)).toMatchObject({ status: 503, body: 'shutting down\n' });
    state = { ready: false, reasons: ['etcd: disconnected'] };
    expect(await get(`${urls.ready}/ready`)).toMatchObject({ status: 503, body: 'shutting down\netcd: disconnected\n' });
    expect(await get(`${urls.health}/health`)).toMatchObject({ status: 200, body: 'OK' });
  });

  it('turns a readiness check that throws into a 503 with the reason', async () => {
    const urls = await server({
      isReady: () => {
        throw new Error('boom');
      },
    }).listen();
    expect(await get(`${urls.ready}/ready`)).toMatchObject({ status: 503, body: 'readiness check failed: boom\n' });
    expect((await get(`${urls.health}/health`)).status).toBe(200);
  });

  it('serves the Prometheus exposition on /metrics with its content type, current at each scrape', async () => {
    const own = new Metrics({ defaultMetrics: false });
    const urls = await server({ metrics: own.registry }).listen();
    const first = await get(`${urls.metrics}/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(first.body).toMatch(/^etcdns_build_info\{version="[^"]+"\} 1$/m);
    expect(first.body).not.toContain('etcdns_dns_requests_total{');
    own.observeQuery({ transport: 'udp', zone: 'example.com', type: 1, rcode: 0, size: 50, truncated: false, startedAt: performance.now() });
    const second = await get(`${urls.metrics}/metrics`);
    expect(second.body).toContain('etcdns_dns_requests_total{zone="example.com.",proto="udp",type="A"} 1\n');
  });

  it('answers 500 when collecting metrics fails, and keeps serving', async () => {
    const broken = new Metrics({ defaultMetrics: false });
    broken.registry.metrics = () => Promise.reject(new Error('collector broke'));
    const urls = await server({ metrics: broken.registry }).listen();
    expect(await get(`${urls.metrics}/metrics`)).toMatchObject({ status: 500, body: 'collecting metrics failed\n' });
    expect((await get(`${urls.health}/health`)).status).toBe(200);
  });

  it('answers 404 for other paths, and for the paths of endpoints served elsewhere', async () => {
    const urls = await server().listen();
    for (const path of ['/', '/healthz', '/health/', '/HEALTH', '/ready', '/metrics', '/favicon.ico']) {
      expect((await get(`${urls.health}${path}`)).status, path).toBe(404);
    }
    expect((await get(`${urls.metrics}/health`)).status).toBe(404);
    expect((await get(`${urls.ready}/metrics`)).status).toBe(404);
  });

  it('answers 405 with Allow for methods other than GET and HEAD; HEAD gets headers only', async () => {
    const urls = await server().listen();
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await get(`${urls.health}/health`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    // 404 wins over 405: the path is unknown whatever the method.
    expect((await get(`${urls.health}/nope`, { method: 'POST' })).status).toBe(404);
    const head = await get(`${urls.ready}/ready`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers.get('content-length')).toBe('2');
  });
});

describe('OpsServer addresses', () => {
  it('serves endpoints that share an address from one server', async () => {
    const port = await freePort();
    const urls = await server({ healthListen: { host: LOOPBACK, port }, readyListen: { host: LOOPBACK, port } }).listen();
    expect(urls.health).toBe(`http://127.0.0.1:${port}`);
    expect(urls.ready).toBe(urls.health);
    expect(urls.metrics).not.toBe(urls.health);
    expect((await get(`${urls.health}/health`)).status).toBe(200);
    expect((await get(`${urls.health}/ready`)).status).toBe(200);
    expect((await get(`${urls.health}/metrics`)).status).toBe(404);
  });

  it('serves all three from one address', async () => {
    const port = await freePort();
    const at = { host: LOOPBACK, port };
    const urls = await server({ healthListen: at, readyListen: at, metricsListen: at }).listen();
    expect(urls).toEqual({ health: `http://127.0.0.1:${port}`, ready: `http://127.0.0.1:${port}`, metrics: `http://127.0.0.1:${port}` });
    for (const path of ['/health', '/ready', '/metrics']) expect((await get(`${urls.health}${path}`)).status, path).toBe(200);
  });

  it('writes IPv6 addresses in brackets', async () => {
    const urls = await server({ healthListen: { host: '::1', port: 0 }, readyListen: undefined, metricsListen: undefined }).listen();
    expect(urls.health).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await get(`${urls.health}/health`)).status).toBe(200);
  });

  it('leaves out endpoints that are off', async () => {
    const urls = await server({ healthListen: undefined, metricsListen: undefined }).listen();
    expect(Object.keys(urls)).toEqual(['ready']);
    expect(await server({ healthListen: undefined, readyListen: undefined, metricsListen: undefined }).listen()).toEqual({});
  });

  it('names the endpoint and address it cannot bind, and leaves nothing bound', async () => {
    const busy = await occupied();
    const healthPort = await freePort();
    const s = server({ healthListen: { host: LOOPBACK, port: healthPort }, readyListen: { host: LOOPBACK, port: busy } });
    const error = await s.listen().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpsListenError);
    expect((error as Error).message).toBe(`cannot listen for /ready on 127.0.0.1:${busy}: address already in use (EADDRINUSE); set another address with --ready-listen HOST:PORT, or turn it off with --ready-listen off`);
    expect(error).toMatchObject({ name: 'OpsListenError', code: 'ETCDNS_ERR_OPS_LISTEN', osCode: 'EADDRINUSE', endpoints: ['ready'], host: LOOPBACK, port: busy });
    expect(isEtcdnsError(error, 'ETCDNS_ERR_OPS_LISTEN')).toBe(true);
    expect(String(error)).toMatch(/^OpsListenError: cannot listen for \/ready on 127\.0\.0\.1:\d+: address already in use/);
    // The health server bound before the failure was closed again: its port is free.
    const again = await server({ healthListen: { host: LOOPBACK, port: healthPort }, readyListen: undefined, metricsListen: undefined }).listen();
    expect(again.health).toBe(`http://127.0.0.1:${healthPort}`);
  });

  it('names every endpoint of a shared address it cannot bind', async () => {
    const busy = await occupied();
    const at = { host: LOOPBACK, port: busy };
    await expect(server({ healthListen: at, readyListen: at, metricsListen: undefined }).listen()).rejects.toThrow(
      `cannot listen for /health and /ready on 127.0.0.1:${busy}: address already in use (EADDRINUSE); set another address with --health-listen HOST:PORT and --ready-listen HOST:PORT, or turn them off with --health-listen off and --ready-listen off`,
    );
  });

  it('names an address that is not on this host', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    await expect(server({ metricsListen: { host: '192.0.2.1', port: 0 } }).listen()).rejects.toThrow(
      'cannot listen for /metrics on 192.0.2.1:0: address not available on this host (EADDRNOTAVAIL)',
    );
  });
});

describe('OpsServer robustness and lifecycle', () => {
  it('answers a malformed request with 400 and keeps serving', async () => {
    const urls = await server().listen();
    const port = Number(new URL(urls.health!).port);
    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    // A client that connects and leaves mid-request.
    await new Promise<void>((done) => {
      const socket = connect(port, LOOPBACK, () => {
        socket.write('GET /hea');
        socket.destroy();
        done();
      });
    });
    expect((await get(`${urls.health}/health`)).status).toBe(200);
  });

  it('closes promptly with a keep-alive connection open, and cannot listen again', async () => {
    const s = server();
    const urls = await s.listen();
    // fetch keeps its connection open for reuse, as Prometheus does between scrapes.
    expect((await get(`${urls.metrics}/metrics`)).status).toBe(200);
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(1000);
    const refused = await fetch(`${urls.health}/health`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
    await expect(s.listen()).rejects.toThrow('OpsServer.listen: already closed');
    await expect(s.close()).resolves.toBeUndefined(); // twice is fine
  });

  it('cannot listen twice', async () => {
    const s = server();
    await s.listen();
    const error = await s.listen().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpsServerStateError);
    expect(error).toMatchObject({ code: 'ETCDNS_ERR_OPS_STATE', message: 'OpsServer.listen: already listening' });
  });
});

describe('OpsServer idle connections', () => {
  it('closes a connection that sends nothing, and one kept alive after its request, after the idle timeout', async () => {
    const s = server({ idleTimeoutMs: 300 });
    const urls = await s.listen();
    const { port, hostname } = new URL(urls.health!);
    const closedAfter = async (send?: string) => {
      const socket = connect(Number(port), hostname);
      const started = performance.now();
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      if (send) socket.write(send);
      socket.resume();
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      return performance.now() - started;
    };
    // Nothing sent: closed by the server (it was held forever before).
    const silent = await closedAfter();
    expect(silent).toBeGreaterThanOrEqual(250);
    expect(silent).toBeLessThan(5000);
    // A kept-alive connection after one answered request: closed too.
    expect(await closedAfter('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')).toBeLessThan(5000);
  });
});
