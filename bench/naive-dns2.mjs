#!/usr/bin/env node
// The naive baseline for `npm run bench`: the simplest correct authoritative server an afternoon
// with dns2 gives. A Map from "name|TYPE" to prebuilt answer/additional records, a synchronous
// handler, AA set, NXDOMAIN for names we do not have (no SOA in AUTHORITY: that is the "naive" part).
//
// Usage: node bench/naive-dns2.mjs --port P --data records.json [--address 127.0.0.1]
// records.json: { "zone": "bench.test", "records": [ {name,type,ttl,...}, ... ] }
//   A:   { name, type: "A",   ttl, address }
//   SRV: { name, type: "SRV", ttl, priority, weight, port, target }
import { readFileSync } from 'node:fs';
import dns2 from 'dns2';

const { Packet } = dns2;

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const port = Number(arg('port', '5300'));
const address = arg('address', '127.0.0.1');
const data = JSON.parse(readFileSync(arg('data'), 'utf8'));

const canon = (n) => n.toLowerCase().replace(/\.$/, '');
const TYPE = { A: Packet.TYPE.A, SRV: Packet.TYPE.SRV };

// key "name|type" -> { answers: [...], additionals: [...] }
const table = new Map();
const names = new Set();
for (const r of data.records) {
  const name = canon(r.name);
  names.add(name);
  const key = `${name}|${TYPE[r.type]}`;
  let e = table.get(key);
  if (!e) table.set(key, (e = { answers: [], additionals: [] }));
  const rec = { type: TYPE[r.type], class: Packet.CLASS.IN, ttl: r.ttl };
  if (r.type === 'A') rec.address = r.address;
  else Object.assign(rec, { priority: r.priority, weight: r.weight, port: r.port, target: r.target });
  e.answers.push(rec);
}
// SRV targets' addresses go in ADDITIONAL, like a real authoritative server.
for (const [key, e] of table) {
  if (!key.endsWith(`|${Packet.TYPE.SRV}`)) continue;
  for (const srv of e.answers) {
    const t = table.get(`${canon(srv.target)}|${Packet.TYPE.A}`);
    if (t) for (const a of t.answers) e.additionals.push({ ...a, name: srv.target });
  }
}

const server = dns2.createServer({
  udp: true,
  tcp: true,
  handle(request, send) {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const q = request.questions[0];
    if (!q) {
      response.header.rcode = Packet.RCODE?.FORMERR ?? 1;
      return send(response);
    }
    const name = canon(q.name);
    const e = table.get(`${name}|${q.type}`);
    if (e) {
      for (const a of e.answers) response.answers.push({ ...a, name: q.name });
      for (const a of e.additionals) response.additionals.push(a);
    } else if (!names.has(name)) {
      response.header.rcode = 3; // NXDOMAIN
    }
    send(response);
  },
});
server.on('error', (err) => {
  console.error('naive-dns2 error:', err);
});
server.listen({ udp: { port, address }, tcp: { port, address } }).then(() => {
  console.log(`naive-dns2 listening on ${address}:${port} with ${table.size} RRsets`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
