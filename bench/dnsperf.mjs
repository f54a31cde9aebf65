// dnsperf runs: one run against one server (q/s, latency percentiles, loss, server CPU), and the
// rounds that alternate a set of servers and keep the medians.
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLK_TCK, cpuTicks, die, median, memory, pct, round, sleep, state, track } from './lib.mjs';
import { cacheCounters } from './servers.mjs';
import { formatGc, gcPausesSince, logOffset } from './gc-trace.mjs';

/** Width of the server-name column in printed tables (etcdns-zone-norotate is the longest name). */
export const NAME_WIDTH = 20;

/** dnsperf's arguments for a load: `maxQps` is the -Q cap, `mode` udp or tcp, `extra` more flags. */
export function dnsperfArgs({ port, qfile, duration, clients, maxQps, mode = 'udp', extra = [] }) {
  // -v: one line per query with its latency (for p50/p99). dnsperf 2.10 has no histogram option;
  // the lines go straight to a file so that parsing costs nothing during the run.
  return ['-s', '127.0.0.1', '-p', String(port), '-m', mode, '-d', qfile, '-l', String(duration),
    '-c', String(clients), '-q', '100', '-Q', String(maxQps), '-t', '2', ...extra];
}
/** The arguments as printed and recorded: without server address, port and query file. */
export function describeArgs(load) {
  const a = dnsperfArgs({ ...load, port: 0, qfile: '' });
  return a.filter((_, i) => !['-s', '-p', '-d'].includes(a[i]) && !['-s', '-p', '-d'].includes(a[i - 1])).join(' ') + ' -v';
}

async function dnsperf(args, tag) {
  const outFile = join(state.tmp, `dnsperf-${tag}.out`);
  const fd = openSync(outFile, 'w');
  const child = track(spawn('dnsperf', args, { stdio: ['ignore', fd, fd] }), 'dnsperf');
  closeSync(fd);
  const code = await new Promise((r) => child.on('exit', r));
  return { code, outFile };
}

/** Send every line of the query file once, e.g. to fill a forwarder's cache before measuring it. */
export async function warmUp(srv, qfile) {
  const { code, outFile } = await dnsperf(['-s', '127.0.0.1', '-p', String(srv.port), '-d', qfile, '-n', '1', '-c', '1', '-q', '20', '-t', '2'], `${srv.name}-warmup`);
  if (code !== 0) die(`dnsperf warm-up against ${srv.name} exited ${code}; see ${outFile}`);
  rmSync(outFile, { force: true });
}

/**
 * One dnsperf run against srv (srv.qfile unless load.qfile). Server CPU is the utime+stime delta
 * of the server's process tree (threads, and cluster workers) over the wall time of the run.
 * Any response code other than NOERROR aborts the whole benchmark: every question has an answer.
 */
export async function runDnsperf(srv, load, tag) {
  if (srv.warmUp) await srv.warmUp();
  const cache0 = srv.metricsUrl ? await cacheCounters(srv.metricsUrl) : null;
  const ticks0 = cpuTicks(srv.pid);
  const log0 = srv.traceGc ? logOffset(srv.child.logFile) : 0;
  const t0 = performance.now();
  const { code, outFile } = await dnsperf([...dnsperfArgs({ ...load, port: srv.port, qfile: load.qfile ?? srv.qfile }), '-v'], tag);
  const wall = (performance.now() - t0) / 1000;
  const ticks1 = cpuTicks(srv.pid);
  const cache1 = srv.metricsUrl ? await cacheCounters(srv.metricsUrl) : null;
  if (code !== 0) die(`dnsperf against ${srv.name} exited ${code}; see ${outFile}`);

  const { lat, stats } = await readOutput(outFile);
  const num = (re) => { const m = stats.match(re); return m ? Number(m[1]) : null; };
  const rcodes = (stats.match(/Response codes:\s+(.*)/) || [])[1] ?? '';
  const wrong = rcodes.split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('NOERROR '));
  if (!rcodes || wrong.length) die(`dnsperf against ${srv.name}: answers other than NOERROR (${rcodes || 'none at all'}); see ${outFile}`);
  const sorted = Float64Array.from(lat).sort();
  rmSync(outFile, { force: true });
  const res = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lossPct: num(/Queries lost:\s+\d+ \(([\d.]+)%\)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    p50LatencyMs: pct(sorted, 50) * 1000,
    p99LatencyMs: pct(sorted, 99) * 1000,
    maxLatencyMs: num(/max ([\d.]+)\)/) * 1000,
    rcodes,
    serverCpuPct: (((ticks1 - ticks0) / CLK_TCK) / wall) * 100,
  };
  if (cache0 && cache1) res.cache = cacheDelta(cache0, cache1);
  if (srv.traceGc) res.gc = gcPausesSince(srv.child.logFile, log0);
  // At a capped rate (the steady step): the p99 of the first second's answers alone (-v prints
  // them as they complete), where a server started cold pays for what it had not done before.
  if (load.maxQps < 1000000 && lat.length > load.maxQps) res.firstSecondP99Ms = pct(Float64Array.from(lat.slice(0, load.maxQps)).sort(), 99) * 1000;
  return res;
}

async function readOutput(outFile) {
  // "> NOERROR name type latency" per answered query (-v); "[Timeout]" lines for lost ones.
  const lat = [];
  let stats = '';
  const rl = createInterface({ input: createReadStream(outFile), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.startsWith('> ')) { const v = Number(line.slice(line.lastIndexOf(' ') + 1)); if (!Number.isNaN(v)) lat.push(v); }
    else if (!line.startsWith('[Timeout]')) stats += line + '\n';
  }
  return { lat, stats };
}

function cacheDelta(a, b) {
  const d = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) d[k] = (b[k] ?? 0) - (a[k] ?? 0);
  const total = Object.values(d).reduce((x, y) => x + y, 0);
  d.hitPct = total ? round((100 * (d.hit ?? 0)) / total, 2) : null;
  return d;
}

export function formatRun(r) {
  const cache = r.cache ? `  cache hits ${r.cache.hitPct}% (${r.cache.hit ?? 0} hit, ${r.cache.miss ?? 0} miss)` : '';
  const gc = r.gc ? `  GC: ${formatGc(r.gc) || 'none'}` : '';
  return `${Math.round(r.qps).toString().padStart(7)} q/s  avg ${r.avgLatencyMs.toFixed(3)} ms  p50 ${r.p50LatencyMs.toFixed(3)}  p99 ${r.p99LatencyMs.toFixed(3)} ms  loss ${r.lossPct}%  server CPU ${r.serverCpuPct.toFixed(0)}%${cache}  [${r.rcodes}]${gc}`;
}

/**
 * `rounds` rounds of one dnsperf run per server; the servers alternate within a round and the
 * order rotates from round to round, so that drift on a noisy machine hits every server alike.
 * Returns the runs and, per server, the medians over rounds.
 */
export async function runRounds(title, servers, load, rounds) {
  const runs = {};
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]);
    for (const srv of order) {
      const res = await runDnsperf(srv, load, `${title.replace(/\W+/g, '_')}-${srv.name}-${r}`);
      (runs[srv.name] ??= []).push(res);
      console.log(`  round ${r + 1}/${rounds} ${srv.name.padEnd(NAME_WIDTH)} ${formatRun(res)}`);
      await sleep(500);
    }
  }
  const summary = {};
  for (const srv of servers) summary[srv.name] = summarize(runs[srv.name], srv);
  return { runs, summary };
}

function summarize(rs, srv) {
  const m = (k) => median(rs.map((x) => x[k]));
  const mem = memory(srv.pid);
  const s = {
    qps: round(m('qps'), 1), avgLatencyMs: round(m('avgLatencyMs'), 3), p50LatencyMs: round(m('p50LatencyMs'), 3),
    p99LatencyMs: round(m('p99LatencyMs'), 3), lossPct: round(m('lossPct'), 2), serverCpuPct: round(m('serverCpuPct'), 1),
    qpsPerCore: round(m('qps') / (m('serverCpuPct') / 100), 0),
    rssMiB: round(mem.rss / 1024, 1), pssMiB: round(mem.pss / 1024, 1), threads: mem.threads, processes: mem.processes,
  };
  if (rs.every((x) => x.cache)) s.cacheHitPct = round(median(rs.map((x) => x.cache.hitPct)), 2);
  return s;
}

export function printSummary(summary, { vs = [] } = {}) {
  const head = `  ${'server'.padEnd(NAME_WIDTH)}     q/s   avg ms   p50 ms   p99 ms  loss%  CPU%  q/s per core  RSS MiB  PSS MiB` + vs.map(([label]) => label.padStart(8)).join('');
  console.log(head);
  for (const [n, s] of Object.entries(summary)) {
    const cols = [String(Math.round(s.qps)).padStart(7), s.avgLatencyMs.toFixed(3).padStart(8), s.p50LatencyMs.toFixed(3).padStart(8),
      s.p99LatencyMs.toFixed(3).padStart(8), String(s.lossPct).padStart(6), String(Math.round(s.serverCpuPct)).padStart(5),
      String(s.qpsPerCore).padStart(13), String(s.rssMiB).padStart(8), String(s.pssMiB).padStart(8)];
    for (const [, other] of vs) cols.push(String(summary[other] ? round(s.qps / summary[other].qps, 3) : '-').padStart(8));
    console.log(`  ${n.padEnd(NAME_WIDTH)} ${cols.join(' ')}`);
  }
}
