import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import type { Clock, Timer } from '../clock.js';
import { canonicalIPv6 } from '../dns/ip.js';
import type { Logger } from '../log.js';
import { buildUpstreamQuery, inspectUpstreamReply, type ExpectedReply, type UpstreamQuestion, type UpstreamReply } from '../wire/relay.js';
import { upstreamLabel, type Upstream } from './types.js';

export type ExchangeResult =
  | { readonly ok: true; readonly bytes: Buffer; readonly info: UpstreamReply; readonly transport: 'udp' | 'tcp' }
  | { readonly ok: false; readonly reason: string };

export interface UpstreamClientOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Our UDP payload size in the upstream query's OPT. */
  readonly udpSize: number;
}

/** Largest TCP message (RFC 1035 §4.2.2: 16-bit length prefix). */
const MAX_TCP_MESSAGE = 0xffff;

/**
 * Sends one question to one upstream: UDP first, TCP when the UDP reply is truncated.
 *
 * Spoofing resistance follows RFC 5452: every query goes out from a fresh socket, so the
 * kernel picks a random source port (§9.2), with a fresh random ID from the CSPRNG (§4.3);
 * the socket is connected to the upstream, so the kernel drops datagrams from anyone else and
 * an ICMP port-unreachable fails the try at once instead of at the timeout; a datagram that
 * still fails the checks (other source, wrong ID, wrong question: §9.1) is discarded and the
 * client keeps waiting, so a forged reply cannot end the wait early either.
 */
export class UpstreamClient {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #udpSize: number;
  /** Cancels every exchange in flight, for close(). */
  readonly #inflight = new Set<() => void>();
  #closed = false;

  constructor(options: UpstreamClientOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#udpSize = options.udpSize;
  }

  /**
   * One try: UDP with `timeoutMs`, then, if the reply had TC, TCP with its own `timeoutMs`
   * (RFC 7766 §5: a truncated UDP reply means retry over TCP). Never rejects.
   */
  async exchange(upstream: Upstream, question: UpstreamQuestion, timeoutMs: number): Promise<ExchangeResult> {
    if (this.#closed) return { ok: false, reason: 'closed' };
    const udp = await this.#udp(upstream, question, timeoutMs);
    if (!udp.ok || !udp.info.truncated) return udp;
    const tcp = await this.#tcp(upstream, question, timeoutMs);
    if (tcp.ok && tcp.info.truncated) return { ok: false, reason: 'truncated over TCP' };
    return tcp;
  }

  /** Ends every exchange in flight (they resolve with reason 'closed') and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const cancel of [...this.#inflight]) cancel();
  }

  #udp(upstream: Upstream, question: UpstreamQuestion, timeoutMs: number): Promise<ExchangeResult> {
    const expect = expectation(question);
    const message = buildUpstreamQuery(question, expect.id, this.#udpSize);
    const v6 = isIPv6(upstream.host);
    const socket = createSocket(v6 ? 'udp6' : 'udp4');
    return this.#run(timeoutMs, (finish) => {
      socket.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: e.code ?? e.message }));
      socket.on('message', (reply: Buffer, from: RemoteInfo) => {
        if (!sameEndpoint(from, upstream)) {
          this.#logger.debug({ upstream: upstreamLabel(upstream), from: `${from.address}:${from.port}` }, 'forward: reply from another address discarded');
          return;
        }
        const info = inspectUpstreamReply(reply, expect);
        if ('error' in info) {
          this.#logger.debug({ upstream: upstreamLabel(upstream), reason: info.error }, 'forward: reply discarded');
          return;
        }
        finish({ ok: true, bytes: reply, info, transport: 'udp' });
      });
      socket.connect(upstream.port, upstream.host, () => {
        try {
          socket.send(message, (e) => {
            if (e) finish({ ok: false, reason: (e as NodeJS.ErrnoException).code ?? e.message });
          });
        } catch (e) {
          // Closed in the meantime (timeout, close()).
          finish({ ok: false, reason: (e as Error).message });
        }
      });
      return () => {
        try {
          socket.close();
        } catch {
          // already closed
        }
      };
    });
  }

  /** RFC 7766 §8 / RFC 1035 §4.2.2: each message is preceded by its 16-bit length. */
  #tcp(upstream: Upstream, question: UpstreamQuestion, timeoutMs: number): Promise<ExchangeResult> {
    const expect = expectation(question);
    const message = buildUpstreamQuery(question, expect.id, this.#udpSize);
    const framed = Buffer.allocUnsafe(2 + message.length);
    framed.writeUInt16BE(message.length, 0);
    message.copy(framed, 2);
    const socket = connect({ host: upstream.host, port: upstream.port });
    socket.setNoDelay(true);
    return this.#run(timeoutMs, (finish) => {
      let pending: Buffer = Buffer.alloc(0);
      socket.on('connect', () => socket.write(framed));
      socket.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: e.code ?? e.message }));
      socket.on('close', () => finish({ ok: false, reason: 'connection closed before a reply' }));
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 2) {
          const length = pending.readUInt16BE(0);
          if (pending.length < 2 + length) break;
          const reply = Buffer.from(pending.subarray(2, 2 + length));
          pending = pending.subarray(2 + length);
          const info = inspectUpstreamReply(reply, expect);
          if ('error' in info) {
            this.#logger.debug({ upstream: upstreamLabel(upstream), reason: info.error }, 'forward: TCP reply discarded');
            continue;
          }
          finish({ ok: true, bytes: reply, info, transport: 'tcp' });
          return;
        }
        if (pending.length > 2 + MAX_TCP_MESSAGE) finish({ ok: false, reason: 'TCP framing error' });
      });
      return () => socket.destroy();
    });
  }

  /** Runs one exchange with a timeout; `start` wires the socket and returns its cleanup. */
  #run(timeoutMs: number, start: (finish: (r: ExchangeResult) => void) => () => void): Promise<ExchangeResult> {
    return new Promise<ExchangeResult>((resolve) => {
      let done = false;
      let timer: Timer;
      let cleanup: (() => void) | undefined;
      const finish = (r: ExchangeResult): void => {
        if (done) return;
        done = true;
        this.#clock.clearTimeout(timer);
        this.#inflight.delete(cancel);
        cleanup?.();
        resolve(r);
      };
      const cancel = (): void => finish({ ok: false, reason: 'closed' });
      this.#inflight.add(cancel);
      timer = this.#clock.setTimeout(() => finish({ ok: false, reason: 'timeout' }), timeoutMs);
      cleanup = start(finish);
      if (done) cleanup();
    });
  }
}

/** A fresh random ID per query (RFC 5452 §4.3, §9.2). */
function expectation(question: UpstreamQuestion): ExpectedReply {
  return { id: randomInt(0, 0x10000), name: question.name, type: question.type, class: question.class };
}

/**
 * RFC 5452 §9.1: the reply must come from the address and port the query went to. The
 * connected socket already has the kernel drop anything else; this is the belt to its braces.
 */
export function sameEndpoint(from: Pick<RemoteInfo, 'address' | 'port'>, upstream: Upstream): boolean {
  if (from.port !== upstream.port) return false;
  if (from.address === upstream.host) return true;
  // IPv6 text has many spellings; compare canonical forms.
  if (isIPv6(upstream.host) && isIPv6(from.address)) return canonicalIPv6(from.address) === canonicalIPv6(upstream.host);
  return false;
}
