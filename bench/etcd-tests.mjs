// The measurements that need etcd: propagation (put → new answer served) and initial sync
// (time to ready and memory of a fresh etcdns with 10k…1M keys).
import { createSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLK_TCK, cpuTicks, die, memory, pct, round, sleep, state, stop } from './lib.mjs';
import { ZONE, ipOf } from './data.mjs';
import { SHIPPED_NODE_FLAGS, etcdLoad, startEtcdns } from './servers.mjs';
import { dig } from './check.mjs';

// ---------- propagation ----------
/** One A query over UDP; resolves to the answer's addresses, or null after 200 ms. */
function queryA(sock, port, name, id) {
  const labels = name.split('.');
  const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4);
  q.writeUInt16BE(id, 0); q.writeUInt16BE(0, 2); q.writeUInt16BE(1, 4);
  let off = 12;
  for (const l of labels) { q[off++] = l.length; q.write(l, off, 'ascii'); off += l.length; }
  q[off++] = 0; q.writeUInt16BE(1, off); q.writeUInt16BE(1, off + 2);
  return new Promise((res) => {
    const t = setTimeout(() => { sock.removeListener('message', on); res(null); }, 200);
    function on(msg) {
      if (msg.readUInt16BE(0) !== id) return;
      clearTimeout(t); sock.removeListener('message', on);
      // Collect A rdata from the answer section (names are compressed pointers or labels).
      const an = msg.readUInt16BE(6);
      let p = 12;
      const skipName = () => { while (true) { const len = msg[p]; if (len === 0) { p++; return; } if ((len & 0xc0) === 0xc0) { p += 2; return; } p += len + 1; } };
      skipName(); p += 4;
      const ips = [];
      for (let i = 0; i < an; i++) { skipName(); const type = msg.readUInt16BE(p); const rdlen = msg.readUInt16BE(p + 8); p += 10; if (type === 1 && rdlen === 4) ips.push(`${msg[p]}.${msg[p + 1]}.${msg[p + 2]}.${msg[p + 3]}`); p += rdlen; }
      res(ips);
    }
    sock.on('message', on);
    sock.send(q, port, '127.0.0.1');
  });
}

/** `puts` puts of one key, each with a new address; time until etcdns-etcd answers with it. */
export async function measurePropagation(etcd, srv, puts) {
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const key = '/skydns/test/bench/prop/x1';
  const name = `prop.${ZONE}`;
  const total = [], ack = [];
  let id = 1, timeouts = 0;
  for (let i = 0; i < puts; i++) {
    const ip = `10.250.${(i >> 8) & 255}.${i & 255}`;
    const t0 = performance.now();
    const putDone = etcd.put(key).value(JSON.stringify({ host: ip, port: 8080 })).then(() => performance.now() - t0);
    let seen = false;
    while (performance.now() - t0 < 5000) {
      const ips = await queryA(sock, srv.port, name, (id = (id + 1) & 0xffff));
      if (ips && ips.includes(ip)) { seen = true; break; }
    }
    const dt = performance.now() - t0;
    ack.push(await putDone);
    if (seen) total.push(dt); else timeouts++;
  }
  sock.close();
  await etcd.delete().key(key);
  total.sort((a, b) => a - b); ack.sort((a, b) => a - b);
  return { puts, seen: total.length, timeouts, p50Ms: round(pct(total, 50), 3), p99Ms: round(pct(total, 99), 3), maxMs: round(total.at(-1), 3),
    etcdPutAckP50Ms: round(pct(ack, 50), 3), etcdPutAckP99Ms: round(pct(ack, 99), 3),
    method: 'time from issuing the etcd put to the first UDP answer (polled back-to-back) containing the new address' };
}

// ---------- initial sync ----------
/** Key i of a sync data set: the benchmark's shape, under its own prefix and zone sync.test. */
const syncKey = (prefix, i) => `${prefix}/test/sync/svc${Math.floor(i / 3)}/_tcp/_http/x${(i % 3) + 1}`;
const syncName = (i) => `x${(i % 3) + 1}._http._tcp.svc${Math.floor(i / 3)}.sync.test`;

/**
 * For each size (0 = Node start-up baseline): load the keys into etcd, start a fresh etcdns on
 * them, and record spawn → /ready, RSS and peak RSS 1 s after ready, and whether the last key is
 * answered. etcdns must page its range reads: 1M keys in one response exceed gRPC's 4 MiB default.
 */
export async function measureSync(etcd, etcdUrl, cli, sizes) {
  const out = [];
  const emptyDir = join(state.tmp, 'empty-zones');
  mkdirSync(emptyDir, { recursive: true });
  // 100k again with Node's default flags: what the shipped young-generation flags save.
  const runs = [0, ...sizes].flatMap((size) => (size === 100000 ? [[size, SHIPPED_NODE_FLAGS], [size, []]] : [[size, SHIPPED_NODE_FLAGS]]));
  for (const [size, nodeFlags] of runs) {
    const prefix = `/sync${size}`;
    const l0 = performance.now();
    await etcdLoad(etcd, size, (i) => [syncKey(prefix, i), JSON.stringify({ host: ipOf(i + 1), port: 8080 })]);
    const loadMs = performance.now() - l0;
    const srv = await startEtcdns(`etcdns-sync-${size}`, cli, { zonesDir: emptyDir, etcdUrl, prefix, zone: 'sync.test', nodeFlags });
    // CPU (utime+stime, all threads) spent to /ready: on a shared box steadier than the wall time.
    const cpuToReadyMs = Math.round((cpuTicks(srv.pid) / CLK_TCK) * 1000);
    await sleep(1000);
    const mem = memory(srv.pid);
    let check = 'n/a';
    if (size) {
      const d = dig(srv.port, syncName(size - 1), 'A');
      const got = d.answer.map((r) => r.rdata);
      check = d.status === 'NOERROR' && got.length === 1 && got[0] === ipOf(size) ? 'ok' : `WRONG: ${d.status} ${JSON.stringify(got)}`;
    }
    await stop(srv.child);
    if (size && check !== 'ok') die(`initial sync of ${size} keys: the last key is answered wrongly (${check}); see ${srv.child.logFile}`);
    const row = { keys: size, nodeFlags: nodeFlags.join(' ') || '(node defaults)', etcdLoadMs: Math.round(loadMs), spawnToReadyMs: Math.round(srv.readyMs), cpuToReadyMs, rssMiB: round(mem.rss / 1024, 1), peakRssMiB: round(mem.hwm / 1024, 1), lastKeyAnswered: check };
    console.log(`  sync ${String(size).padStart(7)} keys${nodeFlags.length ? '' : ' (node defaults)'}: spawn→/ready ${row.spawnToReadyMs} ms (CPU ${row.cpuToReadyMs} ms), RSS ${row.rssMiB} MiB (peak ${row.peakRssMiB} MiB), last key ${check}  [etcd load ${row.etcdLoadMs} ms]`);
    out.push(row);
    await etcd.delete().prefix(prefix);
  }
  return out;
}
