// Zone-file q/s under etcd churn: one etcdns process serves the main zone file (bench.test) and
// an etcd zone (churn.test); dnsperf asks the zone-file questions once with etcd quiet and once
// while a writer puts random values under /skydns/test/churn/ at a fixed rate. An etcd change
// touches only churn.test, so with the reply cache kept per zone view the zone-file answers should
// not notice; a build that flushes every cached reply on each change does.
import { performance } from 'node:perf_hooks';
import { die, median, ratio, round, sleep } from './lib.mjs';
import { NAME_WIDTH, runDnsperf, formatRun } from './dnsperf.mjs';
import { dig } from './check.mjs';

export const CHURN_ZONE = 'churn.test';
export const CHURN_PREFIX = '/skydns/test/churn';
/**
 * The control phase's writer puts the same way outside the servers' prefix (/skydns): etcd, its
 * fsyncs and the harness do the same work, etcdns sees none of it. churn ÷ control is what the
 * server itself pays for following the changes; control ÷ quiet is what the writes cost the machine.
 */
export const CONTROL_PREFIX = '/bench-control';
/** The writer's keys: KEYS names kN.churn.test, each put again and again with a new address. */
const KEYS = 100;
const churnKey = (k, prefix = CHURN_PREFIX) => `${prefix}/k${k}`;
const randomIp = () => `10.200.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

/** Put one key of the churn zone before the servers start, so that churn.test exists from the first sync. */
export async function seedChurn(etcd) {
  await etcd.put(churnKey(0)).value(JSON.stringify({ host: randomIp(), port: 8080 }));
}
export async function clearChurn(etcd) {
  await etcd.delete().prefix(`${CHURN_PREFIX}/`);
  await etcd.delete().prefix(`${CONTROL_PREFIX}/`);
}

/**
 * Put random values at `rate` puts/s for `seconds` (at most rate × seconds puts, issued on a fixed
 * schedule, at most 64 in flight), then wait up to 2 s for the outstanding acknowledgements.
 * Returns what was achieved: acknowledged puts ÷ time from the first put to the last ack.
 */
export function startWriter(etcd, rate, seconds, prefix) {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  let acked = 0, errors = 0, inFlight = 0, issued = 0, lastAckAt = 0;
  const done = (async () => {
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const pending = new Set();
    while (issued < total) {
      const due = t0 + issued * interval;
      const now = performance.now();
      if (now >= deadline) break;
      if (due > now) await sleep(due - now);
      if (inFlight >= 64) { await Promise.race(pending); continue; }
      const k = Math.floor(Math.random() * KEYS);
      const host = randomIp();
      issued++; inFlight++;
      const p = etcd.put(churnKey(k, prefix)).value(JSON.stringify({ host, port: 8080 }))
        .then(() => { acked++; lastAckAt = performance.now(); }, () => { errors++; })
        .finally(() => { inFlight--; pending.delete(p); });
      pending.add(p);
    }
    const stopAt = performance.now() + 2000;
    while (pending.size && performance.now() < stopAt) await Promise.race([...pending, sleep(stopAt - performance.now())]);
    const secs = ((lastAckAt || performance.now()) - t0) / 1000;
    return { targetRate: rate, seconds, issued, acked, errors, achievedRate: round(secs > 0 ? acked / secs : 0, 1) };
  })();
  return done;
}

/**
 * After a churn run: one more put (a key of its own, awaited) and whether srv answers it within
 * 2 s — the server really follows the etcd zone, so the churn reached it.
 */
async function followsEtcd(etcd, srv) {
  const host = randomIp();
  const name = `final.${CHURN_ZONE}`;
  await etcd.put(`${CHURN_PREFIX}/final`).value(JSON.stringify({ host, port: 8080 }));
  for (let i = 0; i < 20; i++) {
    if (dig(srv.port, name, 'A').answer.some((r) => r.rdata === host)) return { ok: true, name, host };
    await sleep(100);
  }
  return { ok: false, name, host };
}

const PHASES = ['quiet', 'churn', 'control'];
/**
 * `rounds` rounds; in each, every server (order rotating from round to round) is measured in the
 * three phases — quiet, churn (puts under the server's etcd zone), control (the same puts outside
 * its prefix) — with the phase order rotating from round to round too, so that drift hits every
 * phase alike. Returns runs and per-server medians: q/s, q/s per core and p99 per phase,
 * churnVsQuiet (q/s), churnVsQuietPerCore, churnVsControl, controlVsQuiet, and the writers'
 * achieved rate.
 */
export async function runChurn(etcd, servers, load, rounds, rate) {
  const runs = {};
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]);
    for (const srv of order) {
      for (const phase of PHASES.map((_, i) => PHASES[(i + r) % PHASES.length])) {
        const writer = phase === 'quiet' ? null : startWriter(etcd, rate, load.duration, phase === 'churn' ? CHURN_PREFIX : CONTROL_PREFIX);
        const res = await runDnsperf(srv, load, `churn-${srv.name}-${phase}-${r}`);
        if (writer) res.writer = await writer;
        if (phase === 'churn') {
          const f = await followsEtcd(etcd, srv);
          if (!f.ok) die(`${srv.name} does not answer a put made after the churn run (${f.name} A ${f.host}) within 2 s; see ${srv.child.logFile}`);
          res.writer.followedByServer = true;
        }
        (runs[srv.name] ??= { quiet: [], churn: [], control: [] })[phase].push(res);
        const w = res.writer ? `  writer ${res.writer.acked}/${res.writer.issued} puts acked, ${res.writer.achievedRate} puts/s${res.writer.errors ? `, ${res.writer.errors} errors` : ''}` : '';
        console.log(`  round ${r + 1}/${rounds} ${srv.name.padEnd(NAME_WIDTH)} ${phase.padEnd(7)} ${formatRun(res)}${w}`);
        await sleep(500);
      }
    }
  }
  const summary = {};
  for (const srv of servers) {
    const { quiet, churn, control } = runs[srv.name];
    const m = (rs, f) => median(rs.map(f));
    const perCore = (x) => x.qps / (x.serverCpuPct / 100);
    const s = {};
    for (const [phase, rs] of Object.entries({ quiet, churn, control })) {
      s[`${phase}Qps`] = round(m(rs, (x) => x.qps), 1);
      s[`${phase}QpsPerCore`] = round(m(rs, perCore), 0);
      s[`${phase}P99Ms`] = round(m(rs, (x) => x.p99LatencyMs), 3);
    }
    const written = [...churn, ...control];
    Object.assign(s, {
      putsPerSec: round(m(churn, (x) => x.writer.achievedRate), 1), controlPutsPerSec: round(m(control, (x) => x.writer.achievedRate), 1),
      putsAcked: written.reduce((n, x) => n + x.writer.acked, 0), putErrors: written.reduce((n, x) => n + x.writer.errors, 0),
    });
    s.churnVsQuiet = ratio(s.churnQps, s.quietQps);
    s.churnVsQuietPerCore = ratio(s.churnQpsPerCore, s.quietQpsPerCore);
    s.churnVsControl = ratio(s.churnQps, s.controlQps);
    s.controlVsQuiet = ratio(s.controlQps, s.quietQps);
    summary[srv.name] = s;
  }
  return { runs, summary };
}
