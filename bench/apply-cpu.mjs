// CPU per mirrored etcd change, A/B: etcdns builds (their roots given, each with dist/) run side
// by side on one etcd that holds a zone of --names names (one address key each), and every
// round puts --count single keys under it, paced at --rate/s, each replacing one name's value;
// every build mirrors every put, so all of them pay in the same round, under the same load.
// Per round and build: the CPU time (utime+stime from /proc) that etcdns used, divided by the
// puts. No queries: this is what following a change costs (watch decode, mirror, index, record
// table swap, reply-cache invalidation, metrics). CPU time, not wall clock, on a shared box.
//   node bench/apply-cpu.mjs [--rounds 6] [--count 2000] [--rate 200] [--names 1000] [--cpu-prof DIR] ROOT_A ROOT_B ...
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { CLK_TCK, cleanup, cpuMsPer, cpuTicks, median, onSchedule, round, sleep, state, stop } from './lib.mjs';
import { etcdLoad, paths, shippedNodeFlags, startEtcd, startEtcdns } from './servers.mjs';

const { values: o, positionals: roots } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '6' },
    count: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '200' },
    names: { type: 'string', default: '1000' },
    'cpu-prof': { type: 'string' },
  },
});
if (roots.length === 0) throw new Error('usage: node bench/apply-cpu.mjs [--rounds N] [--count N] [--rate N] [--names N] [--cpu-prof DIR] ROOT...');
const [rounds, count, rate, names] = [Number(o.rounds), Number(o.count), Number(o.rate), Number(o.names)];
const ZONE = 'apply.test';
const PREFIX = '/skydns/test/apply';
const key = (i) => `${PREFIX}/n${i}`;
const value = () => JSON.stringify({ host: `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`, port: 8080 });

state.tmp = mkdtempSync(join(tmpdir(), 'etcdns-apply-cpu-'));
process.on('exit', () => cleanup());
const etcd = await startEtcd();
const client = new Etcd3({ hosts: etcd.url });
await etcdLoad(client, names, (i) => [key(i), value()]);
const zonesDir = join(state.tmp, 'zones');
mkdirSync(zonesDir);
const servers = [];
for (const [i, root] of roots.entries()) {
  const cli = paths(root).cli;
  const nodeFlags = [...shippedNodeFlags(cli), ...(o['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(o['cpu-prof'], String(i))] : [])];
  servers.push({ root, srv: await startEtcdns(`etcdns-${i}`, cli, { zonesDir, etcdUrl: etcd.url, zone: ZONE, metrics: true, nodeFlags }), ms: [] });
}

/** `n` puts at `rate`/s, each to one of the zone's names at random; CPU ms per put of etcd and each etcdns. */
async function pacedPuts(n) {
  const pids = [etcd.child.pid, ...servers.map((s) => s.srv.pid)];
  return cpuMsPer(n, pids, async () => {
    await onSchedule(n, rate, () => client.put(key(Math.floor(Math.random() * names))).value(value()).exec());
    await sleep(200); // the last changes mirrored (CPU time only grows; a late one counts in the next round)
  }, 4);
}

await pacedPuts(Math.min(count, 500)); // JIT warm-up, not counted
{
  // What each etcdns burns with nothing to do (timers, the lag probe), for scale: per second.
  const t0s = servers.map((s) => cpuTicks(s.srv.pid));
  const seconds = Math.max(2, Math.min(10, count / rate));
  await sleep(seconds * 1000);
  console.log(`idle: CPU ${servers.map((s, i) => `${s.root} ${round((((cpuTicks(s.srv.pid) - t0s[i]) / CLK_TCK) * 1000) / seconds, 2)} ms/s`).join(', ')} (${seconds} s, no puts)`);
}
const etcdMs = [];
for (let r = 0; r < rounds; r++) {
  const [e, ...per] = await pacedPuts(count);
  etcdMs.push(e);
  per.forEach((ms, i) => servers[i].ms.push(ms));
  const base = per[0];
  console.log(`round ${r + 1}: CPU per mirrored put: ${servers.map((s, i) => `${s.root} ${per[i]} ms (÷first ${round(per[i] / base, 3)})`).join(', ')}; etcd ${e} ms`);
}
const first = servers[0].ms;
for (const s of servers) {
  const ratios = s.ms.map((ms, r) => ms / first[r]).sort((a, b) => a - b);
  console.log(`median ${s.root}: ${round(median(s.ms), 4)} ms per mirrored put (${rounds} rounds of ${count} puts at ${rate}/s, zone of ${names} names); per-round ratio to ${servers[0].root}: median ${round(median(ratios), 3)}, range ${round(ratios[0], 3)}-${round(ratios.at(-1), 3)}`);
}
client.close();
for (const s of servers) await stop(s.srv.child);
await stop(etcd.child);
