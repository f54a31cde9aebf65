import { describe, expect, it } from 'vitest';
import { BatchUdpEndpoint, type UdpBatchAddon, type UdpBatchHandle } from './udp-batch.js';
import type { QueryContext } from './types.js';

/**
 * The JS side of the batched engine driven without a socket: a stand-in addon hands out the
 * arenas as the C side fills them (inMeta per slot: length, port, kind, IPv4 as uint32) and
 * calls the batch callback, as native/udp_batch.c does.
 */
function endpoint(answer: (message: Buffer, context: QueryContext) => Uint8Array | null) {
  const SLOTS = 32;
  const SLOT_SIZE = 65536;
  let arenas: { inArena: Buffer; inMeta: Int32Array; outArena: Buffer; outMeta: Int32Array; onBatch: (count: number) => number } | undefined;
  const addon: UdpBatchAddon = {
    SLOTS,
    SLOT_SIZE,
    IN_META: 4,
    OUT_META: 2,
    open: () => ({}) as UdpBatchHandle,
    localPort: () => 5353,
    start: (_handle, inArena, inMeta, outArena, outMeta, onBatch) => {
      arenas = { inArena, inMeta, outArena, outMeta, onBatch };
    },
    sendTo: () => undefined,
    address: () => '::1',
    close: () => undefined,
  };
  BatchUdpEndpoint.open(addon, '127.0.0.1', 0, false, { answer: (m, c) => answer(m, c), udpError: () => undefined, dropped: () => undefined });
  const a = arenas!;
  /** Puts datagrams into slots 0.. and runs one batch; returns the replies it wrote, as text. */
  const batch = (datagrams: { text: string; port: number; ip: number }[]) => {
    datagrams.forEach((d, slot) => {
      a.inArena.write(d.text, slot * SLOT_SIZE, 'latin1');
      a.inMeta.set([Buffer.byteLength(d.text, 'latin1'), d.port, 4, d.ip], slot * 4);
    });
    const n = a.onBatch(datagrams.length);
    return Array.from({ length: n }, (_, i) => ({
      slot: a.outMeta[i * 2 + 1],
      text: a.outArena.toString('latin1', i * SLOT_SIZE, i * SLOT_SIZE + a.outMeta[i * 2]!),
    }));
  };
  return { batch };
}

describe('BatchUdpEndpoint', () => {
  it('hands each datagram its own bytes and sender, reusing one context object', () => {
    const seen: { text: string; from: string; port: number }[] = [];
    const contexts = new Set<QueryContext>();
    const { batch } = endpoint((message, context) => {
      contexts.add(context);
      seen.push({ text: message.toString('latin1'), from: context.remoteAddress, port: context.remotePort });
      return Buffer.from(`R:${message.toString('latin1')}`, 'latin1');
    });
    const replies = batch([
      { text: 'short', port: 1000, ip: 0x7f000001 },
      { text: 'a longer one', port: 1001, ip: 0xc0000201 | 0 },
      { text: 'short', port: 1002, ip: 0x7f000001 },
    ]);
    expect(seen).toEqual([
      { text: 'short', from: '127.0.0.1', port: 1000 },
      { text: 'a longer one', from: '192.0.2.1', port: 1001 },
      { text: 'short', from: '127.0.0.1', port: 1002 },
    ]);
    expect(replies).toEqual([
      { slot: 0, text: 'R:short' },
      { slot: 1, text: 'R:a longer one' },
      { slot: 2, text: 'R:short' },
    ]);
    expect(contexts.size).toBe(1);
  });

  it('reads every length right, beyond the number of views it keeps', () => {
    const { batch } = endpoint((message) => Buffer.from(String(message.length)));
    // 5000 lengths in one slot: more than the 4096 views kept, so the table starts again.
    for (let length = 1; length <= 5000; length++) {
      const text = 'x'.repeat(length - 1) + 'y';
      const [reply] = batch([{ text, port: 1, ip: 0x7f000001 }]);
      expect(reply!.text).toBe(String(length));
    }
    // And the bytes, not only the length: a view made earlier shows what the slot holds now.
    const echo = endpoint((message) => Buffer.from(message));
    expect(echo.batch([{ text: 'abc', port: 1, ip: 1 }])[0]!.text).toBe('abc');
    expect(echo.batch([{ text: 'xyz', port: 1, ip: 1 }])[0]!.text).toBe('xyz');
  });
});
