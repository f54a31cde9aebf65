/**
 * The contract of the handler chain (CoreDNS's plugin chain, in TypeScript): a query is
 * decoded once into a Request, then passed through stages of one shape. A stage answers
 * (returns the reply bytes), or hands the request to the next stage; it may also wrap what
 * the next stage returns. The synchronous fast path stays synchronous: a stage returns a
 * Promise only when it must wait (forwarding upstream).
 */
import type { Name } from '../dns/name.js';
import type { TsigKey } from '../dns/tsig-key.js';
import type { ReplyStream } from '../transport/types.js';
import type { Decoded } from '../wire/query.js';
import type { ResponseTemplate } from '../wire/response.js';

/** A message the decoder could read enough of to answer: a query, or one that gets an error rcode. */
export type DecodedMessage = Exclude<Decoded, { kind: 'drop' }>;

/**
 * One query on its way through the chain.
 *
 * Valid only during the synchronous call of a stage: the pipeline reuses the object for the
 * next query (one allocation less per query). A stage that answers later (a Promise) must
 * read what it needs before it returns, as it must copy `message`, which may be a view into
 * the transport's buffer.
 */
export interface Request {
  readonly message: Buffer;
  readonly decoded: DecodedMessage;
  readonly transport: 'udp' | 'tcp';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Largest reply for this request (wire/header.ts replySizeLimit: 65535 over TCP; over UDP
   * the client's EDNS size clamped to ours, or 512 without EDNS), less what `reserve` set aside.
   */
  readonly maxSize: number;
  /** Sets aside room in every reply for a record a stage adds after the inner stages answer (TSIG). */
  reserve(octets: number): void;
  /** The UDP size we advertise in OPT (--edns-udp-size). */
  readonly advertisedUdpSize: number;
  /** Header flags every reply to this request carries besides its own (RA, RFC 1035 §4.1.1). */
  extraFlags: number;
  /** Set by the stage that answers from a zone: its origin, for metrics and the query log. */
  zone: Name | undefined;
  /** Set when the reply's RCODE does not fit the header's four bits (extended, RFC 6891 §6.1.3). */
  rcode: number | undefined;
  /** The pre-encoded reply the answer was rendered from, for stages that patch it (rotation). */
  template: ResponseTemplate | undefined;
  /**
   * Set by the TSIG stage when the request was signed with one of our keys (RFC 8945): the
   * reply is signed with it. A multi-message reply signs its messages itself (the MACs chain).
   */
  tsig: { readonly key: TsigKey; readonly mac: Buffer } | undefined;
}

/** Reply bytes, null to send nothing, or (TCP only) the messages of a zone transfer. */
export type Reply = Buffer | null | ReplyStream;

/** A Promise only for single messages: a multi-message reply is returned as it is (it is asynchronous itself). */
export type Handler = (request: Request) => Reply | Promise<Buffer | null>;

/** A stage is given the rest of the chain and returns its own handler. */
export type Stage = (next: Handler) => Handler;

/**
 * What observers (metrics, the query log) learn of every reply sent. One object is reused
 * for the next reply: read it during the call, copy what you keep.
 */
export interface QueryEvent {
  readonly transport: 'udp' | 'tcp';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Zone origin the question fell in; undefined when none of ours. */
  readonly zone: string | undefined;
  /** The question's name, undefined when the message had no readable question. */
  readonly name: Name | undefined;
  readonly type: number;
  readonly rcode: number;
  readonly size: number;
  readonly truncated: boolean;
  /** performance.now() when the query arrived; 0 when no observer needs timing. */
  readonly startedAt: number;
}

export type QueryObserver = (event: QueryEvent) => void;
