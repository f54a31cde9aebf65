// Not part of the run: node bench/watch-decode.mjs. The lead of docs/performance.md "The cost of following
// one etcd change": what etcd3's decode of a one-put WatchResponse costs warm, against a hand-written
// decoder of what the mirror reads. A sketch for the measurement: its varints are doubles, so a 64-bit
// cluster_id loses precision; a real one would keep that field as a bigint or its bytes.
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const nm = fileURLToPath(new URL('../node_modules', import.meta.url));
const loader = require(path.join(nm, '@grpc/proto-loader'));
const def = loader.loadSync(path.join(nm, 'etcd3/proto/rpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const w = def['etcdserverpb.Watch'].Watch;
const msg = { header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '123456', raft_term: '2' }, watch_id: '0', events: [{ type: 'PUT', kv: { key: Buffer.from('/skydns/test/apply/n123'), create_revision: '1005', mod_revision: '123456', version: '57', value: Buffer.from('{"host":"10.1.2.3","port":8080}'), lease: '0' } }] };
const bytes = w.responseSerialize(msg);
function varint(b, p) { let x = 0, m = 1, c; do { c = b[p.i++]; x += (c & 127) * m; m *= 128; } while (c & 128); return x; }
function decodeKv(b, end, p) { const kv = { key: undefined, value: undefined, create: 0, mod: 0, version: 0, lease: 0 }; while (p.i < end) { const tag = varint(b, p); const f = tag >>> 3; if ((tag & 7) === 2) { const n = varint(b, p); const v = b.subarray(p.i, p.i + n); p.i += n; if (f === 1) kv.key = v; else if (f === 5) kv.value = v; } else { const v = varint(b, p); if (f === 2) kv.create = v; else if (f === 3) kv.mod = v; else if (f === 4) kv.version = v; else if (f === 6) kv.lease = v; } } return kv; }
function decode(b) { const p = { i: 0 }; const r = { revision: 0, cluster: 0, events: [] }; while (p.i < b.length) { const tag = varint(b, p); const f = tag >>> 3; if ((tag & 7) === 2) { const n = varint(b, p); const end = p.i + n; if (f === 1) { while (p.i < end) { const t = varint(b, p); const v = varint(b, p); if (t >>> 3 === 1) r.cluster = v; else if (t >>> 3 === 3) r.revision = v; } } else if (f === 11) { const ev = { type: 0, kv: undefined }; while (p.i < end) { const t = varint(b, p); if ((t & 7) === 2) { const m = varint(b, p); const e2 = p.i + m; if (t >>> 3 === 2) ev.kv = decodeKv(b, e2, p); p.i = e2; } else { const v = varint(b, p); if (t >>> 3 === 1) ev.type = v; } } r.events.push(ev); } p.i = end; } else varint(b, p); } return r; }
const a = w.responseDeserialize(bytes); const h = decode(bytes);
if (String(h.revision) !== a.header.revision || h.events[0].kv.key.toString() !== a.events[0].kv.key.toString() || String(h.events[0].kv.mod) !== a.events[0].kv.mod_revision) throw new Error('decoders disagree');
for (const [name, f] of [['etcd3/protobufjs deserialize', () => w.responseDeserialize(bytes)], ['hand decoder', () => decode(bytes)]]) {
  for (let r = 0; r < 3; r++) { const t = process.cpuUsage(); for (let i = 0; i < 200000; i++) f(); const u = process.cpuUsage(t); console.log(name, ((u.user + u.system) / 200000).toFixed(3), 'µs per WatchResponse of one put'); }
}
