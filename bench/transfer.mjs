// Zone transfers out (issue 14): a 100k-key etcd zone transferred whole (AXFR, RFC 5936) and
// incrementally after 100 changes (IXFR, RFC 1995), from etcdns (this build, and the --baseline
// build when it has --transfer-allow) and, as the native reference, from Knot serving the same
// records from a zone file written out of etcdns's own AXFR.
//
// Each transfer is one `dig` (BIND 9.18) run, its output to a file: wall seconds from spawn to
// exit, and records, messages and bytes from dig's ";; XFR size:" line. While it runs the bench
// process samples the server's /proc/PID/status every ~20 ms: peak VmRSS during the transfer
// (and VmRSS just before), which is what streaming a message at a time keeps flat. The server's
// CPU seconds for each transfer (utime+stime from /proc/PID/stat, read before dig starts and
// after it exits, plus a short settle) are a second figure, less noisy on a shared machine than
// wall seconds, and free of dig's own time (dig parsing 400k records is most of Knot's wall time).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLK_TCK, cpuTicks, die, freePort, httpStatus, median, ratio, round, sleep, startProc, state, stop, track, waitFor } from './lib.mjs';
import { ipOf } from './data.mjs';
import { SHIPPED_NODE_FLAGS, etcdLoad, etcdnsHasOption, startKnot } from './servers.mjs';

export const XFR_ZONE = 'bench-xfr.test';
const XFR_PREFIX = '/skydns/test/bench-xfr';
export const XFR_KEYS = 100000;
const SERVICES = 1000;
/** Changes made before each IXFR: puts of new keys, puts of new values to existing keys, deletes. */
const CHANGES = { added: 40, changed: 30, deleted: 30 };
export const XFR_CHANGES = CHANGES.added + CHANGES.changed + CHANGES.deleted;
const SAMPLE_MS = 20;
/** Server names of this scenario, as `--only` takes them; the baseline twin comes with --baseline. */
export const TRANSFER_SERVERS = ['etcdns-xfr', 'knot-xfr'];
const BASE = 'etcdns-xfr-base';
const W = 16;
/**
 * Knot stores an RRset's record count in 16 bits: its zone loader fails on a bigger one ("not
 * enough space provided", Knot 3.2.6, measured: 65,535 A records at one name load, 65,536 do not).
 * A SkyDNS zone aggregates every host below a name at that name, so the apex carries one A per
 * key: such RRsets are left out of Knot's zone file (and counted apart in the figures).
 */
const KNOT_MAX_RRSET = 65535;

export const keyOf = (i) => `${XFR_PREFIX}/svc${i % SERVICES}/i${i}`;
export const valueOf = (host) => JSON.stringify({ host, port: 80 });

// ---------- servers ----------
/**
 * etcdns serve mirroring the etcd zone, transfers allowed from loopback. The same arguments and
 * Node flags as servers.mjs's startEtcdns (which has no transfer options) plus --transfer-allow.
 */
async function startXfrEtcdns(name, cli, etcdUrl) {
  const port = await freePort();
  const ready = await freePort();
  const args = [cli, 'serve', '--listen', `127.0.0.1:${port}`, '--zones', join(state.tmp, 'xfr-no-zones'),
    '--health-listen', 'off', '--ready-listen', `127.0.0.1:${ready}`, '--metrics-listen', 'off', '--lameduck', '0', '--log-level', 'warn',
    '--no-forwarding', '--etcd', etcdUrl, '--etcd-zone', XFR_ZONE, '--etcd-prefix', '/skydns', '--transfer-allow', '127.0.0.1/32'];
  mkdirSync(join(state.tmp, 'xfr-no-zones'), { recursive: true });
  const child = startProc(name, process.execPath, [...SHIPPED_NODE_FLAGS, ...args]);
  const readyMs = await waitFor(name, async () => (await httpStatus(`http://127.0.0.1:${ready}/ready`)) === 200, 600000, child);
  return { name, child, pid: child.pid, port, readyMs };
}


// ---------- dig ----------
/** The SOA serial srv answers over UDP, or null. */
async function soaSerial(srv) {
  const out = await runDig(['@127.0.0.1', '-p', String(srv.port), XFR_ZONE, 'SOA', '+short', '+norecurse', '+time=1', '+tries=1']);
  const f = out.text.trim().split(/\s+/);
  return f.length === 7 ? Number(f[2]) : null;
}

/** Run dig with its stdout to a file; resolves to { seconds, text, file }. */
function runDig(args, { keep = false, tag = 'dig' } = {}) {
  const file = join(state.tmp, `${tag}.out`);
  const fd = openSync(file, 'w');
  const t0 = performance.now();
  const child = track(spawn('dig', args, { stdio: ['ignore', fd, 'inherit'] }), 'dig');
  closeSync(fd);
  return new Promise((res) => child.on('exit', (code) => {
    const seconds = (performance.now() - t0) / 1000;
    const text = readFileSync(file, 'utf8');
    if (!keep) rmSync(file, { force: true });
    res({ code, seconds, text, file });
  }));
}

const status = (pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch { return { rss: NaN, hwm: NaN }; }
};

/**
 * One transfer (qtype 'AXFR' or 'IXFR=<serial>') from srv over TCP, timed, with the server's
 * VmRSS sampled every SAMPLE_MS meanwhile. Returns seconds, records / messages / bytes (dig's XFR
 * size line), RSS before and peak (MiB), VmHWM after, the records (owner TTL class type rdata
 * lines) when `keep`, and the first two records' types and SOA serials.
 */
async function transfer(srv, qtype, tag, { keep = false, quiet = false } = {}) {
  const ticksBefore = cpuTicks(srv.pid);
  const before = status(srv.pid);
  let peak = before.rss, samples = 0;
  const timer = setInterval(() => { const s = status(srv.pid); samples++; if (s.rss > peak) peak = s.rss; }, SAMPLE_MS);
  // quiet: +noall +stats, dig reads and parses every message but prints only the stats, so that
  // formatting 500k records (a second of dig's CPU on the shared cores) does not dilute the ratio.
  const d = await runDig(['@127.0.0.1', '-p', String(srv.port), XFR_ZONE, qtype, '+tcp', '+time=60', '+tries=1', ...(quiet ? ['+noall', '+stats'] : [])], { tag: `${tag}` });
  clearInterval(timer);
  // The server may still be finishing its last write or its bookkeeping when dig exits.
  await sleep(50);
  const serverCpuSeconds = round((cpuTicks(srv.pid) - ticksBefore) / CLK_TCK, 3);
  const after = status(srv.pid);
  if (after.rss > peak) peak = after.rss;
  const size = d.text.match(/;; XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)/);
  if (d.code !== 0 || !size) die(`${srv.name}: dig ${qtype} failed (exit ${d.code}): ${d.text.split('\n').filter((l) => /;|fail/i.test(l)).slice(-5).join(' / ')}`);
  const lines = d.text.split('\n').filter((l) => l && !l.startsWith(';'));
  const first = lines.slice(0, 2).map((l) => l.split(/\s+/));
  return {
    seconds: round(d.seconds, 3), serverCpuSeconds, records: Number(size[1]), messages: Number(size[2]), bytes: Number(size[3]),
    rssBeforeMiB: round(before.rss / 1024, 1), peakRssMiB: round(peak / 1024, 1), peakRssDeltaMiB: round((peak - before.rss) / 1024, 1),
    hwmAfterMiB: round(after.hwm / 1024, 1), rssSamples: samples,
    firstTypes: first.map((f) => f[3]), firstSerials: first.map((f) => (f[3] === 'SOA' ? Number(f[6]) : null)),
    lines: keep ? lines : undefined,
  };
}

// ---------- etcd ----------
async function loadZone(etcd) {
  const t0 = performance.now();
  await etcdLoad(etcd, XFR_KEYS, (i) => [keyOf(i), valueOf(ipOf(i + 1))]);
  return performance.now() - t0;
}

/**
 * Round r's XFR_CHANGES changes, one etcd request each, every key distinct from every other
 * round's: new keys, new values for existing keys, deletions of existing keys. Returns the etcd
 * revision of the last one (an etcd zone's SOA serial is the revision of the change it reflects).
 */
async function change(etcd, r) {
  let rev = 0;
  const base = r * XFR_CHANGES;
  const note = (res) => { rev = Math.max(rev, Number(res.header.revision)); };
  for (let j = 0; j < CHANGES.added; j++) note(await etcd.put(`${XFR_PREFIX}/svc${j}/new${r}-${j}`).value(valueOf(`10.253.${r & 255}.${j + 1}`)).exec());
  for (let j = 0; j < CHANGES.changed; j++) note(await etcd.put(keyOf(base + j)).value(valueOf(`10.254.${r & 255}.${j + 1}`)).exec());
  for (let j = 0; j < CHANGES.deleted; j++) note(await etcd.delete().key(keyOf(base + CHANGES.changed + j)).exec());
  return rev;
}

async function waitSerial(srvs, serial) {
  const t0 = performance.now();
  for (const srv of srvs) {
    await waitFor(`${srv.name} serving serial ${serial}`, async () => (await soaSerial(srv)) >= serial, 30000, srv.child);
  }
  return performance.now() - t0;
}

// ---------- the scenario ----------
const sortedRecords = (lines) => lines.map((l) => { const f = l.split(/\s+/); return [f[0].toLowerCase(), f[1], f[2], f[3], ...f.slice(4)].join(' '); }).sort();

/**
 * Load the zone, start the servers (`names`: of TRANSFER_SERVERS; the baseline twin when baseCli
 * has --transfer-allow), `rounds` AXFRs from each (order rotating), then `rounds` times: 100
 * changes, wait until every etcdns serves the new serial, one IXFR from each etcdns from the
 * serial it sent last (round 1: the AXFRs' serial). Returns the figures for latest.json.
 */
export async function runTransfer(etcd, etcdUrl, { cli, baseCli, names, rounds }) {
  const notes = [];
  const loadMs = await loadZone(etcd);
  console.log(`  etcd: loaded ${XFR_KEYS} keys under ${XFR_PREFIX}/ in ${Math.round(loadMs)} ms (${keyOf(0)} = ${valueOf(ipOf(1))}, …)`);
  const etcdnsNames = names.filter((n) => n !== 'knot-xfr');
  if (baseCli && names.includes('etcdns-xfr')) {
    if (etcdnsHasOption(baseCli, '--transfer-allow')) etcdnsNames.push(BASE);
    else {
      notes.push(`${BASE} skipped: the baseline's \`etcdns serve --help\` has no --transfer-allow (no zone transfers)`);
      console.log(`  note: ${BASE} skipped (the baseline build has no --transfer-allow)`);
    }
  }
  const servers = [];
  for (const n of etcdnsNames) {
    const srv = await startXfrEtcdns(n, n === BASE ? baseCli : cli, etcdUrl);
    servers.push(srv);
    console.log(`  ${n.padEnd(W)} 127.0.0.1:${srv.port} pid ${srv.pid}${n === BASE ? ' (baseline build)' : ''}: ready (synced) after ${Math.round(srv.readyMs)} ms`);
  }
  // The serial every etcdns must serve before it is measured: the revision of the last key loaded.
  const loadedRev = Number((await etcd.get(keyOf(XFR_KEYS - 1)).exec()).header.revision);
  await waitSerial(servers, loadedRev);

  // The reference content: the first AXFR (untimed), from this build if it runs, else the baseline.
  let reference = null;
  if (servers.length) {
    const ref = await transfer(servers[0], 'AXFR', 'xfr-reference', { keep: true });
    reference = { from: servers[0].name, records: ref.records, lines: ref.lines, serial: ref.firstSerials[0] };
    if (ref.firstTypes[0] !== 'SOA' || ref.lines.at(-1).split(/\s+/)[3] !== 'SOA') die(`${servers[0].name}: AXFR does not start and end with the SOA`);
    const types = {};
    for (const l of ref.lines) { const t = l.split(/\s+/)[3]; types[t] = (types[t] ?? 0) + 1; }
    reference.types = types;
    console.log(`  ${servers[0].name}: AXFR of ${XFR_ZONE} at serial ${reference.serial}: ${ref.records} records (${Object.entries(types).map(([t, c]) => `${c} ${t}`).join(', ')}), ${ref.messages} messages, ${ref.bytes} bytes`);
    for (const srv of servers.slice(1)) {
      const other = await transfer(srv, 'AXFR', `xfr-reference-${srv.name}`, { keep: true });
      const same = JSON.stringify(sortedRecords(other.lines)) === JSON.stringify(sortedRecords(ref.lines));
      if (!same) { notes.push(`${srv.name}'s AXFR differs from ${servers[0].name}'s (${other.records} vs ${ref.records} records)`); console.log(`  note: ${srv.name}'s AXFR differs from ${servers[0].name}'s (${other.records} vs ${ref.records} records)`); }
    }
  } else if (names.includes('knot-xfr')) {
    die('knot-xfr needs an etcdns server in the same run: its zone file is written from etcdns\'s AXFR');
  }
  if (names.includes('knot-xfr')) {
    // The zone file: the AXFR's records less the closing SOA, exactly as dig printed them, less
    // the RRsets Knot cannot hold (KNOT_MAX_RRSET).
    const body = reference.lines.slice(0, -1);
    const count = new Map();
    const rrset = (l) => { const f = l.split(/\s+/); return `${f[0].toLowerCase()} ${f[3]}`; };
    for (const l of body) count.set(rrset(l), (count.get(rrset(l)) ?? 0) + 1);
    const tooBig = [...count].filter(([, c]) => c > KNOT_MAX_RRSET);
    const keptLines = tooBig.length ? body.filter((l) => count.get(rrset(l)) <= KNOT_MAX_RRSET) : body;
    const left = reference.records - 1 - keptLines.length;
    reference.knotLeftOut = { rrsets: tooBig.map(([k, c]) => `${k} (${c} records)`), records: left };
    if (tooBig.length) {
      const why = `knot-xfr serves ${reference.records - left} of the ${reference.records} records: left out ${tooBig.map(([k, c]) => `${k} (${c} records)`).join(', ')}, `
        + `RRsets over Knot's ${KNOT_MAX_RRSET} records per RRset (its zone loader fails: "not enough space provided"); the etcdns ÷ Knot ratios are given raw and per record`;
      notes.push(why);
      console.log(`  note: ${why}`);
    }
    const knot = await startKnot('knot-xfr', keptLines.join('\n') + '\n', { zone: XFR_ZONE, transferFrom: '127.0.0.1' });
    await waitFor('knot-xfr loading the zone', async () => (await soaSerial(knot)) === reference.serial, 60000, knot.child);
    const got = await transfer(knot, 'AXFR', 'xfr-knot-check', { keep: true });
    if (JSON.stringify(sortedRecords(got.lines)) !== JSON.stringify(sortedRecords([...keptLines, body[0]]))) {
      die(`knot-xfr: its AXFR (${got.records} records) is not the record set of its zone file (${keptLines.length + 1} with the closing SOA); see ${knot.child.logFile}`);
    }
    reference.knotRecords = got.records;
    console.log(`  ${'knot-xfr'.padEnd(W)} 127.0.0.1:${knot.port} pid ${knot.pid}: zone file from ${reference.from}'s AXFR; its AXFR is those ${got.records} records`);
    servers.push(knot);
  }
  if (reference) reference.lines = undefined;

  // AXFR rounds, the servers' order rotating from round to round against drift.
  const runs = {};
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]);
    for (const srv of order) {
      const x = await transfer(srv, 'AXFR', `xfr-${srv.name}-${r}`, { quiet: true });
      const want = srv.name === 'knot-xfr' ? reference.knotRecords : reference.records;
      if (x.records !== want) die(`${srv.name}: AXFR round ${r + 1} gave ${x.records} records, want ${want}`);
      (runs[srv.name] ??= { axfr: [], ixfr: [] }).axfr.push(x);
      console.log(`  round ${r + 1}/${rounds} ${srv.name.padEnd(W)} AXFR ${x.seconds.toFixed(3)} s (server CPU ${x.serverCpuSeconds.toFixed(2)} s)  ${x.records} records  ${x.messages} msgs  ${x.bytes} bytes  RSS ${x.rssBeforeMiB} → peak ${x.peakRssMiB} MiB (+${x.peakRssDeltaMiB}, ${x.rssSamples} samples)`);
      await sleep(300);
    }
  }

  // IXFR rounds (etcdns only: Knot serves a zone file here, with no history to send).
  const etcdnsServers = servers.filter((s) => s.name !== 'knot-xfr');
  let fromSerial = reference?.serial;
  for (let r = 0; r < rounds && etcdnsServers.length; r++) {
    const rev = await change(etcd, r);
    const waitMs = await waitSerial(etcdnsServers, rev);
    const serial = await soaSerial(etcdnsServers[0]);
    for (const srv of etcdnsServers.map((_, i) => etcdnsServers[(i + r) % etcdnsServers.length])) {
      const x = await transfer(srv, `IXFR=${fromSerial}`, `ixfr-${srv.name}-${r}`);
      // RFC 1995 §4: an incremental answer starts with the new SOA and then the client's SOA.
      x.fromSerial = fromSerial; x.toSerial = serial; x.changes = XFR_CHANGES; x.waitForSerialMs = Math.round(waitMs);
      x.incremental = x.firstTypes.join() === 'SOA,SOA' && x.firstSerials[0] === serial && x.firstSerials[1] === fromSerial && x.records < reference.records / 10;
      if (!x.incremental) die(`${srv.name}: IXFR=${fromSerial} is not incremental: ${x.records} records, first ${x.firstTypes.join(', ')} serials ${x.firstSerials.join(', ')} (want SOA ${serial}, SOA ${fromSerial})`);
      runs[srv.name].ixfr.push(x);
      console.log(`  round ${r + 1}/${rounds} ${srv.name.padEnd(W)} IXFR=${fromSerial} → ${serial} after ${XFR_CHANGES} changes: ${x.seconds.toFixed(3)} s  ${x.records} records  ${x.messages} msgs  ${x.bytes} bytes  RSS ${x.rssBeforeMiB} → peak ${x.peakRssMiB} MiB (+${x.peakRssDeltaMiB})  (serial served ${x.waitForSerialMs} ms after the last change)`);
    }
    fromSerial = serial;
  }
  // The floor under those: an IXFR from the serial the server has (RFC 1995 §2: the SOA alone),
  // i.e. dig's start-up, the TCP connection and one message.
  for (const srv of etcdnsServers) {
    const x = await transfer(srv, `IXFR=${fromSerial}`, `ixfr-current-${srv.name}`);
    if (x.records !== 1) die(`${srv.name}: IXFR=${fromSerial} (its own serial) gave ${x.records} records, want the SOA alone`);
    runs[srv.name].ixfrUpToDate = x;
    console.log(`  ${' '.repeat(11)} ${srv.name.padEnd(W)} IXFR=${fromSerial} (up to date, the SOA alone): ${x.seconds.toFixed(3)} s`);
  }

  const summary = {};
  for (const srv of servers) {
    const { axfr, ixfr } = runs[srv.name];
    const m = (rs, k) => median(rs.map((x) => x[k]));
    const s = {
      axfrSeconds: round(m(axfr, 'seconds'), 3), axfrServerCpuSeconds: round(m(axfr, 'serverCpuSeconds'), 3), records: m(axfr, 'records'), messages: m(axfr, 'messages'), bytes: m(axfr, 'bytes'),
      recordsPerSec: round(m(axfr, 'records') / m(axfr, 'seconds'), 0),
      rssBeforeMiB: round(m(axfr, 'rssBeforeMiB'), 1), peakRssMiB: round(m(axfr, 'peakRssMiB'), 1), peakRssDeltaMiB: round(m(axfr, 'peakRssDeltaMiB'), 1),
      maxPeakRssMiB: Math.max(...axfr.map((x) => x.peakRssMiB)), hwmMiB: axfr.at(-1).hwmAfterMiB,
    };
    if (ixfr.length) {
      Object.assign(s, { ixfrSeconds: round(m(ixfr, 'seconds'), 3), ixfrServerCpuSeconds: round(m(ixfr, 'serverCpuSeconds'), 3), ixfrRecords: m(ixfr, 'records'), ixfrMessages: m(ixfr, 'messages'), ixfrBytes: m(ixfr, 'bytes'),
        ixfrPeakRssDeltaMiB: round(m(ixfr, 'peakRssDeltaMiB'), 1), ixfrIncremental: ixfr.every((x) => x.incremental), ixfrUpToDateSeconds: runs[srv.name].ixfrUpToDate?.seconds ?? null });
    }
    summary[srv.name] = s;
  }
  const out = {
    zone: XFR_ZONE, keys: XFR_KEYS, keyShape: `${XFR_PREFIX}/svc<i%${SERVICES}>/i<i> = {"host":"10.x.y.z","port":80}`, etcdLoadMs: Math.round(loadMs),
    serial: reference?.serial ?? null, records: reference?.records ?? null, recordTypes: reference?.types ?? null, rounds,
    changesPerIxfr: { ...CHANGES, total: XFR_CHANGES },
    method: `dig (BIND) AXFR / IXFR=<serial> over TCP, output to a file (the timed AXFRs with +noall +stats: parsed, not printed); seconds = spawn to exit of dig; serverCpuSeconds = the server's utime+stime (/proc/PID/stat) from before dig starts to 50 ms after it exits; records, messages, bytes from dig's "XFR size" line; `
      + `RSS: the server's /proc/PID/status VmRSS sampled every ${SAMPLE_MS} ms during the transfer (peak) and just before; hwmMiB: VmHWM after the last AXFR (the process's lifetime peak, sync included). `
      + `knot-xfr serves a zone file written from etcdns's AXFR, less any RRset over Knot's ${KNOT_MAX_RRSET} records (knotLeftOut); its AXFR is checked to be exactly that record set. `
      + 'IXFR round 1 is from the AXFRs\' serial, each later round from the serial the previous IXFR sent; ixfrUpToDateSeconds: an IXFR from the current serial (the SOA alone), the floor. Medians over rounds.',
    summary, runs, // (the timed runs keep no records: `lines` is undefined, left out of the JSON)
    notes,
  };
  const knot = summary['knot-xfr'];
  for (const n of Object.keys(summary)) {
    if (n === 'knot-xfr') continue;
    if (!knot) continue;
    const s = summary[n];
    s.axfrVsKnot = ratio(s.axfrSeconds, knot.axfrSeconds);
    s.axfrServerCpuVsKnot = ratio(s.axfrServerCpuSeconds, knot.axfrServerCpuSeconds);
    // Seconds per record ÷ Knot's: the fair one when Knot serves fewer records (KNOT_MAX_RRSET).
    s.axfrPerRecordVsKnot = ratio(s.axfrSeconds / s.records, knot.axfrSeconds / knot.records);
    s.axfrPerByteVsKnot = ratio(s.axfrSeconds / s.bytes, knot.axfrSeconds / knot.bytes);
    s.peakRssVsKnot = ratio(s.peakRssMiB, knot.peakRssMiB);
  }
  if (summary['etcdns-xfr'] && summary[BASE]) {
    out.axfrVsBaseline = ratio(summary['etcdns-xfr'].axfrSeconds, summary[BASE].axfrSeconds);
    out.axfrServerCpuVsBaseline = ratio(summary['etcdns-xfr'].axfrServerCpuSeconds, summary[BASE].axfrServerCpuSeconds);
  }
  if (summary['etcdns-xfr']) {
    out.axfrVsKnot = summary['etcdns-xfr'].axfrVsKnot ?? null;
    out.axfrPerRecordVsKnot = summary['etcdns-xfr'].axfrPerRecordVsKnot ?? null;
  }
  if (reference?.knotLeftOut) out.knotLeftOut = reference.knotLeftOut;
  printTransfer(out);
  for (const srv of servers) await stop(srv.child);
  await etcd.delete().prefix(`${XFR_PREFIX}/`);
  return out;
}

function printTransfer(t) {
  console.log(`\n  Medians over ${t.rounds} round(s), ${t.records} records (${t.keys} etcd keys):`);
  console.log(`  ${'server'.padEnd(W)}  AXFR s  records    msgs     bytes  records/s  RSS before  peak MiB  (+MiB)   IXFR s  IXFR records  ×knot s  ×knot s/rec`);
  for (const [n, s] of Object.entries(t.summary)) {
    console.log(`  ${n.padEnd(W)} ${s.axfrSeconds.toFixed(3).padStart(7)} ${String(s.records).padStart(8)} ${String(s.messages).padStart(7)} ${String(s.bytes).padStart(9)} ${String(s.recordsPerSec).padStart(10)}`
      + ` ${String(s.rssBeforeMiB).padStart(11)} ${String(s.peakRssMiB).padStart(9)} ${`(+${s.peakRssDeltaMiB})`.padStart(8)}`
      + ` ${s.ixfrSeconds != null ? s.ixfrSeconds.toFixed(3).padStart(8) : '       -'} ${String(s.ixfrRecords ?? '-').padStart(13)} ${String(s.axfrVsKnot ?? '-').padStart(8)} ${String(s.axfrPerRecordVsKnot ?? '-').padStart(12)}`);
  }
  if (t.axfrVsKnot != null) console.log(`  etcdns AXFR seconds ÷ knot's (same run): ${t.axfrVsKnot}; per record: ${t.axfrPerRecordVsKnot}${t.knotLeftOut?.records ? ` (knot serves ${t.knotLeftOut.records} records fewer: ${t.knotLeftOut.rrsets.join(', ')})` : ''}`);
  for (const [n, s] of Object.entries(t.summary)) if (s.ixfrSeconds != null) console.log(`  ${n} IXFR after ${XFR_CHANGES} changes: ${s.ixfrSeconds} s for ${s.ixfrRecords} records (+${s.ixfrPeakRssDeltaMiB} MiB RSS during it); up to date (the SOA alone): ${s.ixfrUpToDateSeconds} s`);
  for (const [n, s] of Object.entries(t.summary)) if (s.axfrServerCpuVsKnot != null) console.log(`  ${n} server CPU per AXFR ÷ knot's (same run): ${s.axfrServerCpuSeconds} ÷ ${t.summary['knot-xfr'].axfrServerCpuSeconds} s = ${s.axfrServerCpuVsKnot}`);
  if (t.axfrVsBaseline != null) console.log(`  etcdns AXFR seconds, this build ÷ baseline: ${t.axfrVsBaseline}; server CPU: ${t.axfrServerCpuVsBaseline}`);
}
