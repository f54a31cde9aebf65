// Starting the servers under test (and etcd). Each start function returns
// { name, child, pid, port, ... }; `child` is tracked so that the harness stops it by PID.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { freePort, httpGet, httpStatus, startProc, state, waitFor, which } from './lib.mjs';
import { ZONE } from './data.mjs';

export function paths(root) {
  return { cli: join(root, 'dist/cli/main.js'), naive: join(root, 'bench/naive-dns2.mjs') };
}
export const knotdPath = () => which('knotd') || '/usr/sbin/knotd';

/** Whether this build of etcdns has the `serve` option `opt` (e.g. '--workers', '--rotate'). */
export function etcdnsHasOption(cli, opt) {
  const r = spawnSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' });
  return new RegExp(`${opt}\\b`).test(r.stdout + r.stderr);
}

// ---------- etcd ----------
export async function startEtcd() {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = startProc('etcd', 'etcd', ['--name', 'bench', '--data-dir', join(state.tmp, 'etcd-data'),
    '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `bench=${peerUrl}`,
    '--max-txn-ops', '10000', '--max-request-bytes', String(32 * 1024 * 1024), '--quota-backend-bytes', String(8 * 1024 ** 3),
    '--log-level', 'warn', '--logger', 'zap']);
  await waitFor('etcd', async () => (await httpStatus(`${url}/health`)) === 200, 20000, child);
  return { child, url };
}

/**
 * Put `count` keys, entry(i) = [key, value], in raw Txns of `batch` puts (etcd runs with
 * --max-txn-ops 10000). Entries are made batch by batch so that 1M keys never sit in memory at once.
 */
export async function etcdLoad(client, count, entry, batch = 5000) {
  for (let i = 0; i < count; i += batch) {
    const success = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const [k, v] = entry(j);
      success.push({ request_put: { key: Buffer.from(k), value: Buffer.from(v) } });
    }
    await client.kv.txn({ compare: [], success, failure: [] });
  }
}

// ---------- etcdns ----------
/**
 * etcdns serve on a free loopback port. Options: zonesDir (required), etcdUrl/prefix/zone (mirror
 * etcd), upstream (forward everything outside our zones there; otherwise --no-forwarding),
 * workers, metrics (serve /metrics on a free port), udpIo (--udp-io; default: etcdns' own, auto),
 * rotate ('on'|'off': --rotate; default: not passed, i.e. etcdns' own default, on; a build from
 * before load spreading does not know the option, so the baseline servers never get it).
 */
/**
 * The Node flags of an etcdns CLI's shebang (`#!/usr/bin/env -S node --flag ...`), with which
 * the bin, `npm start` and the Dockerfile's ENTRYPOINT start it (test/deploy.test.ts keeps them
 * equal): a young generation fixed at 4 MiB, collected on the main thread alone
 * (docs/performance.md). Read from each build's own file, so that a --baseline build runs with
 * the flags it shipped with.
 */
export function shippedNodeFlags(cli) {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node (.+)$/.exec(first);
  return m ? m[1].trim().split(/\s+/) : [];
}
/** This checkout's. */
export const SHIPPED_NODE_FLAGS = shippedNodeFlags(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
/**
 * Added to every etcdns: one log line per garbage collection, which the dnsperf runs read to
 * report the GC pauses of each run (gc-trace.mjs). A line a second at a steady 10k q/s.
 */
const TRACE_FLAGS = ['--trace-gc'];

export async function startEtcdns(name, cli, { zonesDir, etcdUrl, prefix, zone, upstream, workers, metrics, udpIo, rotate, extra = [], nodeFlags = shippedNodeFlags(cli) } = {}) {
  const port = await freePort();
  const ready = await freePort();
  const args = [cli, 'serve', '--listen', `127.0.0.1:${port}`, '--zones', zonesDir,
    '--health-listen', 'off', '--ready-listen', `127.0.0.1:${ready}`, '--lameduck', '0', '--log-level', 'warn'];
  let metricsUrl = null;
  if (metrics) {
    const mp = await freePort();
    args.push('--metrics-listen', `127.0.0.1:${mp}`);
    metricsUrl = `http://127.0.0.1:${mp}/metrics`;
  } else {
    args.push('--metrics-listen', 'off');
  }
  // The default forwarding would send anything outside our zones to /etc/resolv.conf's servers;
  // only the forwarder variant forwards, and only to the local Knot.
  if (upstream) args.push('--upstream', upstream, '--allow-recursion', '127.0.0.0/8');
  else args.push('--no-forwarding');
  if (etcdUrl) args.push('--etcd', etcdUrl, '--etcd-zone', zone ?? ZONE, '--etcd-prefix', prefix ?? '/skydns');
  if (workers) args.push('--workers', String(workers));
  if (udpIo) args.push('--udp-io', udpIo);
  if (rotate) args.push('--rotate', rotate);
  args.push(...extra);
  const child = startProc(name, process.execPath, [...nodeFlags, ...TRACE_FLAGS, ...args]);
  const readyMs = await waitFor(name, async () => (await httpStatus(`http://127.0.0.1:${ready}/ready`)) === 200, 600000, child);
  return { name, child, port, pid: child.pid, readyMs, metricsUrl, traceGc: true, args: [...nodeFlags, ...args.slice(1)].join(' ') };
}

/** Counters of etcdns_cache_requests_total by result (hit, miss, stale, ...) from /metrics. */
export async function cacheCounters(metricsUrl) {
  const { status, body } = await httpGet(metricsUrl);
  if (status !== 200) return null;
  const out = {};
  for (const m of body.matchAll(/^etcdns_cache_requests_total\{result="(\w+)"\} ([\d.e+]+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

// ---------- the naive dns2 server ----------
export async function startNaive(name, script, dataFile) {
  const port = await freePort();
  const child = startProc(name, process.execPath, [script, '--port', String(port), '--data', dataFile]);
  await waitFor(name, async () => readFileSync(child.logFile, 'utf8').includes('listening'), 20000, child);
  return { name, child, port, pid: child.pid };
}

// ---------- Knot DNS ----------
/** knotd serving zoneText as `zone`; `transferFrom`: an address allowed to AXFR it (Knot refuses transfers without an ACL). */
export async function startKnot(name, zoneText, { zone = ZONE, transferFrom } = {}) {
  const port = await freePort();
  const dir = join(state.tmp, name);
  for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'zones', `${zone}.zone`), zoneText);
  const acl = transferFrom ? `acl:\n  - id: transfer\n    address: ${transferFrom}\n    action: transfer\n` : '';
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, `server:
    rundir: "${dir}/run"
    listen: 127.0.0.1@${port}
log:
  - target: stderr
    any: warning
database:
    storage: "${dir}/storage"
${acl}template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: ${zone}
${transferFrom ? '    acl: transfer\n' : ''}`);
  const t0 = performance.now();
  const child = startProc(name, knotdPath(), ['-c', conf]);
  // Knot has no readiness endpoint: checkServer retries until the zone answers.
  return { name, child, port, pid: child.pid, conf, spawnedAt: t0 };
}
