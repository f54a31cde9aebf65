import type { Socket } from 'node:net';
import type { Clock, Timer } from '../clock.js';
import type { Reporter } from './reporter.js';
import { isReplyStream, type QueryContext, type QueryHandler, type ReplyStream, type TransportOptions } from './types.js';

/**
 * Above this many bytes queued for the client we stop reading its queries until 'drain':
 * a client that pipelines queries but never reads the replies must not make us buffer
 * without bound.
 */
const WRITE_HIGH_WATER = 256 * 1024;

/** The 2-byte length prefix (RFC 1035 §4.2.2) cannot describe more. */
const MAX_TCP_MESSAGE = 0xffff;

/** A multi-message reply lets other work run after this many messages written without backpressure. */
const YIELD_EVERY_MESSAGES = 4;

/** What a connection needs from the transport that owns it. */
export interface ConnectionHost {
  readonly handler: QueryHandler;
  readonly options: TransportOptions;
  readonly clock: Clock;
  readonly reporter: Reporter;
  connectionClosed(connection: TcpConnection): void;
}

type State =
  /** Reading and answering. */
  | 'open'
  /** We sent FIN and are discarding input until the peer closes or the linger timer fires. */
  | 'ending'
  /** The socket emitted 'close'. */
  | 'closed';

/**
 * One DNS-over-TCP connection (RFC 7766): length-prefixed framing, pipelined queries answered
 * as each completes, per-connection limits, idle and slow-loris timeouts, half-close.
 */
export class TcpConnection {
  private state: State = 'open';

  // Framing: a frame is either being read header-first (headerHi holds the first length
  // byte when the two arrived in different segments) or body-first into `frame`.
  private headerHi = -1;
  private frame: Buffer | null = null;
  private frameFilled = 0;
  /** clock.now() when the first byte of the current incomplete frame arrived, or -1. */
  private partialSince = -1;
  /** Received bytes not yet parsed because we may not start another query yet. */
  private stash: Buffer | null = null;
  private feeding = false;

  private inFlight = 0;
  private queries = 0;
  private writeBlocked = false;
  private peerEnded = false;
  private shuttingDown = false;
  private paused = false;
  /** clock.now() when the connection last became idle (nothing in flight). */
  private idleSince: number;
  private timer: Timer;

  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
    private readonly context: QueryContext,
    /** The key this connection is counted under for the per-client cap. */
    readonly clientKey: string,
    /** The listening server that accepted it. */
    readonly server: object,
  ) {
    this.idleSince = host.clock.now();
    this.timer = host.clock.setTimeout(this.onTimer, host.options.tcpIdleTimeoutMs);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Server shutdown: take no new queries, answer the ones in flight, then end. */
  shutdown(): void {
    if (this.state !== 'open') return;
    this.shuttingDown = true;
    this.discardInput();
    this.flow();
  }

  /** Abort at once (grace period over, or a timeout). */
  destroy(): void {
    if (this.state !== 'closed') this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    // 'ending': the lingering close reads and throws away whatever still arrives.
    if (this.state !== 'open' || this.shuttingDown) return;
    if (this.stash !== null) {
      // Can only happen if a chunk was already on its way when we paused; keep the order.
      this.stash = Buffer.concat([this.stash, chunk]);
      this.pause();
      return;
    }
    this.feed(chunk);
    this.flow();
  };

  /**
   * Parses as many frames out of `chunk` as we may start now. Stops at a frame boundary when
   * blocked (in-flight cap, write backpressure) and stashes the rest; drops the rest once the
   * per-connection query limit is reached.
   */
  private feed(chunk: Buffer): void {
    const end = chunk.length;
    let off = 0;
    this.feeding = true;
    try {
      while (off < end && this.state === 'open') {
        if (this.frame === null) {
          if (this.headerHi < 0) {
            // At a frame boundary: may we start another query?
            if (this.shuttingDown || this.limitReached()) return;
            if (this.blocked()) {
              this.stash = off === 0 ? chunk : chunk.subarray(off);
              return;
            }
            if (end - off < 2) {
              this.headerHi = chunk[off]!;
              off += 1;
              this.partialStarted();
              continue;
            }
            const len = chunk.readUInt16BE(off);
            off += 2;
            if (len === 0) {
              this.emptyFrame();
              continue;
            }
            if (end - off >= len) {
              // Fast path, the common case: the whole frame is in this segment; no copy.
              this.dispatch(chunk.subarray(off, off + len));
              off += len;
              continue;
            }
            this.frame = Buffer.allocUnsafe(len);
            this.frameFilled = 0;
            this.partialStarted();
            continue;
          }
          // The length prefix itself was split across segments.
          const len = (this.headerHi << 8) | chunk[off]!;
          off += 1;
          this.headerHi = -1;
          if (len === 0) {
            this.partialSince = -1;
            this.emptyFrame();
            continue;
          }
          this.frame = Buffer.allocUnsafe(len);
          this.frameFilled = 0;
          continue;
        }
        const frame = this.frame;
        const n = Math.min(end - off, frame.length - this.frameFilled);
        chunk.copy(frame, this.frameFilled, off, off + n);
        this.frameFilled += n;
        off += n;
        if (this.frameFilled === frame.length) {
          this.frame = null;
          this.partialSince = -1;
          this.dispatch(frame);
        }
      }
    } finally {
      this.feeding = false;
    }
  }

  private partialStarted(): void {
    if (this.partialSince < 0) this.partialSince = this.host.clock.now();
  }

  private emptyFrame(): void {
    // A zero-length message cannot be a DNS message; RFC 7766 gives no reason to punish
    // the whole connection for it (unlike dns2, which tears the connection down).
    this.host.reporter.event('frame-dropped', 'empty tcp frame');
  }

  private dispatch(message: Buffer): void {
    this.inFlight++;
    this.queries++;
    let result: ReturnType<QueryHandler>;
    try {
      result = this.host.handler(message, this.context);
    } catch (err) {
      this.host.reporter.handlerFailed(err);
      this.complete(null);
      return;
    }
    if (result === null || result === undefined || result instanceof Uint8Array) {
      this.complete(result ?? null);
    } else if (isReplyStream(result)) {
      this.stream(result).then(
        () => this.complete(null),
        (err: unknown) => {
          this.host.reporter.handlerFailed(err);
          // Part of a transfer was sent: the client cannot tell where it stopped, so it must
          // see the connection end rather than wait for the rest (RFC 5936 §2.2).
          this.socket.destroy();
          this.complete(null);
        },
      );
    } else if (typeof (result as Partial<Promise<unknown>>).then === 'function') {
      // Replies go out as each query completes, so they may overtake each other; RFC 7766
      // §6.2.1.1 allows that (clients match on message ID), and it keeps one slow lookup
      // from stalling the queries pipelined behind it.
      result.then(this.onReply, this.onRejected);
    } else {
      this.host.reporter.handlerFailed(new TypeError('handler returned neither a Buffer, null nor a Promise'));
      this.complete(null);
    }
  }

  /**
   * Sends the messages of a multi-message reply in order, pulling each only when the write
   * buffer is below its high-water mark, and giving the event loop a turn every few messages
   * so that the connection's other queries, and every other client, are served meanwhile. A
   * client that stops reading for longer than the idle timeout loses the connection: a stalled
   * transfer must not hold its zone version (and a connection slot) for ever.
   */
  private async stream(reply: ReplyStream): Promise<void> {
    const messages = reply.messages;
    // The messages between two turns of the event loop go out in one writev (cork): a zone
    // transfer is hundreds of 16 KiB messages, and a system call each was a fifth of its CPU.
    const socket = this.socket;
    const uncork = () => {
      while (socket.writableCorked > 0) socket.uncork();
    };
    try {
      for (let sent = 0; ; sent++) {
        if (this.state !== 'open') return;
        if (this.socket.writableLength > WRITE_HIGH_WATER) {
          uncork();
          if (!(await this.drained())) {
            this.host.reporter.event('tcp-timeout', 'client stopped reading a multi-message reply');
            this.socket.destroy();
            return;
          }
          if (this.state !== 'open') return;
        } else if (sent % YIELD_EVERY_MESSAGES === YIELD_EVERY_MESSAGES - 1) {
          uncork();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const next = await messages.next();
        if (next.done) return;
        if (this.state === 'open') {
          if (socket.writableCorked === 0) socket.cork();
          this.write(next.value);
        }
      }
    } finally {
      uncork();
      // An early end (closed connection) lets the producer release what it holds.
      await messages.return?.();
    }
  }

  /** Resolves true on 'drain', false when the client has not read for the idle timeout or the socket closed. */
  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.host.clock.clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = this.host.clock.setTimeout(() => done(false), this.host.options.tcpIdleTimeoutMs);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  private readonly onReply = (reply: Buffer | null): void => {
    if (reply !== null && reply !== undefined && !(reply instanceof Uint8Array)) {
      this.host.reporter.handlerFailed(new TypeError('handler resolved to neither a Buffer nor null'));
      this.complete(null);
      return;
    }
    this.complete(reply ?? null);
  };

  private readonly onRejected = (err: unknown): void => {
    this.host.reporter.handlerFailed(err);
    this.complete(null);
  };

  private complete(reply: Uint8Array | null): void {
    this.inFlight--;
    if (this.inFlight === 0) this.idleSince = this.host.clock.now();
    if (reply !== null && this.state === 'open') this.write(reply);
    if (!this.feeding) this.flow();
  }

  private write(reply: Uint8Array): void {
    const len = reply.length;
    if (len === 0) return;
    if (len > MAX_TCP_MESSAGE) {
      this.host.reporter.event('frame-dropped', `tcp reply of ${len} bytes exceeds ${MAX_TCP_MESSAGE}`);
      this.host.reporter.warn('oversize-reply', undefined, `dropped a ${len}-byte TCP reply: too large to frame`);
      return;
    }
    // Prefix and message in ONE write: with several queries in flight, replies completing
    // in between can then never land between a length prefix and its message.
    const out = Buffer.allocUnsafe(len + 2);
    out.writeUInt16BE(len, 0);
    out.set(reply, 2);
    this.socket.write(out);
    if (this.socket.writableLength > WRITE_HIGH_WATER) this.writeBlocked = true;
  }

  private readonly onDrain = (): void => {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.flow();
  };

  /** True while we may not start answering another query on this connection. */
  private blocked(): boolean {
    return this.inFlight >= this.host.options.tcpMaxInFlightPerConnection || this.writeBlocked || this.shuttingDown;
  }

  private limitReached(): boolean {
    const max = this.host.options.tcpMaxQueriesPerConnection;
    return max > 0 && this.queries >= max;
  }

  /**
   * Re-evaluates the connection after anything that may unblock it or finish it: parses
   * stashed input, ends the connection when nothing is left to do, and pauses or resumes
   * reading so that TCP flow control pushes back on the client.
   */
  private flow(): void {
    if (this.state !== 'open') return;
    if (this.stash !== null && !this.blocked()) {
      const stash = this.stash;
      this.stash = null;
      this.feed(stash);
      if (this.state !== 'open') return;
    }
    if (
      this.inFlight === 0 &&
      (this.shuttingDown || this.limitReached() || (this.peerEnded && this.stash === null))
    ) {
      // Only once nothing is outstanding (RFC 1035 §4.2.2). Frames dropped after the query
      // limit were never started; RFC 7766 §6.2.4 lets a server close, and the client
      // retries unanswered queries on a new connection.
      this.endGracefully();
      return;
    }
    if (this.stash !== null || this.blocked() || this.limitReached()) this.pause();
    else this.resume();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  private discardInput(): void {
    this.stash = null;
    this.frame = null;
    this.headerHi = -1;
    this.partialSince = -1;
  }

  /** Sends FIN once everything queued is written, then lingers until the peer closes. */
  private endGracefully(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.discardInput();
    this.socket.end();
    // Keep reading (and discarding) so the peer's FIN is seen. Closing a socket with unread
    // input makes the kernel send RST, and an RST can make the client's stack throw away
    // replies it has received but not yet read.
    this.paused = false;
    this.socket.resume();
    this.host.clock.clearTimeout(this.timer);
    this.timer = this.host.clock.setTimeout(this.onTimer, this.host.options.tcpIdleTimeoutMs);
  }

  /**
   * One timer per connection, re-armed only when it fires (not per frame). It enforces
   * RFC 7766 §6.2.3's idle timeout and a slow-loris guard: only complete frames and
   * finished queries count as activity, and an incomplete frame older than the idle timeout
   * closes the connection even if bytes keep trickling in.
   */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.state === 'closed') return;
    if (this.state === 'ending') {
      // The peer never closed its side after our FIN.
      this.destroy();
      return;
    }
    const idle = this.host.options.tcpIdleTimeoutMs;
    const now = this.host.clock.now();
    const idleExpired = this.inFlight === 0 && now - this.idleSince >= idle;
    if (this.partialSince >= 0 && (idleExpired || now - this.partialSince >= idle)) {
      // Either an incomplete frame has been pending for the whole timeout (even while
      // earlier queries were in flight), or the connection went idle with one pending:
      // both are a client holding the slot without completing a query. No FIN courtesy.
      this.host.reporter.event('tcp-timeout', 'partial frame');
      this.host.reporter.log.debug({ remote: this.context.remoteAddress }, 'tcp: incomplete frame timed out');
      this.destroy();
      return;
    }
    if (idleExpired) {
      this.host.reporter.event('tcp-timeout', 'idle');
      this.host.reporter.log.debug({ remote: this.context.remoteAddress }, 'tcp: idle connection closed');
      this.endGracefully();
      return;
    }
    // Busy (answering) or not yet idle long enough: look again at the next deadline.
    let next = this.inFlight === 0 ? this.idleSince + idle : now + idle;
    if (this.partialSince >= 0) next = Math.min(next, this.partialSince + idle);
    this.timer = this.host.clock.setTimeout(this.onTimer, Math.max(1, next - now));
  };

  private readonly onEnd = (): void => {
    if (this.state !== 'open') return; // our FIN was already sent: Node closes the socket now.
    // Half-close: the client is done sending, but RFC 1035 §4.2.2 says the server should
    // delay closing its end until all outstanding requests are satisfied. Answer what is
    // in flight (and stashed), then end our side in flow().
    this.peerEnded = true;
    if (this.frame !== null || this.headerHi >= 0) {
      this.host.reporter.event('frame-dropped', 'tcp frame truncated by end of stream');
      this.frame = null;
      this.headerHi = -1;
      this.partialSince = -1;
    }
    this.flow();
  };

  private readonly onError = (err: Error): void => {
    // Resets and broken pipes are everyday events on the Internet; 'close' follows.
    this.host.reporter.log.debug({ err, remote: this.context.remoteAddress }, 'tcp connection error');
  };

  private readonly onClose = (): void => {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.discardInput();
    this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.host.connectionClosed(this);
  };
}
