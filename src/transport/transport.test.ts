// (Over 500 lines: the same cases run for both UDP engines through describe.each.)
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Clock } from '../clock.js';
import { silentLogger } from '../log.js';
import { Reporter } from './reporter.js';
import { DnsTransport, ListenError, type UdpIo, resolveUdpIo } from './server.js';
import type { QueryContext, QueryHandler, TransportEvent, TransportOptions } from './types.js';
import { loadUdpBatchFrom } from './udp-batch.js';

// Real sockets on loopback only. Waits are bounded so a broken transport fails a test
// instead of hanging it; assertions are on events and replies, not on elapsed time.

const WAIT_MS = 2000;

async function canListen(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, host, () => s.close(() => resolve(true)));
  });
}

async function canConnectFrom(localAddress: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer((c) => c.destroy());
    s.listen(0, '127.0.0.1', () => {
      const c = net.connect({ host: '127.0.0.1', port: (s.address() as net.AddressInfo).port, localAddress });
      c.once('connect', () => {
        c.destroy();
        s.close(() => resolve(true));
      });
      c.once('error', () => s.close(() => resolve(false)));
    });
  });
}

const HAVE_IPV6 = await canListen('::1');
const HAVE_127_0_0_2 = await canConnectFrom('127.0.0.2');
/** The UDP engines this machine has: the native one wherever `npm run build` could compile it. */
const ENGINES: Array<Exclude<UdpIo, 'auto'>> = resolveUdpIo('batch').engine === 'batch' ? ['dgram', 'batch'] : ['dgram'];

const DEFAULTS: TransportOptions = {
  tcpIdleTimeoutMs: 5000,
  tcpMaxConnections: 100,
  tcpMaxConnectionsPerClient: 100,
  tcpMaxQueriesPerConnection: 0,
  tcpMaxInFlightPerConnection: 16,
};

function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function until(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function reply(text: string): Buffer {
  return Buffer.from(`R:${text}`);
}

/**
 * The fake handler: replies 'R:<query>'. Special queries: 'throw', 'reject', 'null',
 * 'never' (promise that never settles), 'big' (70000-byte reply), 'slowN:...' (async, N ms).
 */
function testHandler(calls: string[], contexts: QueryContext[] = []): QueryHandler {
  return (msg, ctx) => {
    const text = msg.toString();
    calls.push(text);
    contexts.push(ctx);
    if (text === 'throw') throw new Error('boom');
    if (text === 'reject') return Promise.reject(new Error('nope'));
    if (text === 'null') return null;
    if (text === 'never') return new Promise<Buffer | null>(() => {});
    if (text === 'big') return Buffer.alloc(70000);
    const slow = /^slow(\d+):/.exec(text);
    if (slow) return sleep(Number(slow[1])).then(() => reply(text));
    return reply(text);
  };
}

interface Started {
  t: DnsTransport;
  port: number;
  events: TransportEvent[];
  calls: string[];
  contexts: QueryContext[];
}

const transports: DnsTransport[] = [];
const sockets: Array<net.Socket | dgram.Socket | net.Server> = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) {
    if (s instanceof net.Socket) s.destroy();
    else if (s instanceof net.Server) await new Promise<void>((r) => s.close(() => r()));
    else
      try {
        s.close();
      } catch {
        // already closed
      }
  }
  await Promise.all(transports.splice(0).map((t) => t.close(0)));
});

async function start(
  opts: Partial<TransportOptions> = {},
  handler?: QueryHandler,
  host = '127.0.0.1',
  io: UdpIo = 'dgram',
): Promise<Started> {
  const events: TransportEvent[] = [];
  const calls: string[] = [];
  const contexts: QueryContext[] = [];
  const t = new DnsTransport({
    handler: handler ?? testHandler(calls, contexts),
    logger: silentLogger(),
    options: { ...DEFAULTS, ...opts },
    udp: { io, reusePort: false },
    onEvent: (e) => events.push(e),
  });
  transports.push(t);
  const bound = await t.listen([{ host, port: 0 }]);
  return { t, port: bound[0]!.port, events, calls, contexts };
}

function frame(text: string | Buffer): Buffer {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const out = Buffer.alloc(body.length + 2);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

/** A DNS-over-TCP test client that collects length-prefixed replies. */
class TcpClient {
  readonly replies: string[] = [];
  ended = false;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    sockets.push(socket);
    socket.on('error', () => {}); // resets are expected in some tests
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 2) {
        const len = this.buf.readUInt16BE(0);
        if (this.buf.length < len + 2) break;
        this.replies.push(this.buf.subarray(2, 2 + len).toString());
        this.buf = this.buf.subarray(2 + len);
      }
    });
    socket.on('end', () => (this.ended = true));
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static connect(
    port: number,
    host = '127.0.0.1',
    extra: { localAddress?: string; allowHalfOpen?: boolean } = {},
  ): Promise<TcpClient> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const socket = net.connect({ port, host, noDelay: true, ...extra });
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(new TcpClient(socket));
        });
        socket.once('error', reject);
      }),
      'tcp connect',
    );
  }

  send(...texts: Array<string | Buffer>): void {
    this.socket.write(Buffer.concat(texts.map(frame)));
  }

  async waitReplies(n: number, ms = WAIT_MS): Promise<string[]> {
    await until(() => this.replies.length >= n, `${n} tcp replies (have ${this.replies.length})`, ms);
    return this.replies;
  }

  waitClosed(ms = WAIT_MS): Promise<void> {
    return withTimeout(this.closedPromise, 'tcp connection to close', ms);
  }
}

async function udpClient(host = '127.0.0.1'): Promise<{
  socket: dgram.Socket;
  query: (port: number, text: string | Buffer) => Promise<string>;
}> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  sockets.push(socket);
  await new Promise<void>((r) => socket.bind(0, host, () => r()));
  const inbox: string[] = [];
  socket.on('message', (m) => inbox.push(m.toString()));
  return {
    socket,
    async query(port, text) {
      socket.send(typeof text === 'string' ? Buffer.from(text) : text, port, host);
      await until(() => inbox.length > 0, 'udp reply');
      return inbox.shift()!;
    },
  };
}

function eventsOf(events: TransportEvent[], type: TransportEvent['type']): TransportEvent[] {
  return events.filter((e) => e.type === type);
}

describe.each(ENGINES)('UDP (%s)', (io) => {
  it('round trip with context', async () => {
    const { t, port, contexts } = await start({}, undefined, '127.0.0.1', io);
    expect(t.udpEngine).toBe(io);
    const client = await udpClient();
    expect(await client.query(port, 'hello')).toBe('R:hello');
    expect(contexts[0]).toEqual({
      transport: 'udp',
      remoteAddress: '127.0.0.1',
      remotePort: client.socket.address().port,
      localPort: port,
    });
  });

  it('async replies, and a throwing / rejecting handler or an oversize reply only loses that query', async () => {
    const { port, events } = await start({}, undefined, '127.0.0.1', io);
    const client = await udpClient();
    client.socket.send('throw', port, '127.0.0.1');
    client.socket.send('reject', port, '127.0.0.1');
    client.socket.send('big', port, '127.0.0.1');
    // Datagrams on loopback arrive in order, so the next reply proves the others were dropped.
    expect(await client.query(port, 'slow20:after')).toBe('R:slow20:after');
    expect(eventsOf(events, 'handler-error').map((e) => e.detail)).toEqual(['boom', 'nope']);
    expect(eventsOf(events, 'frame-dropped')).toHaveLength(1);
    expect(eventsOf(events, 'frame-dropped')[0]!.detail).toMatch(/70000/);
  });

  it('answers a burst from many clients, each reply to its own sender, sync and async mixed', async () => {
    const { port, events } = await start({}, undefined, '127.0.0.1', io);
    // 8 clients × 12 datagrams at once: more than one batch of 32, interleaved senders (and
    // few enough for the default socket receive buffer, or the kernel drops some).
    const clients = await Promise.all(Array.from({ length: 8 }, () => udpClient()));
    const inboxes = clients.map(() => [] as string[]);
    clients.forEach((c, i) => c.socket.on('message', (m) => inboxes[i]!.push(m.toString())));
    for (let n = 0; n < 12; n++) {
      clients.forEach((c, i) => c.socket.send(n % 5 === 0 ? `slow5:c${i}-${n}` : `c${i}-${n}`, port, '127.0.0.1'));
    }
    await until(() => inboxes.every((box) => box.length === 12), 'every reply');
    inboxes.forEach((box, i) => {
      const want = Array.from({ length: 12 }, (_, n) => (n % 5 === 0 ? `R:slow5:c${i}-${n}` : `R:c${i}-${n}`));
      expect([...box].sort()).toEqual(want.sort());
    });
    expect(events).toEqual([]);
  });

  it('drops an empty datagram and goes on', async () => {
    const { port, events } = await start({}, undefined, '127.0.0.1', io);
    const client = await udpClient();
    client.socket.send(Buffer.alloc(0), port, '127.0.0.1');
    expect(await client.query(port, 'next')).toBe('R:next');
    expect(eventsOf(events, 'frame-dropped').map((e) => e.detail)).toEqual(['empty udp datagram']);
  });

  it('close() from inside the handler, mid-batch, answers nothing more and does not crash', async () => {
    let transport: DnsTransport | undefined;
    const seen: string[] = [];
    const { t, port } = await start({}, (msg) => {
      const text = msg.toString();
      seen.push(text);
      if (text === 'close') void transport!.close(0);
      return reply(text);
    }, '127.0.0.1', io);
    transport = t;
    const client = await udpClient();
    const inbox: string[] = [];
    client.socket.on('message', (m) => inbox.push(m.toString()));
    for (const text of ['a', 'b', 'close', 'c', 'd']) client.socket.send(text, port, '127.0.0.1');
    await until(() => seen.includes('close'), 'the close query');
    await withTimeout(t.close(0), 'close()');
    await sleep(50);
    // Replies from before close() may or may not have gone out; none from after it.
    expect(inbox.filter((r) => r === 'R:c' || r === 'R:d' || r === 'R:close')).toEqual([]);
    // The port is free again.
    const probe = dgram.createSocket('udp4');
    sockets.push(probe);
    await withTimeout(new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(port, '127.0.0.1', () => resolve());
    }), 'udp probe bind');
  });

  it.skipIf(!HAVE_IPV6)('on a dual-stack :: listener, an IPv4 client appears as ::ffff:a.b.c.d and gets its reply', async () => {
    const { port, contexts } = await start({}, undefined, '::', io);
    const client = await udpClient();
    expect(await client.query(port, 'mapped')).toBe('R:mapped');
    expect(contexts[0]!.remoteAddress).toBe('::ffff:127.0.0.1');
    const v6 = await udpClient('::1');
    expect(await v6.query(port, 'v6')).toBe('R:v6');
    expect(contexts[1]!.remoteAddress).toBe('::1');
  });
});

describe('batched UDP engine', () => {
  it.runIf(process.platform === 'linux' && process.env.ETCDNS_REQUIRE_NATIVE === '1')('is built on this machine (the test script requires it)', () => {
    expect(ENGINES).toContain('batch');
  });

  it('explains why when the addon cannot be loaded', () => {
    const r = loadUdpBatchFrom('/nonexistent/udp_batch.node');
    expect('error' in r && r.error).toMatch(process.platform === 'linux' ? /npm run build/ : /Linux/);
  });

  it.runIf(ENGINES.includes('batch'))('with reusePort, two transports share one fixed port; without it the second is refused', async () => {
    const first = new DnsTransport({ handler: testHandler([]), logger: silentLogger(), options: DEFAULTS, udp: { io: 'batch', reusePort: true } });
    transports.push(first);
    const [bound] = await first.listen([{ host: '127.0.0.1', port: 0 }]);
    // TCP is shared by the cluster in real use; here only UDP can be shared, so probe UDP alone.
    const { BatchUdpEndpoint } = await import('./udp-batch.js');
    const addon = (resolveUdpIo('batch') as { addon: Parameters<typeof BatchUdpEndpoint.open>[0] }).addon;
    const host = { answer: () => null, udpError: () => {}, dropped: () => {} };
    // The first socket was opened without SO_REUSEPORT (reusePort with port 0 falls back to dgram), so both refuse.
    expect(() => BatchUdpEndpoint.open(addon, '127.0.0.1', bound!.port, true, host)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    const a = BatchUdpEndpoint.open(addon, '127.0.0.1', 0, true, host);
    const b = BatchUdpEndpoint.open(addon, '127.0.0.1', a.port, true, host);
    expect(b.port).toBe(a.port);
    expect(() => BatchUdpEndpoint.open(addon, '127.0.0.1', a.port, false, host)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    a.close();
    b.close();
  });
});

describe.each(ENGINES)('listen (%s)', (io) => {
  it('port 0 gives the same port to UDP and TCP', async () => {
    const t = new DnsTransport({ handler: testHandler([]), logger: silentLogger(), options: DEFAULTS, udp: { io, reusePort: false } });
    transports.push(t);
    const hosts = HAVE_IPV6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
    const bound = await t.listen(hosts.map((host) => ({ host, port: 0 })));
    expect(bound).toHaveLength(hosts.length * 2);
    for (const host of hosts) {
      const mine = bound.filter((b) => b.host === host);
      expect(mine.map((b) => b.transport).sort()).toEqual(['tcp', 'udp']);
      expect(mine[0]!.port).toBeGreaterThan(0);
      expect(mine[0]!.port).toBe(mine[1]!.port);
      expect(mine[0]!.family).toBe(host === '::1' ? 'IPv6' : 'IPv4');
      // Both really are bound on that port.
      const tcp = await TcpClient.connect(mine[0]!.port, host);
      tcp.send('x');
      expect(await tcp.waitReplies(1)).toEqual(['R:x']);
      expect(await (await udpClient(host)).query(mine[0]!.port, 'y')).toBe('R:y');
    }
  });

  it('rejects naming the transport and address when the port is in use, and releases what it bound', async () => {
    const blocker = net.createServer();
    sockets.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const t = new DnsTransport({ handler: testHandler([]), logger: silentLogger(), options: DEFAULTS, udp: { io, reusePort: false } });
    transports.push(t);
    const err = await t.listen([{ host: '127.0.0.1', port }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as Error).message).toContain(`tcp 127.0.0.1:${port}`);
    expect((err as ListenError).code).toBe('ETCDNS_ERR_LISTEN');
    expect((err as ListenError).osCode).toBe('EADDRINUSE');
    // UDP had been bound first on that port; it must have been closed again.
    const probe = dgram.createSocket('udp4');
    sockets.push(probe);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.bind(port, '127.0.0.1', () => resolve());
      }),
      'udp probe bind',
    );
    // And the UDP side of the check: the probe now holds the UDP port.
    const err2 = await t.listen([{ host: '127.0.0.1', port }]).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain(`udp 127.0.0.1:${port}`);
    expect((err2 as Error).message).toContain('EADDRINUSE');
  });
});

describe('TCP framing', () => {
  it('reassembles a frame sent byte by byte and splits frames sent together', async () => {
    const { port, calls, contexts } = await start();
    const c = await TcpClient.connect(port);
    for (const byte of frame('split-me')) {
      c.socket.write(Buffer.from([byte]));
      await sleep(2);
    }
    expect(await c.waitReplies(1)).toEqual(['R:split-me']);
    // Two frames in one write, then one and a half, then the rest.
    c.send('a', 'b');
    await c.waitReplies(3);
    const two = Buffer.concat([frame('c'), frame('dddd')]);
    c.socket.write(two.subarray(0, 5));
    await sleep(10);
    c.socket.write(two.subarray(5));
    // A frame bigger than one read, to exercise the copying path.
    const big = Buffer.alloc(60000, 0x61);
    c.send(big);
    const replies = await c.waitReplies(6);
    expect(replies.slice(0, 5)).toEqual(['R:split-me', 'R:a', 'R:b', 'R:c', 'R:dddd']);
    expect(replies[5]).toBe(`R:${big.toString()}`);
    expect(calls.slice(0, 5)).toEqual(['split-me', 'a', 'b', 'c', 'dddd']);
    expect(contexts[0]).toMatchObject({ transport: 'tcp', remoteAddress: '127.0.0.1', localPort: port });
    expect(contexts[0]!.remotePort).toBe(c.socket.localPort);
  });

  it('drops a length-0 frame without closing the connection', async () => {
    const { port, events, calls } = await start();
    const c = await TcpClient.connect(port);
    c.socket.write(Buffer.concat([Buffer.from([0, 0]), frame('ok')]));
    expect(await c.waitReplies(1)).toEqual(['R:ok']);
    // Also with the empty length prefix split across segments.
    c.socket.write(Buffer.from([0]));
    await sleep(10);
    c.socket.write(Buffer.concat([Buffer.from([0]), frame('ok2')]));
    expect(await c.waitReplies(2)).toEqual(['R:ok', 'R:ok2']);
    expect(calls).toEqual(['ok', 'ok2']);
    expect(eventsOf(events, 'frame-dropped')).toHaveLength(2);
    expect(c.closed).toBe(false);
  });

  it('answers pipelined queries as they complete, out of order', async () => {
    const { port } = await start();
    const c = await TcpClient.connect(port);
    c.send('slow150:first', 'second');
    expect(await c.waitReplies(2)).toEqual(['R:second', 'R:slow150:first']);
  });

  it('a throwing, rejecting or null-returning handler affects only its own frame', async () => {
    const { port, events } = await start();
    const c = await TcpClient.connect(port);
    c.send('throw', 'reject', 'null', 'big', 'ok1');
    expect(await c.waitReplies(1)).toEqual(['R:ok1']);
    await until(() => eventsOf(events, 'handler-error').length === 2, 'two handler errors');
    // 70000 bytes cannot be framed with a 2-byte length: dropped, not truncated.
    expect(eventsOf(events, 'frame-dropped').map((e) => e.detail)).toEqual(['tcp reply of 70000 bytes exceeds 65535']);
    c.send('ok2');
    expect(await c.waitReplies(2)).toEqual(['R:ok1', 'R:ok2']);
    expect(c.closed).toBe(false);
  });

  it('half-close: answers what is in flight after the client ends, then ends', async () => {
    const { port } = await start();
    const c = await TcpClient.connect(port, '127.0.0.1', { allowHalfOpen: true });
    c.send('slow100:h', 'now');
    c.socket.end();
    await c.waitClosed();
    expect(c.replies).toEqual(['R:now', 'R:slow100:h']);
    expect(c.ended).toBe(true);
  });
});

describe('TCP limits and timeouts', () => {
  it('closes an idle connection, but not while a query is in flight', async () => {
    const { port, events } = await start({ tcpIdleTimeoutMs: 200 });
    const c = await TcpClient.connect(port);
    c.send('slow400:x');
    expect(await c.waitReplies(1)).toEqual(['R:slow400:x']); // would be lost if closed at 200 ms
    await c.waitClosed();
    expect(eventsOf(events, 'tcp-timeout')).toEqual([{ type: 'tcp-timeout', detail: 'idle' }]);
    expect(c.ended).toBe(true); // graceful FIN, not a reset
  });

  it('closes a slow-loris connection whose partial frame outlives the idle timeout', async () => {
    const { port, events, calls } = await start({ tcpIdleTimeoutMs: 200 });
    const c = await TcpClient.connect(port);
    // A query that never completes keeps the connection out of the idle rule, so only the
    // partial-frame deadline can close it: bytes trickling in must not extend it.
    c.send('never');
    c.socket.write(Buffer.from([0, 100])); // announce 100 bytes, then trickle them
    const trickle = (async () => {
      for (let i = 0; i < 50 && !c.closed; i++) {
        c.socket.write(Buffer.from([0x61]));
        await sleep(40);
      }
    })();
    await c.waitClosed(1500); // the trickle alone would last 2 s
    await trickle;
    expect(eventsOf(events, 'tcp-timeout')).toEqual([{ type: 'tcp-timeout', detail: 'partial frame' }]);
    expect(calls).toEqual(['never']);
  });

  it('closes a connection that only ever sends part of a frame', async () => {
    const { port, events } = await start({ tcpIdleTimeoutMs: 200 });
    const c = await TcpClient.connect(port);
    c.socket.write(Buffer.from([0, 50, 1, 2, 3]));
    await c.waitClosed();
    expect(eventsOf(events, 'tcp-timeout')).toEqual([{ type: 'tcp-timeout', detail: 'partial frame' }]);
  });

  it('caps the total number of connections', async () => {
    const { t, port, events } = await start({ tcpMaxConnections: 2 });
    const a = await TcpClient.connect(port);
    const b = await TcpClient.connect(port);
    a.send('a');
    b.send('b');
    await a.waitReplies(1);
    await b.waitReplies(1);
    const rejected = await TcpClient.connect(port);
    rejected.send('c');
    await rejected.waitClosed();
    expect(rejected.replies).toEqual([]);
    expect(eventsOf(events, 'tcp-rejected')).toHaveLength(1);
    expect(eventsOf(events, 'tcp-rejected')[0]!.detail).toMatch(/^total connection limit/);
    a.socket.destroy();
    await until(() => t.tcpConnections === 1, 'slot to be freed');
    const d = await TcpClient.connect(port);
    d.send('d');
    expect(await d.waitReplies(1)).toEqual(['R:d']);
  });

  it('caps connections per client IP', async () => {
    const { port, events } = await start({ tcpMaxConnectionsPerClient: 1 });
    const a = await TcpClient.connect(port);
    a.send('a');
    await a.waitReplies(1);
    const b = await TcpClient.connect(port);
    await b.waitClosed();
    expect(eventsOf(events, 'tcp-rejected')[0]!.detail).toMatch(/^per-client connection limit \(127\.0\.0\.1\)/);
    if (HAVE_127_0_0_2) {
      // Another address is another client.
      const other = await TcpClient.connect(port, '127.0.0.1', { localAddress: '127.0.0.2' });
      other.send('o');
      expect(await other.waitReplies(1)).toEqual(['R:o']);
    }
    expect(eventsOf(events, 'tcp-rejected')).toHaveLength(1);
  });

  it('closes gracefully after the maximum number of queries', async () => {
    const { port, calls } = await start({ tcpMaxQueriesPerConnection: 2 });
    const c = await TcpClient.connect(port);
    c.send('slow30:1', '2', '3');
    await c.waitClosed();
    expect(c.replies).toEqual(['R:2', 'R:slow30:1']);
    expect(calls).toEqual(['slow30:1', '2']);
    expect(c.ended).toBe(true);
  });

  it('limits queries in flight per connection and still answers all of them', async () => {
    let running = 0;
    let peak = 0;
    const handler: QueryHandler = async (msg) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      return reply(msg.toString());
    };
    const { port } = await start({ tcpMaxInFlightPerConnection: 2 }, handler);
    const c = await TcpClient.connect(port);
    c.send('1', '2', '3', '4', '5');
    expect((await c.waitReplies(5)).sort()).toEqual(['R:1', 'R:2', 'R:3', 'R:4', 'R:5']);
    expect(peak).toBe(2);
  });

  it('stops reading queries while the client does not read its replies', async () => {
    const count = 300;
    let calls = 0;
    const big = Buffer.alloc(60000, 0x62);
    const { port } = await start({}, () => {
      calls++;
      return big;
    });
    const c = await TcpClient.connect(port);
    c.socket.pause();
    c.send(...Array.from({ length: count }, (_, i) => String(i)));
    await sleep(300);
    // Without backpressure all 300 (18 MB of replies) would have been answered by now.
    expect(calls).toBeLessThan(count);
    c.socket.resume();
    await c.waitReplies(count, 5000);
    expect(calls).toBe(count);
  });
});

describe('TCP multi-message replies (zone transfers)', () => {
  /** A ReplyStream of `count` 30 000-byte messages, counting how many were pulled. */
  function streaming(count: number) {
    const state = { pulled: 0, finished: false, returned: false };
    const handler: QueryHandler = (msg) => {
      if (msg.toString() !== 'xfr') return reply(msg.toString());
      async function* messages(): AsyncGenerator<Uint8Array, void> {
        try {
          for (let i = 0; i < count; i++) {
            state.pulled++;
            yield Buffer.alloc(30000, 0x61 + (i % 26));
          }
          state.finished = true;
        } finally {
          state.returned = true;
        }
      }
      return { messages: messages() };
    };
    return { handler, state };
  }

  it('sends every message in order, and answers pipelined queries besides', async () => {
    const { handler, state } = streaming(50);
    const { port } = await start({}, handler);
    const c = await TcpClient.connect(port);
    c.send('xfr', 'after');
    const replies = await c.waitReplies(51, 5000);
    const stream = replies.filter((r) => r.length === 30000);
    expect(stream.map((r) => r[0])).toEqual(Array.from({ length: 50 }, (_, i) => String.fromCharCode(0x61 + (i % 26))));
    expect(replies).toContain('R:after');
    expect(state.finished).toBe(true);
  });

  it('pulls messages only as the client reads, and drops a client that stops reading for the idle timeout', async () => {
    const { handler, state } = streaming(2000);
    const { port, events } = await start({ tcpIdleTimeoutMs: 600 }, handler);
    const c = await TcpClient.connect(port);
    c.socket.pause();
    c.send('xfr');
    await sleep(300);
    // 60 MB of messages without backpressure; with it, what the socket buffers hold.
    expect(state.pulled).toBeGreaterThan(0);
    expect(state.pulled).toBeLessThan(200);
    await until(() => events.some((e) => e.type === 'tcp-timeout'), 'the server to drop the stalled client', 3000);
    await until(() => state.returned, 'the stream to be closed');
    expect(state.finished).toBe(false);
    // A paused socket does not see the reset until it reads again.
    c.socket.resume();
    await until(() => c.closed, 'the client to see the connection end', 3000);
  });

  it('is a handler error over UDP: nothing is sent', async () => {
    const { handler } = streaming(3);
    const { port, events } = await start({}, handler);
    const u = dgram.createSocket('udp4');
    sockets.push(u);
    u.send('xfr', port, '127.0.0.1');
    await until(() => events.some((e) => e.type === 'handler-error'), 'a handler-error event');
  });
});

describe('close', () => {
  it('waits for an in-flight query, then closes everything', async () => {
    const { t, port, calls } = await start();
    const c = await TcpClient.connect(port);
    const idle = await TcpClient.connect(port);
    c.send('slow200:last');
    await until(() => calls.length === 1, 'query to reach the handler');
    const order: string[] = [];
    c.socket.on('data', () => order.push('reply'));
    await withTimeout(
      t.close(3000).then(() => order.push('closed')),
      'close()',
    );
    expect(order).toEqual(['reply', 'closed']);
    expect(c.replies).toEqual(['R:slow200:last']);
    await c.waitClosed();
    await idle.waitClosed();
    expect(t.tcpConnections).toBe(0);
    await expect(TcpClient.connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('destroys connections still busy when the grace period ends', async () => {
    const { t, port, calls } = await start();
    const c = await TcpClient.connect(port);
    c.send('never');
    await until(() => calls.length === 1, 'query to reach the handler');
    await withTimeout(t.close(100), 'close() after grace');
    await c.waitClosed();
    expect(c.replies).toEqual([]);
    expect(t.tcpConnections).toBe(0);
  });
});

describe.skipIf(!HAVE_IPV6).each(ENGINES)('IPv6 loopback (%s)', (io) => {
  it('UDP and TCP round trip on ::1', async () => {
    const { port, contexts } = await start({}, undefined, '::1', io);
    const udp = await udpClient('::1');
    expect(await udp.query(port, 'v6')).toBe('R:v6');
    const tcp = await TcpClient.connect(port, '::1');
    tcp.send('v6tcp');
    expect(await tcp.waitReplies(1)).toEqual(['R:v6tcp']);
    expect(contexts.map((c) => [c.transport, c.remoteAddress])).toEqual([
      ['udp', '::1'],
      ['tcp', '::1'],
    ]);
  });
});

describe('Reporter', () => {
  it('emits every event but logs each kind of warning at most once per second', () => {
    let now = 0;
    const clock = { now: () => now } as Clock;
    const lines: Array<{ kind: string; suppressed: number }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const events: TransportEvent[] = [];
    const r = new Reporter(logger, clock, (e) => events.push(e));
    for (let i = 0; i < 5; i++) r.handlerFailed(new Error(`e${i}`));
    r.warn('udp-error', undefined, 'other kind');
    now = 999;
    r.handlerFailed(new Error('still suppressed'));
    now = 1000;
    r.handlerFailed(new Error('logged again'));
    expect(events).toHaveLength(7);
    expect(lines.map((l) => [l.kind, l.suppressed])).toEqual([
      ['handler-error', 0],
      ['udp-error', 0],
      ['handler-error', 5],
    ]);
  });

  it('survives an onEvent callback that throws, and logs it as a warning', () => {
    const lines: Array<{ kind: string; msg: string; err: { message: string } }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const seen: TransportEvent[] = [];
    const r = new Reporter(logger, { now: () => 0 } as Clock, (e) => {
      seen.push(e);
      throw new Error('bad callback');
    });
    // Called from socket handlers: a throw escaping here would be an uncaught exception.
    expect(() => r.event('frame-dropped', 'frame of 0 octets')).not.toThrow();
    expect(seen).toEqual([{ type: 'frame-dropped', detail: 'frame of 0 octets' }]);
    expect(lines.map((l) => [l.kind, l.msg, l.err.message])).toEqual([['event-callback', 'transport onEvent callback threw', 'bad callback']]);
  });
});
