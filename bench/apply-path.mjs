// The apply path alone, in process (no etcd, no sockets, no load noise): a zone of N names
// listed once, then K batches of one put each (one name's new address, as a watch delivers
// them at a low rate) through the SkyDNS index, the record table swap and the IXFR journal's
// listener, as the server wires them; CPU time per change (process.cpuUsage), warm, and the
// heap grown over the measured changes (garbage included: no GC forced after). What bench/apply-cpu.mjs measures end to end includes this.
//   node --expose-gc bench/apply-path.mjs [NAMES=1000] [CHANGES=20000] [DIST=dist]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [names = 1000, changes = 20000] = process.argv.slice(2, 4).map(Number);
const dist = pathToFileURL(resolve(process.argv[4] ?? 'dist')).href;
const { SkyDnsIndex } = await import(`${dist}/sources/etcd/skydns-index.js`);
const { RecordTable } = await import(`${dist}/table/table.js`);
const { TransferJournal } = await import(`${dist}/transfer/journal.js`);

const PREFIX = '/skydns';
const key = (i) => `${PREFIX}/test/apply/n${i}`;
const value = (i) => new TextEncoder().encode(JSON.stringify({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${1 + (i % 250)}`, port: 8080 }));
const index = new SkyDnsIndex({ prefix: PREFIX, zones: ['apply.test'], defaultTtl: 300 });
const table = new RecordTable({ sources: ['zonefiles', 'etcd'] });
const journal = new TransferJournal({ maxEntries: 0, maxBytes: 1 << 20 });
table.onSwap((s) => journal.observe(s), 'ixfr-journal');
let revision = 1;
const put = (i) => ({ type: 'put', key: key(i), value: value(i + revision), lease: undefined, leaseTtl: undefined, modRevision: ++revision });
table.publish('etcd', index.apply({ reset: true, changes: Array.from({ length: names }, (_, i) => put(i)), revision }));
// The batches are made before the clock starts: the mirror's decoding is not measured here.
const batches = Array.from({ length: changes }, (_, i) => ({ reset: false, changes: [put((i * 7919) % names)], revision }));
for (const b of batches) b.revision = b.changes[0].modRevision;
const run = (from, to) => {
  for (let i = from; i < to; i++) table.publish('etcd', index.apply(batches[i]));
};
run(0, changes / 4); // warm-up
globalThis.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const t0 = process.cpuUsage();
run(changes / 4, changes);
const cpu = process.cpuUsage(t0);
const n = changes - changes / 4;
console.log(`${dist}: ${((cpu.user + cpu.system) / n).toFixed(2)} µs CPU per one-put batch (index apply + table swap + journal), zone of ${names} names, ${n} changes; heap ${((process.memoryUsage().heapUsed - heap0) / 1024 / 1024).toFixed(1)} MB after`);
