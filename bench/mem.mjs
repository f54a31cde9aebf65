#!/usr/bin/env node
// Retained heap per key of the etcd mirror's bookkeeping and the SkyDNS index after one full
// list (issue 25): N keys of the initial-sync data set (etcd-tests.mjs) fed to MirrorCore.reset
// and SkyDnsIndex.apply in this process, then gc(). No etcd, no server: what the representation
// costs, without the noise of a loaded machine.
//
//   node --expose-gc bench/mem.mjs [N=100000] [DIST=dist]   (DIST: another checkout's dist/ for before/after)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ipOf } from './data.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('bench/mem.mjs: run with node --expose-gc');
  process.exit(2);
}
const n = Number(process.argv[2] ?? 100000);
const dist = pathToFileURL(resolve(process.argv[3] ?? 'dist')).href;
// How each build's mirror holds a listing: columns (ListedKvs), before that objects that are
// also the reset batch's puts (listedKv), before that plain key-values.
const { MirrorCore, ListedKvs, listedKv = (kv) => kv } = await import(`${dist}/etcd/mirror-core.js`);
const { SkyDnsIndex } = await import(`${dist}/sources/etcd/skydns-index.js`);
const heap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };

const before = heap();
// As the mirror lists them: key strings decoded from bytes (flat strings; a template literal
// would be a chain of concatenations, ~32 bytes more per key than the server holds), values as
// bytes (etcd-kv.ts rawKv).
const kvs = ListedKvs ? new ListedKvs() : [];
for (let i = 0; i < n; i++) {
  kvs.push(listedKv({ key: Buffer.from(`/skydns/test/sync/svc${Math.floor(i / 3)}/_tcp/_http/x${(i % 3) + 1}`).toString('utf8'), value: Buffer.from(JSON.stringify({ host: ipOf(i + 1), port: 8080 })), lease: undefined, modRevision: 2 + (i >> 7), version: 1 }));
}
const core = new MirrorCore();
const index = new SkyDnsIndex({ prefix: '/skydns', zones: ['sync.test'], defaultTtl: 10 });
const t0 = process.cpuUsage();
const puts = core.reset(kvs, 2 + (n >> 7));
index.apply({ reset: true, changes: puts, revision: 2 + (n >> 7) });
const cpu = process.cpuUsage(t0);
puts.length = 0;
if (Array.isArray(kvs)) kvs.length = 0; // (the build before 7318a71 left them in place)
const retained = heap() - before;
if (index.recordCount !== n) throw new Error(`${index.recordCount} records for ${n} keys`);
console.log(`${n} keys: ${Math.round(retained / n)} bytes per key retained (${(retained / 1048576).toFixed(0)} MiB), reset + index build ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`);
globalThis.keep = [core, index];
