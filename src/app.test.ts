/**
 * A config mistake exits before the server opens anything: every ConfigError that needs a file
 * or the machine (zones directory, TSIG key files, --notify-key, etcd's TLS files, --udp-io
 * batch) is raised by
 * config/server-inputs.ts before runServer starts its first subsystem. Watched with async_hooks:
 * Node creates a resource for every socket, connection attempt and file watcher, so a start
 * that got as far as NOTIFY, zone files, etcd, forwarding, ops or DNS would show one.
 */
import { createHook } from 'node:async_hooks';
import { EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, tempConfigDir } from '../test/support/config.js';
import { tempZones } from '../test/support/zones.js';
import { runServer } from './app.js';
import { systemClock } from './clock.js';
import { WorkerLink } from './cluster/worker.js';
import { ConfigError } from './config/errors.js';
import { silentLogger } from './log.js';
import { resolveUdpIo } from './transport/server.js';

/** Resource types of sockets, connection attempts and file watchers (async_hooks docs, "type"). */
const OPENINGS = new Set(['TCPWRAP', 'TCPSERVERWRAP', 'TCPCONNECTWRAP', 'UDPWRAP', 'UDPSENDWRAP', 'GETADDRINFOREQWRAP', 'FSEVENTWRAP', 'STATWATCHER', 'HTTP2SESSION']);

/** The resource types created while `run` runs (and the microtasks it waits on). */
async function openingsDuring(run: () => Promise<unknown>): Promise<{ types: string[]; error: unknown }> {
  const types: string[] = [];
  const hook = createHook({ init: (_id, type) => void (OPENINGS.has(type) && types.push(type)) });
  hook.enable();
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  } finally {
    hook.disable();
  }
  return { types, error };
}

const KEY = 'k.test:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0';
const ZONE = '$ORIGIN a.test.\n$TTL 30\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';

describe('config errors exit before anything opens', () => {
  // A stand-in etcd endpoint that counts connection attempts (none may arrive).
  let etcd: Server;
  const connections: Socket[] = [];
  let base: string[];
  const zones = tempZones({ 'a.test.zone': ZONE });
  const files = tempConfigDir();

  beforeAll(async () => {
    etcd = createServer((socket) => connections.push(socket));
    etcd.listen(0, '127.0.0.1');
    await once(etcd, 'listening');
    const port = (etcd.address() as { port: number }).port;
    base = [
      '--listen', '127.0.0.1:0', '--health-listen', '127.0.0.1:0', '--ready-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0',
      '--etcd', `http://127.0.0.1:${port}`, '--etcd-zone', 'e.test', '--upstream', '127.0.0.1:9', '--lameduck', '0',
      '--notify', '127.0.0.1:9', '--tsig-key', KEY,
    ];
  });
  afterAll(async () => {
    for (const socket of connections) socket.destroy();
    etcd.close();
    zones.remove();
    files.remove();
  });

  const cases: [string, () => string[], ('https' | undefined)?][] = [
    ['--zones names a missing directory', () => ['--zones', `${zones.dir}/missing`]],
    ['--tsig-key-file is not a key file', () => ['--zones', zones.dir, '--tsig-key-file', files.file('bad.key', 'not a key file\n')]],
    ['--tsig-key-file holds a key --tsig-key defines too', () => ['--zones', zones.dir, '--tsig-key-file', files.file('dup.key', 'key "k.test" { algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"; };\n')]],
    ['--notify-key names no key', () => ['--zones', zones.dir, '--notify-key', 'other.test']],
    ['--update-policy grants a key the server does not have', () => ['--zones', zones.dir, '--update-policy', 'other.test subdomain e.test']],
    ['--update-lease-min longer than --update-lease-max', () => ['--zones', zones.dir, '--update-allow', '127.0.0.1', '--update-lease-min', '2h', '--update-lease-max', '1h']],
    // The stand-in endpoint over https://, as TLS files need.
    ['--etcd-ca names a file that is not PEM', () => ['--zones', zones.dir, '--etcd-ca', files.file('ca.pem', 'not a certificate\n')], 'https'],
  ];
  if (resolveUdpIo('batch').engine !== 'batch') cases.push(['--udp-io batch without the native engine', () => ['--zones', zones.dir, '--udp-io', 'batch']]);

  it.each(cases)('%s', async (what, args, scheme) => {
    const argv = [...base, ...args()].map((a) => (scheme && a.startsWith('http://') ? a.replace('http://', 'https://') : a));
    const config = loadConfig(argv);
    const { types, error } = await openingsDuring(() => runServer(config, silentLogger()));
    expect(error).toBeInstanceOf(ConfigError);
    // The message names the option (the first word of the case).
    expect((error as Error).message).toContain(what.split(' ')[0]);
    expect(types).toEqual([]);
    expect(connections).toHaveLength(0);
  });

  it('the same config without the mistake opens sockets, watchers and the etcd connection (the check above can see them)', async () => {
    const config = loadConfig([...base, '--zones', zones.dir]);
    let server: Awaited<ReturnType<typeof runServer>> | undefined;
    const { types, error } = await openingsDuring(async () => {
      server = await runServer(config, silentLogger());
    });
    try {
      expect(error).toBeUndefined();
      // UDP may go through the native engine (no Node resource); TCP listeners and the zone watcher always show.
      expect(types).toEqual(expect.arrayContaining(['TCPSERVERWRAP', 'FSEVENTWRAP']));
      if (connections.length === 0) await once(etcd, 'connection');
      expect(connections.length).toBeGreaterThan(0);
    } finally {
      await server?.close();
    }
  });
});

describe('readiness means serving', () => {
  const zones = tempZones({ 'a.test.zone': ZONE });
  afterAll(() => zones.remove());

  // A --workers worker reports readiness through its link, first from inside startOps, which
  // runs before the DNS listeners bind: a zone-files-only server's sources are ready by then,
  // so only the listeners can keep it from saying "ready" too early. The same check backs /ready.
  it('says ready only after every DNS listener is bound', async () => {
    const messages: { etcdns: string; ready?: boolean; reasons?: string[] }[] = [];
    const channel = Object.assign(new EventEmitter(), {
      connected: true,
      send(message: unknown, _handle?: undefined, _options?: undefined, callback?: (error: Error | null) => void): boolean {
        messages.push(message as (typeof messages)[number]);
        channel.emit('sent', message);
        callback?.(null);
        return true;
      },
    });
    const link = new WorkerLink(channel);
    const config = loadConfig(['--zones', zones.dir, '--listen', '127.0.0.1:0', '--lameduck', '0']);
    const server = await runServer(config, silentLogger(), systemClock, link);
    try {
      const isReadyMessage = (m: (typeof messages)[number]) => m.etcdns === 'readiness' && m.ready === true;
      // The link pushes readiness when it changes: right after "listening", else at its next poll.
      if (!messages.some(isReadyMessage)) await new Promise<void>((resolve) => channel.on('sent', (m: (typeof messages)[number]) => isReadyMessage(m) && resolve()));
      const listeningAt = messages.findIndex((m) => m.etcdns === 'listening');
      expect(listeningAt).toBeGreaterThanOrEqual(0);
      expect(messages.findIndex(isReadyMessage)).toBeGreaterThan(listeningAt);
      // Before: not ready, and why.
      expect(messages[0]).toMatchObject({ etcdns: 'readiness', ready: false, reasons: ['dns: listeners not bound yet'] });
    } finally {
      link.close();
      await server.close();
    }
  });
});
