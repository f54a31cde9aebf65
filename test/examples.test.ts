/** The SDK quickstart of docs/registry.md (examples/registry-quickstart.mjs) run as written, against real etcd and the DNS server. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { cleanEnv, startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

let etcd: EtcdCluster;
let server: ServerProcess;
const empty = tempZones({});

beforeAll(async () => {
  etcd = await startEtcd();
  server = await startServer(['--etcd', etcd.endpoints[0]!, '--etcd-zone', 'svc.example.test', '--zones', empty.dir]);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await etcd?.stop();
  empty.remove();
});

it('registry quickstart: registers, discovers, answers in DNS, and leaves DNS on SIGTERM', async () => {
  const script = fileURLToPath(new URL('../examples/registry-quickstart.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { env: { ...cleanEnv(), ETCD: etcd.endpoints[0] }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('registered /skydns/test/example/svc/payments/p1');
    expect(JSON.parse((await lines.next()).value as string)).toEqual({ instances: ['127.0.0.1:8443'], stale: false });
    const srv = await dig(server.port, ['payments.svc.example.test', 'SRV']);
    expect(srv.answer.map((a) => a.data)).toEqual(['10 100 8443 p1.payments.svc.example.test.']);
    expect(srv.additional.map((a) => a.data)).toEqual(['127.0.0.1']);
    process.kill(child.pid!, 'SIGTERM');
    await once(child, 'exit');
    expect((await dig(server.port, ['payments.svc.example.test', 'SRV'])).status).toBe('NXDOMAIN');
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }
}, 30_000);
