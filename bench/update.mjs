// DNS UPDATE (RFC 2136) through one etcdns replica, TSIG-signed, built with the project's own wire
// code (dist/): how many UPDATEs per second it sustains with several in flight, beside etcd's own
// put rate at the same concurrency from the same machine; then zone-file q/s while 100 UPDATEs/s
// go in, against the churn step's control (the same etcd write rate outside /skydns, which etcdns
// never sees) measured in the same rounds on the same process, and during 100 UPDATEs/s sent
// to a second replica instead (what the UPDATEs cost the machine rather than the replica).
//
// Each UPDATE replaces one name's A record: "delete the A RRset" (class ANY, RFC 2136 §2.5.2) and
// "add this A" in one message, i.e. one etcd transaction (the records read from the replica's
// mirror, src/update/writer.ts), and the reply waits until this replica serves the revision
// written (read your write).
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CLK_TCK, cpuTicks, die, median, pct, ratio, round, sleep } from './lib.mjs';
import { NAME_WIDTH, formatRun, runDnsperf } from './dnsperf.mjs';
import { CHURN_PREFIX, CHURN_ZONE, CONTROL_PREFIX, startWriter } from './churn.mjs';
import { dig } from './check.mjs';

/** The TSIG key the UPDATEs are signed with; the server is started with it and a grant for CHURN_ZONE. */
const KEY = { name: 'bench-update', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
export const UPDATE_SERVER_ARGS = ['--tsig-key', `${KEY.name}:${KEY.algorithm}:${KEY.secret}`, '--update-policy', `${KEY.name} subdomain ${CHURN_ZONE}`];
/** Names the paced writer replaces, at random (the churn writer's count). */
const PACED_NAMES = 100;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const randomAddress = () => [10, 201, Math.floor(Math.random() * 256), 1 + Math.floor(Math.random() * 254)];

/** The built wire code: MessageWriter, signRequest, the parsed key. */
export async function wireCode(root) {
  const load = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const [{ MessageWriter }, { signRequest }, { parseTsigKeySpec }] = await Promise.all([load('wire/writer.js'), load('wire/tsig.js'), load('dns/tsig-key.js')]);
  return { MessageWriter, signRequest, key: parseTsigKeySpec(`${KEY.name}:${KEY.algorithm}:${KEY.secret}`) };
}

/**
 * A UDP client of one socket with many UPDATEs in flight, matched to their replies by ID. Each
 * message is signed when sent (its own time and MAC, so the server's replay check passes it).
 */
export function updateClient(port, wire) {
  const socket = createSocket('udp4');
  const pending = new Map();
  let nextId = 0;
  socket.on('message', (msg) => {
    const p = pending.get(msg.readUInt16BE(0));
    if (!p) return;
    pending.delete(msg.readUInt16BE(0));
    clearTimeout(p.timer);
    p.resolve(msg[3] & 0xf);
  });
  const build = (id, name, address) => {
    const w = new wire.MessageWriter(128);
    for (const n of [id, 5 << 11, 1, 0, 2, 0]) w.u16(n); // opcode UPDATE; ZOCOUNT 1, UPCOUNT 2
    w.name(CHURN_ZONE); w.u16(6); w.u16(1); // zone section: the zone's SOA, class IN
    w.name(name); w.u16(1); w.u16(255); w.u32(0); w.u16(0); // delete the A RRset
    w.name(name); w.u16(1); w.u16(1); w.u32(300); w.u16(4); w.bytes(Uint8Array.from(address)); // add one A
    return wire.signRequest(w.toBuffer(), wire.key, Date.now() / 1000).message;
  };
  return {
    /** Resolves with the reply's RCODE, or -1 after `timeoutMs` without one. */
    send(name, address, timeoutMs = 5000) {
      do nextId = (nextId + 1) & 0xffff; while (pending.has(nextId));
      const id = nextId;
      return new Promise((resolve) => {
        const timer = setTimeout(() => { pending.delete(id); resolve(-1); }, timeoutMs);
        pending.set(id, { resolve, timer });
        socket.send(build(id, name, address), port, '127.0.0.1');
      });
    },
    close: () => socket.close(),
  };
}

const countRcode = (counts, rcode) => { const k = RCODES[rcode] ?? (rcode < 0 ? 'timeout' : String(rcode)); counts[k] = (counts[k] ?? 0) + 1; };

/**
 * `inFlight` loops, each replacing a name of its own (no two in flight touch one name), for
 * `seconds`; with the CPU time the processes `pids` spent per request (ms), from /proc.
 */
async function saturate(send, inFlight, seconds, pids) {
  const ticks0 = pids.map(cpuTicks);
  const deadline = performance.now() + seconds * 1000;
  const latencies = [];
  const rcodes = {};
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async (_, i) => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const rcode = await send(i);
      countRcode(rcodes, rcode);
      if (rcode === 0) latencies.push(performance.now() - started);
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const cpuMs = pids.map((pid, i) => round((((cpuTicks(pid) - ticks0[i]) / CLK_TCK) * 1000) / Math.max(1, latencies.length), 2));
  latencies.sort((a, b) => a - b);
  return { perSec: round(latencies.length / wall, 1), p50Ms: round(pct(latencies, 50), 2), p99Ms: round(pct(latencies, 99), 2), rcodes, cpuMs };
}

/** UPDATEs at `rate`/s for `seconds` on a fixed schedule (at most 64 in flight), as the churn step's writer puts. */
async function pacedUpdates(client, rate, seconds) {
  const total = Math.round(rate * seconds);
  const pending = new Set();
  const rcodes = {};
  let done = 0;
  const t0 = performance.now();
  let lastAt = t0;
  for (let issued = 0; issued < total; issued++) {
    const due = t0 + (issued * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    while (pending.size >= 64) await Promise.race(pending);
    const p = client.send(`k${Math.floor(Math.random() * PACED_NAMES)}.${CHURN_ZONE}`, randomAddress()).then((rcode) => {
      countRcode(rcodes, rcode);
      if (rcode === 0) { done++; lastAt = performance.now(); }
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  return { targetRate: rate, issued: total, done, achievedRate: round(done / ((lastAt - t0) / 1000), 1), rcodes };
}

const PHASES = ['quiet', 'update', 'elsewhere', 'control'];

/**
 * The update step against `srv` (etcdns serving the zone file and CHURN_ZONE from etcd, started
 * with UPDATE_SERVER_ARGS; `other`, a second such replica): per round, the UPDATE and etcd put
 * rates at `inFlight`, then dnsperf over the zone-file questions to `srv` quiet / during `rate`
 * UPDATEs/s to it / during `rate` UPDATEs/s to `other` / during `rate` etcd puts/s outside
 * /skydns (phase order rotating). Returns the runs and the medians.
 */
export async function runUpdateStep(root, etcd, srv, other, { load, rounds, rate, inFlight, seconds, etcdPid }) {
  const wire = await wireCode(root);
  const client = updateClient(srv.port, wire);
  const otherClient = updateClient(other.port, wire);
  const runs = { updates: [], puts: [], quiet: [], update: [], elsewhere: [], control: [] };
  try {
    // Every in-flight slot's name exists before the first timed UPDATE (its first one only adds).
    await Promise.all(Array.from({ length: inFlight }, (_, i) => client.send(`u${i}.${CHURN_ZONE}`, randomAddress())));
    for (let r = 0; r < rounds; r++) {
      const updates = await saturate((i) => client.send(`u${i}.${CHURN_ZONE}`, randomAddress()), inFlight, seconds, [srv.pid, etcdPid]);
      const puts = await saturate(async (i) => {
        try { await etcd.put(`${CONTROL_PREFIX}/u${i}`).value(JSON.stringify({ host: randomAddress().join('.'), port: 8080 })); return 0; } catch { return 2; }
      }, inFlight, seconds, [etcdPid]);
      runs.updates.push(updates);
      runs.puts.push(puts);
      console.log(`  round ${r + 1}/${rounds} ${inFlight} in flight, ${seconds} s: ${updates.perSec} UPDATEs/s (p50 ${updates.p50Ms} ms, p99 ${updates.p99Ms} ms, ${JSON.stringify(updates.rcodes)}; CPU per UPDATE: etcdns ${updates.cpuMs[0]} ms, etcd ${updates.cpuMs[1]} ms); etcd ${puts.perSec} puts/s (p50 ${puts.p50Ms} ms, p99 ${puts.p99Ms} ms; etcd CPU per put ${puts.cpuMs[0]} ms)`);
      if (Object.keys(updates.rcodes).some((k) => k !== 'NOERROR')) die(`UPDATEs to ${srv.name} were not all NOERROR: ${JSON.stringify(updates.rcodes)}; see ${srv.child.logFile}`);
      for (const phase of PHASES.map((_, i) => PHASES[(i + r) % PHASES.length])) {
        const writers = { update: () => pacedUpdates(client, rate, load.duration), elsewhere: () => pacedUpdates(otherClient, rate, load.duration), control: () => startWriter(etcd, rate, load.duration, CONTROL_PREFIX) };
        const writer = writers[phase]?.() ?? null;
        const [etcd0, other0] = [cpuTicks(etcdPid), cpuTicks(other.pid)];
        const t0 = performance.now();
        const res = await runDnsperf(srv, load, `update-${srv.name}-${phase}-${r}`);
        const pctOf = (ticks) => round(((ticks / CLK_TCK) * 100000) / (performance.now() - t0), 0);
        res.etcdCpuPct = pctOf(cpuTicks(etcdPid) - etcd0);
        res.otherCpuPct = pctOf(cpuTicks(other.pid) - other0);
        if (writer) res.writer = await writer;
        runs[phase].push(res);
        const w = `  etcd CPU ${res.etcdCpuPct}%, ${other.name} CPU ${res.otherCpuPct}%${res.writer ? `  writer ${res.writer.achievedRate} ${phase === 'control' ? 'puts' : 'UPDATEs'}/s${res.writer.rcodes ? ` ${JSON.stringify(res.writer.rcodes)}` : ''}` : ''}`;
        console.log(`  round ${r + 1}/${rounds} ${srv.name.padEnd(NAME_WIDTH)} ${phase.padEnd(7)} ${formatRun(res)}${w}`);
        await sleep(500);
      }
      // The UPDATEs reached the zone: one more, then the same replica answers it (read your write).
      const address = randomAddress();
      if ((await client.send(`final.${CHURN_ZONE}`, address)) !== 0 || !dig(srv.port, `final.${CHURN_ZONE}`, 'A').answer.some((a) => a.rdata === address.join('.'))) {
        die(`${srv.name} did not take or answer an UPDATE of final.${CHURN_ZONE} A ${address.join('.')}; see ${srv.child.logFile}`);
      }
    }
  } finally {
    client.close();
    otherClient.close();
    await etcd.delete().prefix(`${CHURN_PREFIX}/`);
    await etcd.delete().prefix(`${CONTROL_PREFIX}/`);
  }
  const m = (rs, f) => median(rs.map(f));
  const summary = {
    inFlight, seconds,
    updatesPerSec: round(m(runs.updates, (x) => x.perSec), 1), updateLatencyP50Ms: round(m(runs.updates, (x) => x.p50Ms), 2), updateLatencyP99Ms: round(m(runs.updates, (x) => x.p99Ms), 2),
    etcdnsCpuMsPerUpdate: round(m(runs.updates, (x) => x.cpuMs[0]), 2), etcdCpuMsPerUpdate: round(m(runs.updates, (x) => x.cpuMs[1]), 2),
    etcdPutsPerSec: round(m(runs.puts, (x) => x.perSec), 1), etcdPutLatencyP50Ms: round(m(runs.puts, (x) => x.p50Ms), 2), etcdCpuMsPerPut: round(m(runs.puts, (x) => x.cpuMs[0]), 2),
    quietQps: round(m(runs.quiet, (x) => x.qps), 1), updateQps: round(m(runs.update, (x) => x.qps), 1), elsewhereQps: round(m(runs.elsewhere, (x) => x.qps), 1), controlQps: round(m(runs.control, (x) => x.qps), 1),
    quietEtcdCpuPct: m(runs.quiet, (x) => x.etcdCpuPct), updateEtcdCpuPct: m(runs.update, (x) => x.etcdCpuPct), elsewhereEtcdCpuPct: m(runs.elsewhere, (x) => x.etcdCpuPct), controlEtcdCpuPct: m(runs.control, (x) => x.etcdCpuPct),
    elsewhereOtherCpuPct: m(runs.elsewhere, (x) => x.otherCpuPct), elsewhereServerCpuPct: round(m(runs.elsewhere, (x) => x.serverCpuPct), 0),
    quietServerCpuPct: round(m(runs.quiet, (x) => x.serverCpuPct), 0), updateServerCpuPct: round(m(runs.update, (x) => x.serverCpuPct), 0), controlServerCpuPct: round(m(runs.control, (x) => x.serverCpuPct), 0),
    quietP99Ms: round(m(runs.quiet, (x) => x.p99LatencyMs), 3), updateP99Ms: round(m(runs.update, (x) => x.p99LatencyMs), 3), controlP99Ms: round(m(runs.control, (x) => x.p99LatencyMs), 3),
    updatesPerSecAchieved: round(m(runs.update, (x) => x.writer.achievedRate), 1), controlPutsPerSec: round(m(runs.control, (x) => x.writer.achievedRate), 1),
  };
  summary.updatesVsEtcdPuts = ratio(summary.updatesPerSec, summary.etcdPutsPerSec);
  summary.updateVsControl = ratio(summary.updateQps, summary.controlQps);
  summary.updateVsQuiet = ratio(summary.updateQps, summary.quietQps);
  summary.elsewhereVsControl = ratio(summary.elsewhereQps, summary.controlQps);
  return { runs, summary };
}

/** Zone-file q/s during the UPDATEs ÷ during the control's puts: the issue's target. */
export const UPDATE_TARGET = 0.95;

/**
 * Prints the step's medians and returns what goes into latest.json beside them; `churnControlQps`:
 * the churn step's control q/s of this run (another process, earlier), when it ran.
 */
export function reportUpdate(summary, { rate, churnControlQps }) {
  const s = summary;
  const vsChurnControl = ratio(s.updateQps, churnControlQps);
  const meetsTarget = s.updateVsControl != null && s.updateVsControl >= UPDATE_TARGET;
  console.log(`\n  Medians:`);
  console.log(`  UPDATEs sustained (${s.inFlight} in flight, signed, read-your-write replies): ${s.updatesPerSec}/s (latency p50 ${s.updateLatencyP50Ms} ms, p99 ${s.updateLatencyP99Ms} ms; CPU per UPDATE: etcdns ${s.etcdnsCpuMsPerUpdate} ms, etcd ${s.etcdCpuMsPerUpdate} ms); etcd's own puts, same client concurrency: ${s.etcdPutsPerSec}/s (p50 ${s.etcdPutLatencyP50Ms} ms; etcd CPU per put ${s.etcdCpuMsPerPut} ms): UPDATEs ÷ puts ${s.updatesVsEtcdPuts}`);
  console.log(`  zone-file q/s: quiet ${Math.round(s.quietQps)}, during ${s.updatesPerSecAchieved} UPDATEs/s ${Math.round(s.updateQps)} (p99 ${s.updateP99Ms} ms), during the control's ${s.controlPutsPerSec} puts/s outside /skydns ${Math.round(s.controlQps)} (p99 ${s.controlP99Ms} ms)`);
  console.log(`  CPU (quiet / update / control): etcdns ${s.quietServerCpuPct} / ${s.updateServerCpuPct} / ${s.controlServerCpuPct}%, etcd ${s.quietEtcdCpuPct} / ${s.updateEtcdCpuPct} / ${s.controlEtcdCpuPct}%`);
  console.log(`  with the ${s.updatesPerSecAchieved} UPDATEs/s sent to a second replica instead: ${Math.round(s.elsewhereQps)} q/s, ÷ control ${s.elsewhereVsControl} (the second replica ${s.elsewhereOtherCpuPct}% CPU, etcd ${s.elsewhereEtcdCpuPct}%, this one ${s.elsewhereServerCpuPct}%): what the UPDATEs cost the shared machine rather than the replica`);
  console.log(`  UPDATEs ÷ control ${s.updateVsControl} (target ≥ ${UPDATE_TARGET}: ${meetsTarget ? 'met' : 'MISSED'}), ÷ quiet ${s.updateVsQuiet}${vsChurnControl != null ? `, ÷ the churn step's control (${Math.round(churnControlQps)} q/s, another process) ${vsChurnControl}` : ''}`);
  if (Math.abs(s.updatesPerSecAchieved - rate) > rate * 0.05) console.log(`  note: the UPDATE writer achieved ${s.updatesPerSecAchieved}/s, not ${rate}`);
  return { target: UPDATE_TARGET, meetsTarget, vsChurnControl };
}
