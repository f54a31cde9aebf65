// Shared plumbing of the benchmark harness: process bookkeeping (we only ever stop what we
// started, by PID), /proc readings (CPU and memory of a process and its children), ports and
// small statistics helpers.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import http from 'node:http';

// ---------- temp dir and process bookkeeping ----------
export const state = { tmp: null };
const children = new Set();

export function track(child, name) {
  child.benchName = name;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function cleanup({ keepTmp = !!process.env.BENCH_KEEP_TMP } = {}) {
  for (const c of children) {
    // Descendants first (e.g. cluster workers), then the process we spawned.
    for (const pid of descendants(c.pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  children.clear();
  if (state.tmp && !keepTmp) { try { rmSync(state.tmp, { recursive: true, force: true }); } catch { /* */ } }
  state.tmp = null;
}

/** Abort the benchmark; the temp dir (logs, dnsperf output) is kept for a look. */
export function die(msg) {
  console.error(`bench: ${msg}`);
  if (state.tmp) console.error(`bench: temp dir kept: ${state.tmp}`);
  cleanup({ keepTmp: true });
  process.exit(1);
}

/** SIGTERM, SIGKILL after 3 s; then SIGKILL any descendant the process left behind. */
export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const kids = descendants(child.pid);
  const exited = new Promise((r) => child.once('exit', r));
  try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
  const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* */ } }, 3000);
  await exited; clearTimeout(t);
  for (const pid of kids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone, as it should be */ } }
}

export function startProc(name, cmd, args, opts = {}) {
  const logFile = join(state.tmp, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd: opts.cwd ?? state.tmp, env: { ...process.env, ...opts.env } });
  closeSync(fd);
  child.logFile = logFile;
  return track(child, name);
}

// ---------- /proc ----------
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** PIDs of every live descendant of pid (children of all its threads, recursively). */
export function descendants(pid) {
  const out = [];
  const walk = (p) => {
    for (const c of childPids(p)) { out.push(c); walk(c); }
  };
  walk(pid);
  return out;
}
function childPids(pid) {
  // /proc/<pid>/task/<tid>/children lists the children each thread forked (Linux ≥ 3.5 with
  // CONFIG_PROC_CHILDREN); fall back to scanning every /proc/<n>/stat for the parent PID.
  try {
    const kids = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (s) kids.push(...s.split(/\s+/).map(Number));
    }
    return kids;
  } catch (e) {
    if (e.code === 'ENOENT' && !safeExists(`/proc/${pid}`)) return [];
    const kids = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try { if (statFields(Number(d))[1] === String(pid)) kids.push(Number(d)); } catch { /* exited meanwhile */ }
    }
    return kids;
  }
}
function safeExists(p) { try { readdirSync(p); return true; } catch { return false; } }

/** Fields of /proc/<pid>/stat after "(comm)": index 0 = state (field 3), 1 = ppid, 11 = utime, 12 = stime. */
function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** utime+stime (all threads) of pid and its descendants, in clock ticks. */
export function cpuTicks(pid) {
  let t = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try { const f = statFields(p); t += Number(f[11]) + Number(f[12]); } catch { /* exited */ }
  }
  return t;
}

/** The CPU time (ms) each of `pids` spent per one of `n` operations while `run()` made them. */
export async function cpuMsPer(n, pids, run, digits = 3) {
  const t0s = pids.map(cpuTicks);
  await run();
  return pids.map((pid, i) => round((((cpuTicks(pid) - t0s[i]) / CLK_TCK) * 1000) / n, digits));
}

/**
 * Starts `send(i)` for i = 0..n-1 at `rate` per second on a fixed schedule, not waiting for one
 * before the next (as a writer that does not slow down when the server does), then waits for all.
 */
export async function onSchedule(n, rate, send) {
  const t0 = performance.now();
  const pending = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    pending.push(send(i));
  }
  await Promise.all(pending);
}

/**
 * RSS, peak RSS and PSS (KiB) summed over pid and its descendants; threads and process count.
 * Summed RSS counts pages that cluster workers share with the primary once per process; PSS
 * splits them, so it is the fairer total for a process tree.
 */
export function memory(pid) {
  const m = { rss: 0, hwm: 0, pss: 0, threads: 0, processes: 0 };
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const s = readFileSync(`/proc/${p}/status`, 'utf8');
      const get = (k, text = s) => Number((text.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
      m.rss += get('VmRSS'); m.hwm += get('VmHWM'); m.threads += get('Threads'); m.processes++;
      try { m.pss += get('Pss', readFileSync(`/proc/${p}/smaps_rollup`, 'utf8')); } catch { m.pss = NaN; }
    } catch { /* exited */ }
  }
  return m;
}

// ---------- network ----------
/** A port free on both TCP and UDP on 127.0.0.1 (race-prone in theory, fine on a quiet box). */
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((res, rej) => {
      const s = createTcpServer(); s.once('error', rej);
      s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    });
    const ok = await new Promise((res) => {
      const u = createSocket('udp4'); u.once('error', () => res(false));
      u.bind(port, '127.0.0.1', () => u.close(() => res(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port');
}

export function httpGet(url) {
  return new Promise((res) => {
    const req = http.get(url, { timeout: 2000 }, (r) => {
      let body = '';
      r.setEncoding('utf8'); r.on('data', (d) => { body += d; }); r.on('end', () => res({ status: r.statusCode, body }));
    });
    req.on('error', () => res({ status: 0, body: '' }));
    req.on('timeout', () => { req.destroy(); res({ status: 0, body: '' }); });
  });
}
export const httpStatus = async (url) => (await httpGet(url)).status;

export async function waitFor(what, fn, timeoutMs, child) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (child && child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode}; see ${child.logFile}`);
    if (await fn()) return performance.now() - t0;
    await sleep(10);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${child ? `; see ${child.logFile}` : ''}`);
}

// ---------- small helpers ----------
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => {
  const s = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Nearest-rank percentile of an ascending array. */
export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);
export const round = (x, d = 2) => (x == null || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
export const ratio = (a, b, d = 3) => (a == null || b == null || !b ? null : round(a / b, d));
export const which = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim() || null;
