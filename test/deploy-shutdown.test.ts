/**
 * Graceful shutdown (--lameduck), in-process: the order of the steps with fakes, then the real
 * server (sockets on loopback) with a clock whose lameduck timer the test fires by hand, so
 * that "DNS still answers while /ready says 503" is checked at a moment the test chooses
 * rather than inside a race with a real timer.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gracefulShutdown, runServer, type RunningServer } from '../src/app.js';
import { systemClock, type Clock, type Timer } from '../src/clock.js';
import { loadServeConfig } from '../src/config/load.js';
import { createLogger, silentLogger } from '../src/log.js';
import { tcpExchange, udpExchange } from './support/client.js';
import { buildQuery, parseReply, RCODE } from './support/packets.js';
import { tempZones } from './support/zones.js';

const ZONE = '$TTL 60\n@ SOA ns1 hostmaster 1 7200 1800 86400 30\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.10\n';

/**
 * The real clock, except that timeouts of exactly `heldMs` are held: they fire only when the
 * test calls fire(). Nothing else in the server waits that long, so this is the lameduck timer.
 */
function holdingClock(heldMs: number) {
  const held: (() => void)[] = [];
  const clock: Clock = {
    ...systemClock,
    setTimeout(fn: () => void, ms: number): Timer {
      if (ms !== heldMs) return systemClock.setTimeout(fn, ms);
      held.push(fn);
      return undefined;
    },
  };
  return {
    clock,
    get held() {
      return held.length;
    },
    fire() {
      for (const fn of held.splice(0)) fn();
    },
  };
}

describe('gracefulShutdown', () => {
  function recorder(lameduckMs: number) {
    const steps: string[] = [];
    const timers = holdingClock(lameduckMs);
    const run = gracefulShutdown({
      lameduckMs,
      clock: timers.clock,
      logger: silentLogger(),
      drain: () => void steps.push('drain'),
      stopListening: async () => void steps.push('stopListening'),
      stopSources: async () => void steps.push('stopSources'),
      stopOps: async () => void steps.push('stopOps'),
    });
    return { steps, timers, run };
  }

  it('drains at once, waits the lameduck period on the clock, then closes listeners, sources and ops in that order', async () => {
    const { steps, timers, run } = recorder(5000);
    let done = false;
    void run.then(() => (done = true));
    // Give every pending promise a chance to run: nothing may close before the timer fires.
    await new Promise((r) => setTimeout(r, 20));
    expect(steps).toEqual(['drain']);
    expect(timers.held).toBe(1);
    expect(done).toBe(false);
    timers.fire();
    await run;
    expect(steps).toEqual(['drain', 'stopListening', 'stopSources', 'stopOps']);
  });

  it('says how long it drains and that a second signal exits at once (whoever pressed Ctrl-C waits otherwise without knowing why)', async () => {
    const lines: { msg: string; lameduckMs?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
    const timers = holdingClock(5000);
    const run = gracefulShutdown({ lameduckMs: 5000, clock: timers.clock, logger, drain: () => {}, stopListening: async () => {}, stopSources: async () => {}, stopOps: async () => {} });
    await new Promise((r) => setTimeout(r, 20));
    expect(lines).toEqual([expect.objectContaining({ lameduckMs: 5000, msg: 'draining for 5s (--lameduck): /ready is 503, DNS still answered; a second Ctrl-C (or SIGTERM) exits at once' })]);
    timers.fire();
    await run;
  });

  it('does not wait with --lameduck 0', async () => {
    const { steps, timers, run } = recorder(0);
    await run;
    expect(timers.held).toBe(0);
    expect(steps).toEqual(['drain', 'stopListening', 'stopSources', 'stopOps']);
  });
});

describe('runServer close()', () => {
  const LAMEDUCK_MS = 60_000;
  const zones = tempZones({ 'example.test.zone': ZONE });
  const timers = holdingClock(LAMEDUCK_MS);
  let server: RunningServer;
  let health: string;
  let ready: string;

  beforeAll(async () => {
    const config = loadServeConfig({
      argv: [
        '--zones', zones.dir,
        '--listen', '127.0.0.1:0',
        '--health-listen', '127.0.0.1:0',
        '--ready-listen', '127.0.0.1:0',
        '--metrics-listen', 'off',
        '--no-forwarding',
        '--lameduck', `${LAMEDUCK_MS}ms`,
      ],
      env: {},
      cwd: process.cwd(),
    });
    // The ops URLs are only logged: read them from the 'listening' line.
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    server = await runServer(config, createLogger({ level: 'info', format: 'json', destination }), timers.clock);
    const urls = lines.find((l) => l.msg === 'listening') as { health: string; ready: string };
    health = `${urls.health}/health`;
    ready = `${urls.ready}/ready`;
  });
  afterAll(async () => {
    timers.fire();
    await server?.close();
    zones.remove();
  });

  const port = () => server.addresses[0]!.port;
  const query = () => buildQuery({ name: 'www.example.test', type: 'A', rd: false });

  it('keeps answering DNS over UDP and TCP while /ready is 503 and /health 200, then closes everything', async () => {
    expect((await fetch(ready)).status).toBe(200);

    const closed = server.close();
    // Called twice (a second caller, a retry): the same shutdown, not a second one.
    expect(server.close()).toBe(closed);

    const readyNow = await fetch(ready);
    expect(readyNow.status).toBe(503);
    expect(await readyNow.text()).toBe('shutting down\n');
    expect((await fetch(health)).status).toBe(200);

    for (let i = 0; i < 5; i++) {
      const udp = await udpExchange(port(), query(), { timeoutMs: 1000 });
      expect(udp, 'UDP answered during lameduck').not.toBeNull();
      expect(parseReply(udp!).header.rcode).toBe(RCODE.NOERROR);
    }
    const [tcp] = await tcpExchange(port(), [query()]);
    expect(parseReply(tcp!).answers[0]).toMatchObject({ address: '192.0.2.10' });

    // The lameduck period ends: listeners, sources and ops close, and close() resolves.
    expect(timers.held).toBe(1);
    timers.fire();
    await closed;
    expect(await udpExchange(port(), query(), { timeoutMs: 300 })).toBeNull();
    // Nothing listens on the ops port any more.
    await expect(fetch(health)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
  });
});
