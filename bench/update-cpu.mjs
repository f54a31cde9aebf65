// CPU per DNS UPDATE, A/B: etcdns builds (their roots given, each with dist/) run side by side on
// one etcd, and take, in alternating rounds, the same number of TSIG-signed UPDATEs paced at a
// fixed rate (bench/update.mjs's message: replace one name's A record); per round the CPU time
// (utime+stime from /proc) of the etcdns that took them, and of etcd, divided by the UPDATEs.
// CPU time, not wall clock, so that the figures hold on a shared machine; alternating rounds,
// so that drift in the machine's load falls on both builds alike. Each round also puts as many
// values outside /skydns at the same rate (the bench's control: etcd's CPU per plain put).
//   node bench/update-cpu.mjs [--rounds 6] [--count 1000] [--rate 200] [--cpu-prof DIR] ROOT_A ROOT_B ...
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { cleanup, cpuMsPer, median, onSchedule, state, stop } from './lib.mjs';
import { paths, shippedNodeFlags, startEtcd, startEtcdns } from './servers.mjs';
import { CHURN_PREFIX, CHURN_ZONE, CONTROL_PREFIX, seedChurn } from './churn.mjs';
import { UPDATE_SERVER_ARGS, updateClient, wireCode } from './update.mjs';

const { values: o, positionals: roots } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '6' }, count: { type: 'string', default: '1000' }, rate: { type: 'string', default: '200' }, 'cpu-prof': { type: 'string' } },
});
if (roots.length === 0) throw new Error('usage: node bench/update-cpu.mjs [--rounds N] [--count N] [--rate N] [--cpu-prof DIR] ROOT...');
const [rounds, count, rate] = [Number(o.rounds), Number(o.count), Number(o.rate)];
const NAMES = 100;
const address = () => [10, 201, Math.floor(Math.random() * 256), 1 + Math.floor(Math.random() * 254)];

/** `n` UPDATEs at `rate`/s (as bench/update.mjs's paced writer), each to one of NAMES names. */
async function paced(client, n) {
  const rcodes = {};
  await onSchedule(n, rate, (i) => client.send(`k${i % NAMES}.${CHURN_ZONE}`, address()).then((rcode) => {
    rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
  }));
  return rcodes;
}

state.tmp = mkdtempSync(join(tmpdir(), 'etcdns-update-cpu-'));
process.on('exit', () => cleanup());
const etcd = await startEtcd();
const client = new Etcd3({ hosts: etcd.url });
await seedChurn(client);
const zonesDir = join(state.tmp, 'zones');
mkdirSync(zonesDir);
const servers = [];
for (const [i, root] of roots.entries()) {
  const cli = paths(root).cli;
  const nodeFlags = [...shippedNodeFlags(cli), ...(o['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(o['cpu-prof'], String(i))] : [])];
  const srv = await startEtcdns(`etcdns-${i}`, cli, { zonesDir, etcdUrl: etcd.url, zone: CHURN_ZONE, extra: UPDATE_SERVER_ARGS, nodeFlags });
  const c = updateClient(srv.port, await wireCode(root));
  servers.push({ root, srv, client: c, etcdns: [], etcd: [] });
  await paced(c, NAMES); // every name exists, the JIT warmed
}
const control = [];
const watched = [];
/**
 * `n` puts at `rate`/s under `prefix`: the CPU per put of etcd and of each etcdns (outside
 * /skydns, the bench's control: etcdns sees none; under /skydns, the churn step: every replica
 * mirrors each put, and etcd sends it to each).
 */
async function paceDirectPuts(n, prefix) {
  const pids = [etcd.child.pid, ...servers.map((s) => s.srv.pid)];
  // etcd3's put is a builder: sent when exec()uted.
  return cpuMsPer(n, pids, () => onSchedule(n, rate, (i) => client.put(`${prefix}/k${i % NAMES}`).value(JSON.stringify({ host: address().join('.'), port: 8080 })).exec()));
}
for (let r = 0; r < rounds; r++) {
  control.push(await paceDirectPuts(count, CONTROL_PREFIX));
  watched.push(await paceDirectPuts(count, CHURN_PREFIX));
  console.log(`round ${r + 1} puts outside /skydns: CPU per put etcd ${control.at(-1)[0]} ms; under /skydns (mirrored): etcd ${watched.at(-1)[0]} ms, each etcdns ${watched.at(-1).slice(1).join(', ')} ms`);
  for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
    let rcodes;
    const [etcdnsMs, etcdMs] = await cpuMsPer(count, [s.srv.pid, etcd.child.pid], async () => (rcodes = await paced(s.client, count)));
    s.etcdns.push(etcdnsMs);
    s.etcd.push(etcdMs);
    console.log(`round ${r + 1} ${s.root}: CPU per UPDATE etcdns ${etcdnsMs} ms, etcd ${etcdMs} ms; rcodes ${JSON.stringify(rcodes)}`);
  }
}
console.log(`median puts: outside /skydns etcd ${median(control.map((c) => c[0]))} ms; under /skydns etcd ${median(watched.map((c) => c[0]))} ms, etcdns ${servers.map((_, i) => median(watched.map((c) => c[i + 1]))).join(', ')} ms per put (${rounds} rounds of ${count} at ${rate}/s)`);
for (const s of servers) console.log(`median ${s.root}: etcdns ${median(s.etcdns)} ms, etcd ${median(s.etcd)} ms per UPDATE (${rounds} rounds of ${count} at ${rate}/s)`);
for (const s of servers) s.client.close();
client.close();
for (const s of servers) await stop(s.srv.child);
await stop(etcd.child);
