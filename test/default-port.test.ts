/**
 * The default DNS address must work on a developer's desktop, where the mDNS responder
 * (avahi-daemon on Linux, mDNSResponder on macOS) holds 0.0.0.0:5353 with SO_REUSEADDR: with
 * 5353 as the default, binding 127.0.0.1:5353 failed with EADDRINUSE and `npm start` with it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { runCli, startServer } from './support/server.js';

/** What etcdns answers on when --listen is not given (src/config/serve-options.ts). */
const DEFAULT_PORT = 1053;
const MDNS_PORT = 5353;

let mdns: Socket;

beforeAll(async () => {
  // As avahi does: the wildcard address, SO_REUSEADDR. Held by a real responder already is as good.
  mdns = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    mdns.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve() : reject(err)));
    mdns.bind(MDNS_PORT, '0.0.0.0', () => resolve());
  });
});
afterAll(() => {
  try {
    mdns.close();
  } catch {
    // not bound (a real responder held the port)
  }
});

describe('the default DNS address', () => {
  it('is not the mDNS port: with 0.0.0.0:5353 held as avahi holds it, the server starts on its default and answers', async () => {
    const server = await startServer(['--zones', 'zones'], { ownDefaults: ['--listen'] });
    try {
      expect(server.addresses).toEqual([`udp://127.0.0.1:${DEFAULT_PORT}`, `tcp://127.0.0.1:${DEFAULT_PORT}`]);
      const r = await dig(DEFAULT_PORT, ['www.example.test', 'A', '+norecurse']);
      expect(r.status).toBe('NOERROR');
      expect(r.answer.length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('an address in use fails at start with a message naming the address and the flag that sets it', async () => {
    const r = await runCli(['serve', '--listen', `127.0.0.1:${MDNS_PORT}`, '--zones', 'zones', '--no-forwarding', '--health-listen', 'off', '--ready-listen', 'off', '--metrics-listen', 'off', '--log-format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`cannot listen on udp 127.0.0.1:${MDNS_PORT}: address already in use (EADDRINUSE); set another address with --listen HOST:PORT`);
  });

  it('an ops address in use names its flag, and how to turn the endpoint off', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--zones', 'zones', '--no-forwarding', '--metrics-listen', `127.0.0.1:${port}`, '--health-listen', 'off', '--ready-listen', 'off', '--log-format', 'json']);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain(`cannot listen for /metrics on 127.0.0.1:${port}: address already in use (EADDRINUSE); set another address with --metrics-listen HOST:PORT, or turn it off with --metrics-listen off`);
    } finally {
      blocker.close();
    }
  });
});
