import dgram from 'node:dgram';
import net from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { Reporter, errorText } from './reporter.js';
import { TcpConnection, type ConnectionHost } from './tcp-connection.js';
import type { QueryContext, QueryHandler, TransportEvent, TransportOptions } from './types.js';
import { describeBindError, formatHostPort, type ListenAddress } from '../net.js';
import { EtcdnsError } from '../errors.js';
import { BatchUdpEndpoint, loadUdpBatch, type AnswerDatagram, type UdpBatchAddon } from './udp-batch.js';

export interface BoundAddress {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** listen() failure, naming the transport and address that could not be bound. */
export class ListenError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_LISTEN';
  constructor(
    readonly transport: 'udp' | 'tcp',
    readonly host: string,
    readonly port: number,
    /** The OS's error code (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...), when there is one. */
    readonly osCode: string | undefined,
    cause: unknown,
  ) {
    // The flag that sets the address, so that the operator knows what to change (a desktop's
    // mDNS responder or a second instance holding the port is the usual cause).
    super(`cannot listen on ${transport} ${formatHostPort(host, port)}: ${describeBindError(osCode, cause)}; set another address with --listen HOST:PORT`, { cause });
  }
}

/**
 * Largest UDP payload over IPv4 (65535 - 20 IP header - 8 UDP header). Anything larger can
 * never be sent; the handler is responsible for sizes (RFC 1035 §4.2.1 / EDNS), this guard
 * only keeps a bug from turning into an error per query.
 */
const MAX_UDP_PAYLOAD = 65507;

/** Port 0: how often to retry when the port UDP got is already taken for TCP. */
const PORT_ZERO_ATTEMPTS = 8;

const DEFAULT_GRACE_MS = 5000;

/** A bound UDP socket of either engine. */
interface UdpListener {
  readonly engine: 'batch' | 'dgram';
  readonly port: number;
  close(): Promise<void>;
}

interface BoundPair {
  host: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  udp: UdpListener;
  tcp: net.Server;
}

/**
 * How UDP is read and written. 'batch': the native addon (recvmmsg/sendmmsg, udp-batch.ts);
 * 'dgram': Node's dgram; 'auto': batch when the addon is built, else dgram.
 */
export type UdpIo = 'auto' | 'batch' | 'dgram';

export interface UdpOptions {
  io: UdpIo;
  /**
   * Set SO_REUSEPORT on batch sockets, so that every process of a --workers group binds the
   * same port and the kernel spreads clients over them. Needs a fixed port: with port 0 each
   * process would get a port of its own, so dgram (whose cluster-shared socket has one) is
   * used then.
   */
  reusePort: boolean;
}

/** The engine `io` resolves to on this machine, or why 'batch' cannot be had. */
export function resolveUdpIo(io: UdpIo): { engine: 'batch'; addon: UdpBatchAddon } | { engine: 'dgram'; why?: string } {
  if (io === 'dgram') return { engine: 'dgram' };
  const loaded = loadUdpBatch();
  if ('addon' in loaded) return { engine: 'batch', addon: loaded.addon };
  return { engine: 'dgram', why: loaded.error };
}

/**
 * DNS over UDP (Node's dgram, or the batched native engine of udp-batch.ts) and TCP (net).
 * Knows about framing only: every message goes to the handler, every non-null reply goes back
 * to the sender.
 */
export class DnsTransport {
  private readonly handler: QueryHandler;
  private readonly options: TransportOptions;
  private readonly clock: Clock;
  private readonly reporter: Reporter;
  private readonly host: ConnectionHost;

  private readonly udpAddon: UdpBatchAddon | null;
  private readonly reusePort: boolean;
  private readonly pairs: BoundPair[] = [];
  private readonly connections = new Set<TcpConnection>();
  private readonly perClient = new Map<string, number>();
  private closePromise: Promise<void> | null = null;
  private allClosed: (() => void) | null = null;

  constructor(init: {
    handler: QueryHandler;
    logger: Logger;
    options: TransportOptions;
    /** Default: dgram. */
    udp?: UdpOptions;
    clock?: Clock;
    onEvent?: (e: TransportEvent) => void;
  }) {
    validateOptions(init.options);
    const io = resolveUdpIo(init.udp?.io ?? 'dgram');
    if (init.udp?.io === 'batch' && io.engine !== 'batch') throw new Error(`batched UDP is not available: ${io.why}`);
    this.udpAddon = io.engine === 'batch' ? io.addon : null;
    this.reusePort = init.udp?.reusePort ?? false;
    this.handler = init.handler;
    this.options = { ...init.options };
    this.clock = init.clock ?? systemClock;
    this.reporter = new Reporter(init.logger.child({ component: 'transport' }), this.clock, init.onEvent);
    this.host = {
      handler: this.handler,
      options: this.options,
      clock: this.clock,
      reporter: this.reporter,
      connectionClosed: (c) => this.connectionClosed(c),
    };
  }

  /** Which UDP engine the sockets use (before listen(): the one they will use on a fixed port). */
  get udpEngine(): 'batch' | 'dgram' {
    return this.pairs[0]?.udp.engine ?? (this.udpAddon === null ? 'dgram' : 'batch');
  }

  /** Open TCP connections right now. */
  get tcpConnections(): number {
    return this.connections.size;
  }

  /**
   * Binds UDP and TCP on every address. All or nothing: on failure whatever this call had
   * already bound is closed again and the promise rejects with a ListenError.
   */
  async listen(addresses: readonly ListenAddress[]): Promise<BoundAddress[]> {
    if (this.closePromise !== null) throw new Error('DnsTransport: listen() after close()');
    const opened: BoundPair[] = [];
    try {
      for (const address of addresses) {
        opened.push(await this.bindPair(address));
        if (this.closePromise !== null) throw new Error('DnsTransport: closed while listening');
      }
    } catch (err) {
      await Promise.all(opened.map((p) => this.closePair(p)));
      throw err;
    }
    this.pairs.push(...opened);
    const bound: BoundAddress[] = [];
    for (const p of opened) {
      bound.push({ transport: 'udp', host: p.host, port: p.port, family: p.family });
      bound.push({ transport: 'tcp', host: p.host, port: p.port, family: p.family });
    }
    this.reporter.log.info({ addresses: opened.map((p) => formatHostPort(p.host, p.port)) }, 'listening (udp+tcp)');
    return bound;
  }

  /**
   * Stops accepting, lets in-flight TCP queries be answered for up to graceMs, then destroys
   * what is left. Resolves when every socket is closed. Idempotent.
   */
  close(graceMs: number = DEFAULT_GRACE_MS): Promise<void> {
    this.closePromise ??= this.shutdown(graceMs);
    return this.closePromise;
  }

  private async shutdown(graceMs: number): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const p of this.pairs) {
      waits.push(p.udp.close());
      // Resolves once the server's last connection is gone, too.
      waits.push(closeServer(p.tcp));
    }
    this.pairs.length = 0;
    for (const c of [...this.connections]) c.shutdown();
    if (this.connections.size > 0) waits.push(new Promise<void>((resolve) => (this.allClosed = resolve)));
    const timer = this.clock.setTimeout(() => {
      for (const c of [...this.connections]) c.destroy();
    }, graceMs);
    try {
      await Promise.all(waits);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  // ---- binding ------------------------------------------------------------------------

  private async bindPair(address: ListenAddress): Promise<BoundPair> {
    const { host, port } = address;
    const ipVersion = net.isIP(host);
    // Configuration errors, not bind errors: no transport was tried.
    if (ipVersion === 0) throw new RangeError(`invalid listen address ${host}: not an IP address`);
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new RangeError(`invalid listen port ${port} for ${host}: must be an integer 0-65535`);
    }
    const family = ipVersion === 6 ? 'IPv6' : 'IPv4';
    if (port !== 0) {
      const udp = await this.bindUdp(host, port, family);
      try {
        return { host, port, family, udp, tcp: await this.bindTcp(host, port) };
      } catch (err) {
        await udp.close();
        throw err;
      }
    }
    // Port 0: the OS picks for UDP; TCP must then get the same number, which another
    // program may hold for TCP only. Try again with a fresh UDP port in that case.
    for (let attempt = 1; ; attempt++) {
      const udp = await this.bindUdp(host, 0, family);
      const picked = udp.port;
      try {
        return { host, port: picked, family, udp, tcp: await this.bindTcp(host, picked) };
      } catch (err) {
        await udp.close();
        if (!(err instanceof ListenError) || err.osCode !== 'EADDRINUSE' || attempt >= PORT_ZERO_ATTEMPTS) throw err;
      }
    }
  }

  private async bindUdp(host: string, port: number, family: 'IPv4' | 'IPv6'): Promise<UdpListener> {
    // SO_REUSEPORT across workers needs the port known up front (see UdpOptions.reusePort).
    if (this.udpAddon !== null && !(this.reusePort && port === 0)) return this.bindBatch(this.udpAddon, host, port);
    const socket = await this.bindDgram(host, port, family);
    return { engine: 'dgram', port: socket.address().port, close: () => closeUdp(socket) };
  }

  private bindBatch(addon: UdpBatchAddon, host: string, port: number): UdpListener {
    let endpoint: BatchUdpEndpoint;
    try {
      endpoint = BatchUdpEndpoint.open(addon, host, port, this.reusePort, {
        answer: this.answerDatagram,
        udpError: (err) => this.udpError(err),
        dropped: (detail) => this.reporter.event('frame-dropped', detail),
      });
    } catch (err) {
      throw new ListenError('udp', host, port, (err as NodeJS.ErrnoException).code, err);
    }
    return { engine: 'batch', port: endpoint.port, close: async () => endpoint.close() };
  }

  private bindDgram(host: string, port: number, family: 'IPv4' | 'IPv6'): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      // udp6 on '::' is dual-stack by default (ipv6Only false), which is what we want.
      const socket = dgram.createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4' });
      const onBindError = (err: NodeJS.ErrnoException): void => {
        try {
          socket.close();
        } catch {
          // never bound: nothing to close
        }
        reject(new ListenError('udp', host, port, err.code, err));
      };
      socket.once('error', onBindError);
      socket.bind({ port, address: host }, () => {
        socket.off('error', onBindError);
        const localPort = socket.address().port;
        socket.on('error', (err) => this.udpError(err));
        const later = (reply: Uint8Array, context: QueryContext): void => this.sendDgram(socket, reply, context);
        socket.on('message', (msg, rinfo) => this.onDatagram(socket, localPort, msg, rinfo, later));
        resolve(socket);
      });
    });
  }

  private bindTcp(host: string, port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({
        // We decide when our side ends: after a client's FIN, in-flight queries still get
        // their answers (RFC 1035 §4.2.2).
        allowHalfOpen: true,
        // Replies are single writes and must go out at once, not wait for the ACK of the
        // previous one (Nagle), or pipelined replies stall.
        noDelay: true,
      });
      const onListenError = (err: NodeJS.ErrnoException): void => {
        server.close();
        reject(new ListenError('tcp', host, port, err.code, err));
      };
      server.once('error', onListenError);
      server.listen({ host, port }, () => {
        server.off('error', onListenError);
        const localPort = (server.address() as net.AddressInfo).port;
        // After listening, errors are accept() failures such as EMFILE: worth a warning,
        // never fatal.
        server.on('error', (err) => {
          this.reporter.event('tcp-error', errorText(err));
          this.reporter.warn('tcp-error', err, 'tcp server error');
        });
        server.on('connection', (socket) => this.onConnection(server, localPort, socket));
        resolve(server);
      });
    });
  }

  private async closePair(p: BoundPair): Promise<void> {
    for (const c of [...this.connections]) if (c.server === p.tcp) c.destroy();
    await Promise.all([p.udp.close(), closeServer(p.tcp)]);
  }

  // ---- UDP ----------------------------------------------------------------------------

  private onDatagram(socket: dgram.Socket, localPort: number, msg: Buffer, rinfo: dgram.RemoteInfo, later: Parameters<AnswerDatagram>[2]): void {
    const context = { transport: 'udp', remoteAddress: rinfo.address, remotePort: rinfo.port, localPort } as const;
    const reply = this.answerDatagram(msg, context, later);
    if (reply !== null) this.sendDgram(socket, reply, context);
  }

  /**
   * One datagram through the handler, for both UDP engines: the reply to send now, or null
   * (no reply, or one that `later` gets when the handler's promise settles).
   */
  private readonly answerDatagram: AnswerDatagram = (msg, context, later) => {
    if (msg.length === 0) {
      this.reporter.event('frame-dropped', 'empty udp datagram');
      return null;
    }
    let result: ReturnType<QueryHandler>;
    try {
      result = this.handler(msg, context);
    } catch (err) {
      this.reporter.handlerFailed(err);
      return null;
    }
    if (result === null || result === undefined) return null;
    if (result instanceof Uint8Array) return this.sendable(result);
    if (!(result instanceof Promise)) {
      // A multi-message reply (ReplyStream) is for TCP only.
      this.reporter.handlerFailed(new TypeError('handler returned neither a Buffer, null nor a Promise'));
      return null;
    }
    // The batched engine reuses the context for its next datagram: this reply keeps a copy.
    const to: QueryContext = { transport: context.transport, remoteAddress: context.remoteAddress, remotePort: context.remotePort, localPort: context.localPort };
    result.then(
      (reply) => {
        if (reply === null || reply === undefined) return;
        if (!(reply instanceof Uint8Array)) {
          this.reporter.handlerFailed(new TypeError('handler resolved to neither a Buffer nor null'));
          return;
        }
        const sendable = this.sendable(reply);
        if (sendable !== null) later(sendable, to);
      },
      (err: unknown) => this.reporter.handlerFailed(err),
    );
    return null;
  };

  /** The reply if it can go out as a datagram now. */
  private sendable(reply: Uint8Array): Uint8Array | null {
    // After close() began the socket may already be gone; the answer is moot then.
    if (this.closePromise !== null || reply.length === 0) return null;
    if (reply.length > MAX_UDP_PAYLOAD) {
      this.reporter.event('frame-dropped', `udp reply of ${reply.length} bytes exceeds ${MAX_UDP_PAYLOAD}`);
      this.reporter.warn('oversize-reply', undefined, `dropped a ${reply.length}-byte UDP reply: too large for a datagram`);
      return null;
    }
    return reply;
  }

  private sendDgram(socket: dgram.Socket, reply: Uint8Array, to: QueryContext): void {
    try {
      // With a callback, send errors (EMSGSIZE, ENETUNREACH, ...) come back here instead of
      // as an 'error' event; one shared callback, no closure per reply.
      socket.send(reply, to.remotePort, to.remoteAddress, this.onUdpSent);
    } catch (err) {
      this.udpError(err);
    }
  }

  private readonly onUdpSent = (err: Error | null): void => {
    if (err) this.udpError(err);
  };

  private udpError(err: unknown): void {
    this.reporter.event('udp-error', errorText(err));
    this.reporter.warn('udp-error', err, 'udp error');
  }

  // ---- TCP ----------------------------------------------------------------------------

  private onConnection(server: net.Server, localPort: number, socket: net.Socket): void {
    const remoteAddress = socket.remoteAddress;
    const remotePort = socket.remotePort;
    // A socket reset before we saw it has no address; nothing to serve.
    if (this.closePromise !== null || remoteAddress === undefined || remotePort === undefined) {
      socket.on('error', ignore);
      socket.destroy();
      return;
    }
    const key = clientKey(remoteAddress);
    const fromClient = this.perClient.get(key) ?? 0;
    const reason =
      this.connections.size >= this.options.tcpMaxConnections
        ? 'total connection limit'
        : fromClient >= this.options.tcpMaxConnectionsPerClient
          ? 'per-client connection limit'
          : null;
    if (reason !== null) {
      // Refuse before reading anything: connection slots are what a TCP flood goes after
      // (RFC 7766 §10 / §6.2.2 on limiting resources per client).
      socket.on('error', ignore);
      socket.destroy();
      this.reporter.event('tcp-rejected', `${reason} (${remoteAddress})`);
      this.reporter.warn('tcp-rejected', undefined, `tcp connection from ${remoteAddress} rejected: ${reason}`);
      return;
    }
    this.perClient.set(key, fromClient + 1);
    const context = { transport: 'tcp', remoteAddress, remotePort, localPort } as const;
    this.connections.add(new TcpConnection(socket, this.host, context, key, server));
  }

  private connectionClosed(c: TcpConnection): void {
    if (!this.connections.delete(c)) return;
    const n = (this.perClient.get(c.clientKey) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(c.clientKey);
    else this.perClient.set(c.clientKey, n);
    if (this.connections.size === 0 && this.allClosed !== null) {
      const done = this.allClosed;
      this.allClosed = null;
      done();
    }
  }
}

function ignore(): void {}

/**
 * Per-client accounting key. On a dual-stack '::' listener an IPv4 client appears as
 * '::ffff:a.b.c.d'; count it the same as on a '0.0.0.0' listener.
 */
function clientKey(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function closeServer(server: net.Server): Promise<void> {
  // The callback gets ERR_SERVER_NOT_RUNNING if it was never listening: closed either way.
  return new Promise((resolve) => server.close(() => resolve()));
}



function validateOptions(o: TransportOptions): void {
  const positive = (name: keyof TransportOptions): void => {
    const v = o[name];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`transport option ${name} must be a positive integer, got ${v}`);
  };
  positive('tcpIdleTimeoutMs');
  positive('tcpMaxConnections');
  positive('tcpMaxConnectionsPerClient');
  positive('tcpMaxInFlightPerConnection');
  const q = o.tcpMaxQueriesPerConnection;
  if (!Number.isInteger(q) || q < 0) {
    throw new RangeError(`transport option tcpMaxQueriesPerConnection must be an integer >= 0, got ${q}`);
  }
}
