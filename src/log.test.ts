import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogSink } from './log.js';

const line = (i: number) => `${JSON.stringify({ level: 30, i, msg: 'x'.repeat(180) })}\n`;

/** How long the event loop went without a turn while `fn` ran, at worst (ms). */
async function worstStall(fn: () => void, forMs: number): Promise<number> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  const end = performance.now() + forMs;
  while (performance.now() < end) {
    fn();
    await new Promise((r) => setImmediate(r));
  }
  clearInterval(timer);
  return worst;
}

describe('LogSink', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  it('writes every line, in order, to a reader that keeps up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcdns-log-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fd = openSync(join(dir, 'out'), 'w');
    cleanups.push(() => closeSync(fd));
    const sink = new LogSink(fd);
    for (let i = 0; i < 5000; i++) sink.write(line(i));
    await sink.flush(10_000);
    expect(sink.dropped).toBe(0);
    const text = execFileSync('cat', [join(dir, 'out')], { maxBuffer: 64 * 1024 * 1024 }).toString();
    const lines = text.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i);
    expect(lines).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it('drops and counts lines when the disk is full (/dev/full: ENOSPC), never throws', async () => {
    const fd = openSync('/dev/full', 'w');
    cleanups.push(() => closeSync(fd));
    const sink = new LogSink(fd);
    for (let i = 0; i < 1000; i++) expect(() => sink.write(line(i))).not.toThrow();
    await sink.flush(10_000);
    expect(sink.dropped).toBe(1000);
    // And keeps trying: a later line is attempted (and dropped) too.
    sink.write(line(1000));
    await sink.flush(10_000);
    expect(sink.dropped).toBe(1001);
  });

  it('never blocks the event loop on a reader that does not read; the queue is bounded; a closed pipe is counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcdns-log-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // The reader end stays open and is never read: the pipe fills (64 KiB) and stays full.
    let reader: number | undefined = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    cleanups.push(() => reader !== undefined && closeSync(reader));
    const writer = openSync(fifo, constants.O_WRONLY);
    cleanups.push(() => closeSync(writer));
    const sink = new LogSink(writer, { maxOctets: 1024 * 1024 });
    let written = 0;
    // 2 s of as many lines as the loop can take, with a turn of the loop between bursts of 100.
    const stall = await worstStall(() => {
      for (let i = 0; i < 100; i++) sink.write(line(written++));
    }, 2000);
    expect(written).toBeGreaterThan(20_000);
    // Bursts of 100 calls, not a write blocked on the pipe: generous for a busy machine.
    expect(stall).toBeLessThan(500);
    // Everything beyond 64 KiB in the pipe and 1 MiB queued was dropped.
    expect(sink.dropped).toBeGreaterThan(written - (2 * 1024 * 1024) / 200);
    // Read a little: proves the pipe holds the first lines, in order.
    const head = Buffer.alloc(4096);
    const n = readSync(reader, head, 0, head.length, null);
    expect(JSON.parse(head.subarray(0, n).toString().split('\n')[0]!)).toMatchObject({ i: 0 });
    // The reader goes away: the write in flight fails (EPIPE), its lines and the queue's are counted.
    closeSync(reader);
    reader = undefined;
    const before = sink.dropped;
    await sink.flush(10_000);
    expect(sink.dropped).toBeGreaterThan(before);
    sink.write(line(written++));
    await sink.flush(10_000);
    // Every line is accounted for: written into the pipe (64 KiB of ~210-octet lines) or dropped.
    expect(sink.dropped).toBeGreaterThanOrEqual(written - Math.ceil((64 * 1024) / 200));
  });
});
