import type { QueryContext, QueryHandler, ReplyStream } from '../transport/types.js';
import { headerRcode, isTruncated, replySizeLimit } from '../wire/header.js';
import { decodeQuery } from '../wire/query.js';
import type { Handler, QueryEvent, QueryObserver, Reply, Request, Stage } from './request.js';

export interface PipelineOptions {
  /** Outermost first: `[a, b]` runs a, which may call b, which may call `last`. */
  readonly stages: readonly Stage[];
  /** What answers when every stage passed the request on. */
  readonly last: Handler;
  /** Told of every reply sent (metrics, query log); never of messages dropped. */
  readonly observers?: readonly QueryObserver[];
  /** The UDP size we advertise in OPT and the most we send over UDP (--edns-udp-size). */
  readonly advertisedUdpSize: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Turns query bytes into reply bytes: decodes once, runs the chain, tells the observers.
 * Returns the transport's QueryHandler. Stages catch their own failures (the authoritative
 * stage turns one into SERVFAIL); a stage that throws anyway costs that one query, which the
 * transport drops and reports as a 'handler-error'.
 */
export function createPipeline(options: PipelineOptions): QueryHandler {
  let handler = options.last;
  for (const stage of [...options.stages].reverse()) handler = stage(handler);
  const chain = handler;
  const observers = options.observers ?? [];
  const advertisedUdpSize = options.advertisedUdpSize;

  // Reused for every query (see Request): the chain runs to completion before the next one.
  const request: Mutable<Request> = {
    message: Buffer.alloc(0),
    decoded: { kind: 'error', rcode: 0, id: 0, flags: 0, question: undefined, edns: undefined, reason: '' },
    transport: 'udp',
    remoteAddress: '',
    remotePort: 0,
    maxSize: 512,
    advertisedUdpSize,
    extraFlags: 0,
    zone: undefined,
    rcode: undefined,
    template: undefined,
    tsig: undefined,
    reserve(octets) {
      request.maxSize -= octets;
    },
  };
  const event: Mutable<QueryEvent> = {
    transport: 'udp',
    remoteAddress: '',
    remotePort: 0,
    zone: undefined,
    name: undefined,
    type: 0,
    rcode: 0,
    size: 0,
    truncated: false,
    startedAt: 0,
  };

  const notify = (e: Mutable<QueryEvent>, reply: Buffer, rcode: number | undefined, size = reply.length): void => {
    e.rcode = rcode ?? headerRcode(reply);
    e.size = size;
    e.truncated = isTruncated(reply);
    for (const observe of observers) observe(e);
  };

  return (message: Buffer, context: QueryContext) => {
    const startedAt = observers.length > 0 ? performance.now() : 0;
    const decoded = decodeQuery(message);
    if (decoded.kind === 'drop') return null;
    request.message = message;
    request.decoded = decoded;
    request.transport = context.transport;
    request.remoteAddress = context.remoteAddress;
    request.remotePort = context.remotePort;
    request.maxSize = replySizeLimit(context.transport, decoded.kind === 'query' ? decoded.query.edns?.udpSize : undefined, advertisedUdpSize);
    request.extraFlags = 0;
    request.zone = undefined;
    request.rcode = undefined;
    request.template = undefined;
    request.tsig = undefined;

    const reply = chain(request);
    if (observers.length === 0) return reply;

    const question = decoded.kind === 'query' ? decoded.query : decoded.question;
    if (isStream(reply)) {
      const later: Mutable<QueryEvent> = { ...event, transport: context.transport, remoteAddress: context.remoteAddress, remotePort: context.remotePort, zone: request.zone, name: question?.name, type: question?.type ?? 0, startedAt };
      const rcode = request.rcode;
      return observedStream(reply, (first, size) => notify(later, first, rcode, size));
    }
    if (reply instanceof Promise) {
      // The request object is reused by the next query: what the event needs is taken now.
      const later: Mutable<QueryEvent> = { ...event, transport: context.transport, remoteAddress: context.remoteAddress, remotePort: context.remotePort, zone: request.zone, name: question?.name, type: question?.type ?? 0, startedAt };
      const rcode = request.rcode;
      return reply.then((bytes: Buffer | null) => {
        if (bytes) notify(later, bytes, rcode);
        return bytes;
      });
    }
    if (reply) {
      event.transport = context.transport;
      event.remoteAddress = context.remoteAddress;
      event.remotePort = context.remotePort;
      event.zone = request.zone;
      event.name = question?.name;
      event.type = question?.type ?? 0;
      event.startedAt = startedAt;
      notify(event, reply, request.rcode);
    }
    return reply;
  };
}

function isStream(reply: Reply | Promise<Buffer | null>): reply is ReplyStream {
  return reply !== null && !(reply instanceof Uint8Array) && !(reply instanceof Promise);
}

/**
 * A multi-message reply (a zone transfer) is observed once, when its last message has gone
 * out: with the first message's header (its RCODE) and the size of all of them.
 */
function observedStream(reply: ReplyStream, done: (first: Buffer, size: number) => void): ReplyStream {
  const inner = reply.messages;
  let first: Buffer | undefined;
  let size = 0;
  let told = false;
  const tell = () => {
    if (told || !first) return;
    told = true;
    done(first, size);
  };
  return {
    messages: {
      async next() {
        const r = await inner.next();
        if (r.done) tell();
        else {
          first ??= Buffer.from(r.value.buffer, r.value.byteOffset, Math.min(r.value.byteLength, 12));
          size += r.value.byteLength;
        }
        return r;
      },
      async return() {
        tell();
        await inner.return?.();
        return { done: true, value: undefined };
      },
    },
  };
}
