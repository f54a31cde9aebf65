/**
 * The contract between the transport (sockets, framing, limits) and whatever answers queries.
 * The transport never looks inside a message: it only knows the UDP datagram boundary and
 * the TCP 2-byte length prefix (RFC 1035 §4.2.1, §4.2.2).
 */

export interface QueryContext {
  readonly transport: 'udp' | 'tcp';
  /** As reported by the socket: on a dual-stack '::' listener IPv4 clients look like '::ffff:192.0.2.1'. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/**
 * Returns the reply bytes, or null to send nothing. May be sync (the fast path) or async.
 *
 * `message` is only valid as a view: over TCP it may share memory with the socket's read
 * buffer (no copy is made for a frame that arrived in one segment), so a handler that keeps
 * the bytes beyond the call must copy them. Mutating them in place is fine.
 */
export type QueryHandler = (message: Buffer, context: QueryContext) => Buffer | null | Promise<Buffer | null> | ReplyStream;

/**
 * A reply of several messages to one query, TCP only: a zone transfer (RFC 5936 §2.2). The
 * connection pulls the next message only when the socket has room for it, so a transfer is
 * bounded by one message and the write buffer, however large the zone and slow the client.
 * Over UDP it is an error of the handler's (reported, nothing sent).
 */
export interface ReplyStream {
  readonly messages: AsyncIterator<Uint8Array, void>;
}

export function isReplyStream(value: unknown): value is ReplyStream {
  return typeof value === 'object' && value !== null && 'messages' in value && !(value instanceof Uint8Array);
}

export interface TransportOptions {
  /** RFC 7766 §6.2.3: close idle connections (default chosen by caller, e.g. 10000). */
  tcpIdleTimeoutMs: number;
  /** Cap on open TCP connections in total; beyond it new ones are closed at once. */
  tcpMaxConnections: number;
  /** Cap per remote IP. */
  tcpMaxConnectionsPerClient: number;
  /** 0 = unlimited; after N queries the server closes the connection gracefully. */
  tcpMaxQueriesPerConnection: number;
  /** Pipelined queries being answered at once; further frames wait (reading is paused). */
  tcpMaxInFlightPerConnection: number;
}

export type TransportEventType =
  | 'udp-error'
  | 'tcp-error'
  | 'handler-error'
  | 'tcp-rejected'
  | 'tcp-timeout'
  | 'frame-dropped';

export type TransportEvent = { type: TransportEventType; detail?: string };
