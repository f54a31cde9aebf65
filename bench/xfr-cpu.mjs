// CPU per AXFR of the bench-xfr zone, A/B, in process: for each etcdns build (its root given,
// with dist/), a child process with that build's shipped Node flags loads transfer.mjs's 100k
// keys into the build's own etcd index (no etcd, no sockets), then runs its transfer stage
// (chain/transfer.ts: the zone read a name at a time, the records packed into messages) for one
// AXFR after another, and reports the CPU time (process.cpuUsage) of each. The builds alternate,
// a process each per round, so that drift in the machine's load falls on both alike; the
// figures are CPU time, not wall clock. What it leaves out: socket writes and the event loop
// (bench/transfer.mjs's server CPU per transfer has them). Each build's first AXFR (not timed)
// prints the sha256 of its messages: equal digests are the same octets.
//   node bench/xfr-cpu.mjs [--rounds 4] [--transfers 8] ROOT_A ROOT_B ...
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './lib.mjs';
import { shippedNodeFlags } from './servers.mjs';
import { ipOf } from './data.mjs';
import { XFR_KEYS, XFR_ZONE, keyOf, valueOf } from './transfer.mjs';

const { values: o, positionals: roots } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '4' }, transfers: { type: 'string', default: '8' }, child: { type: 'boolean', default: false } },
});
if (roots.length === 0) throw new Error('usage: node bench/xfr-cpu.mjs [--rounds N] [--transfers N] ROOT...');

if (o.child) {
  const root = roots[0];
  const dist = (f) => import(join(root, 'dist', f));
  const { SkyDnsIndex } = await dist('sources/etcd/skydns-index.js');
  const { transfer } = await dist('chain/transfer.js');
  const { decodeQuery } = await dist('wire/query.js');
  const { Snapshot } = await dist('table/snapshot.js');
  const index = new SkyDnsIndex({ prefix: '/skydns', zones: [XFR_ZONE], defaultTtl: 10, onInvalid: () => {}, onValid: () => {} });
  const changes = [];
  for (let i = 0; i < XFR_KEYS; i++) changes.push({ type: 'put', key: keyOf(i), value: Buffer.from(valueOf(ipOf(i + 1))), modRevision: 100 });
  index.apply({ reset: true, changes, revision: 100 });
  const snapshot = new Snapshot(index.zones, 1);
  // The AXFR question as dig sends it (no EDNS).
  const labels = XFR_ZONE.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const message = Buffer.concat([Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 252, 0, 1])]);
  const quiet = { warn() {}, info() {}, debug() {}, error() {} };
  const handler = transfer({ snapshot: () => snapshot, journal: { plan: () => undefined }, allowedNetworks: { allows: () => true }, nowSeconds: () => Date.now() / 1000, logger: quiet })(() => null);
  const once = async (hash) => {
    const request = { decoded: decodeQuery(message), message, transport: 'tcp', remoteAddress: '127.0.0.1', advertisedUdpSize: 1232, maxSize: 65535 };
    const reply = handler(request);
    let messages = 0, bytes = 0;
    for (let n = await reply.messages.next(); !n.done; n = await reply.messages.next()) { messages++; bytes += n.value.length; hash?.update(n.value); }
    return { messages, bytes };
  };
  // The apex's aggregate is memoised in the view by the first one, as in a server. Its messages'
  // digest (not timed) says whether two builds send the same octets.
  const hash = createHash('sha256');
  const first = { ...(await once(hash)), sha256: hash.digest('hex').slice(0, 16) };
  const cpuMs = [];
  for (let r = 0; r < Number(o.transfers); r++) {
    const c0 = process.cpuUsage();
    await once();
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  console.log(JSON.stringify({ ...first, cpuMs }));
} else {
  const self = fileURLToPath(import.meta.url);
  const all = new Map(roots.map((r) => [r, []]));
  for (let round = 0; round < Number(o.rounds); round++) {
    for (const root of round % 2 ? [...roots].reverse() : roots) {
      const cli = join(root, 'dist/cli/main.js');
      const r = spawnSync(process.execPath, [...shippedNodeFlags(cli), self, '--child', '--transfers', o.transfers, root], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${root}: ${r.stderr}`);
      const x = JSON.parse(r.stdout.trim().split('\n').at(-1));
      all.get(root).push(...x.cpuMs);
      console.log(`round ${round + 1} ${root}: ${x.messages} messages, ${x.bytes} bytes, sha256 ${x.sha256}; CPU ms per AXFR ${x.cpuMs.map((v) => v.toFixed(0)).join(' ')}`);
    }
  }
  const med = roots.map((r) => median(all.get(r)));
  for (const [i, r] of roots.entries()) console.log(`${r}: median ${med[i].toFixed(1)} ms, min ${Math.min(...all.get(r)).toFixed(1)} ms CPU per AXFR${i > 0 ? `; ${roots[0]} ÷ this: ${(med[0] / med[i]).toFixed(3)}` : ''}`);
}
