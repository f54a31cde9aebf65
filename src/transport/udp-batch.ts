/**
 * UDP through the native addon in native/udp_batch.c: recvmmsg/sendmmsg on a socket of our
 * own, one JS call per batch of datagrams, queries read in place from one arena and replies
 * copied into another. dgram costs a JS call, a Buffer, an address string and a syscall per
 * datagram each way; on a server answering from memory that was most of the time per query
 * (docs/performance.md). When the addon was not built (no C compiler, not Linux) the transport
 * uses dgram, and `--udp-io batch` refuses to start.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { QueryContext } from './types.js';

/** The addon's functions, as native/udp_batch.c defines them. */
export interface UdpBatchAddon {
  readonly SLOTS: number;
  readonly SLOT_SIZE: number;
  readonly IN_META: number;
  readonly OUT_META: number;
  open(host: string, port: number, reusePort: boolean): UdpBatchHandle;
  localPort(handle: UdpBatchHandle): number;
  start(
    handle: UdpBatchHandle,
    inArena: Buffer,
    inMeta: Int32Array,
    outArena: Buffer,
    outMeta: Int32Array,
    onBatch: (count: number) => number,
    onError: (code: string, message: string) => void,
  ): void;
  sendTo(handle: UdpBatchHandle, reply: Uint8Array, host: string, port: number): void;
  address(handle: UdpBatchHandle, slot: number): string;
  close(handle: UdpBatchHandle): void;
}
declare const handleBrand: unique symbol;
export type UdpBatchHandle = { readonly [handleBrand]: true };

/** Where `npm run build` puts the addon (scripts/build-native.mjs); the same from src/ and dist/. */
const ADDON_PATH = fileURLToPath(new URL('../../native/build/udp_batch.node', import.meta.url));

let loaded: { addon: UdpBatchAddon } | { error: string } | undefined;

/** The addon, or why it is not available. Loaded once per process. */
export function loadUdpBatch(): { addon: UdpBatchAddon } | { error: string } {
  loaded ??= loadUdpBatchFrom(ADDON_PATH);
  return loaded;
}

export function loadUdpBatchFrom(path: string): { addon: UdpBatchAddon } | { error: string } {
  if (process.platform !== 'linux') return { error: `batched UDP needs Linux's recvmmsg/sendmmsg (this is ${process.platform})` };
  try {
    return { addon: createRequire(import.meta.url)(path) as UdpBatchAddon };
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { error: `the native addon could not be loaded (${detail}); \`npm run build\` builds it when a C compiler is installed` };
  }
}

/**
 * What the transport does with one datagram: returns the reply to send now, or null (nothing,
 * or a reply that arrives later through `later`, with the same context). One `later` per
 * socket rather than a closure per datagram: this runs for every query. The batched engine
 * reuses one context object (and one view per slot and length) for every datagram: whoever
 * keeps the context past the call copies it.
 */
export type AnswerDatagram = (
  message: Buffer,
  context: QueryContext,
  later: (reply: Uint8Array, context: QueryContext) => void,
) => Uint8Array | null;

/** Events the endpoint reports to its transport. */
export interface BatchEndpointHost {
  answer: AnswerDatagram;
  /** A send that failed (other than a full socket buffer, whose replies wait to drain). */
  udpError(err: unknown): void;
  /** A datagram that is not a DNS message (empty or truncated). */
  dropped(detail: string): void;
}

/**
 * A bound UDP socket served in batches. Open with `BatchUdpEndpoint.open`, which throws the
 * bind error (with `.code`) like dgram's bind would.
 */
export class BatchUdpEndpoint {
  readonly port: number;
  private readonly inArena: Buffer;
  private readonly inMeta: Int32Array;
  private readonly outArena: Buffer;
  private readonly outMeta: Int32Array;
  private closed = false;
  // Clients are few (resolvers, pods): an address is formatted once, not once per query.
  private readonly v4Text = new Map<number, string>();
  /*
   * Nothing is allocated per datagram on the way in (every allocation brings the next
   * scavenge closer, a pause of ~0.3 ms for every query waiting behind it: docs/performance.md,
   * Latency): one context object, refilled for each datagram, and the views of the in-arena
   * kept by where they start and end (a slot sees the few lengths its clients' questions have).
   */
  private readonly context: { -readonly [K in keyof QueryContext]: QueryContext[K] };
  private readonly views = new Map<number, Buffer>();

  private constructor(
    private readonly addon: UdpBatchAddon,
    private readonly handle: UdpBatchHandle,
    private readonly host: BatchEndpointHost,
  ) {
    this.port = addon.localPort(handle);
    const { SLOTS, SLOT_SIZE, IN_META, OUT_META } = addon;
    // 2 MiB each, but only the pages datagrams touch become resident.
    this.inArena = Buffer.alloc(SLOTS * SLOT_SIZE);
    this.inMeta = new Int32Array(SLOTS * IN_META);
    this.outArena = Buffer.alloc(SLOTS * SLOT_SIZE);
    this.outMeta = new Int32Array(SLOTS * OUT_META);
    this.context = { transport: 'udp', remoteAddress: '', remotePort: 0, localPort: this.port };
  }

  static open(addon: UdpBatchAddon, host: string, port: number, reusePort: boolean, events: BatchEndpointHost): BatchUdpEndpoint {
    const handle = addon.open(host, port, reusePort);
    let endpoint: BatchUdpEndpoint;
    try {
      endpoint = new BatchUdpEndpoint(addon, handle, events);
      addon.start(handle, endpoint.inArena, endpoint.inMeta, endpoint.outArena, endpoint.outMeta, endpoint.onBatch, endpoint.onSendError);
    } catch (err) {
      addon.close(handle);
      throw err;
    }
    return endpoint;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }

  /** Called by the addon with `count` datagrams in the in-arena; returns how many replies it wrote. */
  private readonly onBatch = (count: number): number => {
    const { SLOT_SIZE, IN_META, OUT_META } = this.addon;
    const meta = this.inMeta;
    let replies = 0;
    for (let slot = 0; slot < count; slot++) {
      const m = slot * IN_META;
      const length = meta[m]!;
      if (length <= 0) {
        this.host.dropped(length === 0 ? 'empty udp datagram' : `udp datagram larger than ${SLOT_SIZE} bytes`);
        continue;
      }
      const context = this.context;
      context.remoteAddress = this.addressOf(slot, meta[m + 2]!, meta[m + 3]!);
      context.remotePort = meta[m + 1]!;
      const reply = this.host.answer(this.viewOf(slot, length), context, this.sendLater);
      if (reply === null) continue;
      this.outArena.set(reply, replies * SLOT_SIZE);
      this.outMeta[replies * OUT_META] = reply.length;
      this.outMeta[replies * OUT_META + 1] = slot;
      replies++;
    }
    return replies;
  };

  /** The first `length` bytes of a slot of the in-arena, as a view made once. */
  private viewOf(slot: number, length: number): Buffer {
    // A small integer key (SLOTS × (SLOT_SIZE + 1) < 2^31), so that the lookup allocates nothing.
    const key = slot * (this.addon.SLOT_SIZE + 1) + length;
    let view = this.views.get(key);
    if (view === undefined) {
      // Bounded: clients sending every possible length must not grow it without end.
      if (this.views.size >= 4096) this.views.clear();
      const start = slot * this.addon.SLOT_SIZE;
      view = this.inArena.subarray(start, start + length);
      this.views.set(key, view);
    }
    return view;
  }

  private addressOf(slot: number, kind: number, v4: number): string {
    if (kind === 6) return this.addon.address(this.handle, slot);
    // Kind 46: an IPv4 client of a dual-stack socket, written the way dgram shows it.
    const key = kind === 46 ? v4 + 2 ** 32 : v4;
    let text = this.v4Text.get(key);
    if (text === undefined) {
      text = `${kind === 46 ? '::ffff:' : ''}${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
      // Bounded: a spoofed-source flood must not grow it without end.
      if (this.v4Text.size >= 4096) this.v4Text.clear();
      this.v4Text.set(key, text);
    }
    return text;
  }

  /** A reply that was not ready within its batch (a forwarded query): sent on its own. */
  private readonly sendLater = (reply: Uint8Array, context: QueryContext): void => {
    if (this.closed) return;
    try {
      this.addon.sendTo(this.handle, reply, context.remoteAddress, context.remotePort);
    } catch (err) {
      this.host.udpError(err);
    }
  };

  private readonly onSendError = (code: string, message: string): void => {
    this.host.udpError(Object.assign(new Error(`send ${code}: ${message}`), { code }));
  };
}
