#!/usr/bin/env node
// `npm run bench`: etcdns (zone file), etcdns (etcd), a naive dns2 server and Knot DNS, on one
// data set, under the same dnsperf query mix; plus etcd→DNS propagation and initial sync time/RSS.
// Not part of `npm test`. See bench/README.md for what is measured and how to read it.
//
// Options: --services N (1000)  --rounds R (3)  --duration S (10)  --clients C (4)
//          --max-qps Q (1000000)  --puts P (200)  --big (adds 1M keys to the sync test)
//          --only a,b (servers: etcdns-zone,etcdns-etcd,naive-dns2,knot; "none" skips dnsperf)
//          --no-sync  --no-propagation
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import http from 'node:http';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const ALL_SERVERS = ['etcdns-zone', 'etcdns-etcd', 'naive-dns2', 'knot'];
const ZONE = 'bench.test';

// ---------- options ----------
function parseArgs(argv) {
  const o = { services: 1000, rounds: 3, duration: 10, clients: 4, maxQps: 1000000, puts: 200, big: false,
    only: ALL_SERVERS, sync: true, propagation: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { const v = argv[++i]; if (v === undefined) die(`${a} needs a value`); return v; };
    switch (a) {
      case '--services': o.services = int(val(), a); break;
      case '--rounds': o.rounds = int(val(), a); break;
      case '--duration': o.duration = int(val(), a); break;
      case '--clients': o.clients = int(val(), a); break;
      case '--max-qps': o.maxQps = int(val(), a); break;
      case '--puts': o.puts = int(val(), a); break;
      case '--big': o.big = true; break;
      case '--no-sync': o.sync = false; break;
      case '--no-propagation': o.propagation = false; break;
      case '--only': {
        const v = val();
        o.only = v === 'none' ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of o.only) if (!ALL_SERVERS.includes(s)) die(`--only: unknown server ${s} (known: ${ALL_SERVERS.join(',')})`);
        break;
      }
      case '-h': case '--help':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(4, 9).join('\n'));
        process.exit(0);
      default: die(`unknown option ${a}`);
    }
  }
  return o;
}
function int(v, name) { const n = Number(v); if (!Number.isInteger(n) || n <= 0) die(`${name}: want a positive integer, got ${v}`); return n; }
function die(msg) { console.error(`bench: ${msg}`); cleanup(); process.exit(1); }

// ---------- process bookkeeping: we only ever stop what we started, by PID ----------
const children = new Set();
let TMP;
function track(child, name) {
  child.benchName = name;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function cleanup() {
  for (const c of children) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  children.clear();
  if (TMP && !process.env.BENCH_KEEP_TMP) { try { rmSync(TMP, { recursive: true, force: true }); } catch { /* */ } }
}
async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
  const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* */ } }, 3000);
  await exited; clearTimeout(t);
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

// ---------- small helpers ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
const round = (x, d = 2) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);
const which = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim() || null;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function cpuTicks(pid) {
  // /proc/<pid>/stat: fields after the ")" — utime is field 14, stime 15 (1-based).
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
function rssKiB(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
  return { rss: get('VmRSS'), hwm: get('VmHWM'), threads: get('Threads') };
}

async function freePort() {
  // A port free on both TCP and UDP on 127.0.0.1 (race-prone in theory, fine on a quiet box).
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

function httpStatus(url) {
  return new Promise((res) => {
    const req = http.get(url, { timeout: 500 }, (r) => { r.resume(); res(r.statusCode); });
    req.on('error', () => res(0)); req.on('timeout', () => { req.destroy(); res(0); });
  });
}
async function waitFor(what, fn, timeoutMs, child) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (child && child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode}; see ${child.logFile}`);
    if (await fn()) return performance.now() - t0;
    await sleep(10);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${child ? `; see ${child.logFile}` : ''}`);
}

function startProc(name, cmd, args, opts = {}) {
  const logFile = join(TMP, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd: opts.cwd ?? TMP, env: { ...process.env, ...opts.env } });
  closeSync(fd);
  child.logFile = logFile;
  return track(child, name);
}

// ---------- tools ----------
function ensureTools() {
  const need = { dnsperf: 'dnsperf', knotd: 'knot', dig: 'dnsutils', etcd: 'etcd-server' };
  const missing = Object.entries(need).filter(([bin]) => !which(bin) && !existsSync(`/usr/sbin/${bin}`));
  if (!missing.length) return;
  const pkgs = [...new Set(missing.map(([, p]) => p))];
  if (process.getuid && process.getuid() === 0) {
    console.log(`bench: installing ${pkgs.join(' ')} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
    if (r.status !== 0) die(`apt-get install ${pkgs.join(' ')} failed`);
  } else {
    die(`missing ${missing.map(([b]) => b).join(', ')}; install with: sudo apt-get install -y ${pkgs.join(' ')}`);
  }
}
const knotdPath = () => which('knotd') || '/usr/sbin/knotd';

function versions() {
  const first = (cmd, args) => { try { const r = spawnSync(cmd, args, { encoding: 'utf8' }); return (r.stdout + r.stderr).split('\n').find((l) => /\d+\.\d+/.test(l))?.trim() ?? '?'; } catch { return '?'; } };
  return {
    node: process.version,
    etcdns: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    dns2: JSON.parse(readFileSync(join(ROOT, 'node_modules/dns2/package.json'), 'utf8')).version,
    etcd3: JSON.parse(readFileSync(join(ROOT, 'node_modules/etcd3/package.json'), 'utf8')).version,
    knotd: first(knotdPath(), ['--version']),
    dnsperf: first('dnsperf', ['-h']),
    etcd: first('etcd', ['--version']),
  };
}

// ---------- data set ----------
function ipOf(index) { return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`; }
function genData(n) {
  // Service svcI has instances x1..x3 with addresses ipOf(3I+k); SkyDNS shape (see README):
  // svcI.bench.test A  -> the 3 addresses; svcI.bench.test SRV -> 3 x "10 33 8080 xK.svcI.bench.test."
  // xK.svcI.bench.test A -> one address (the SRV targets).
  const services = [];
  for (let i = 0; i < n; i++) services.push({ name: `svc${i}`, inst: [1, 2, 3].map((k) => ({ label: `x${k}`, ip: ipOf(3 * i + k) })) });
  return services;
}
function zoneFile(services) {
  const out = [`$ORIGIN ${ZONE}.`, '$TTL 10', '@ SOA ns.dns hostmaster 1 7200 1800 86400 10', '@ NS ns.dns', 'ns.dns A 10.255.255.254'];
  for (const s of services) {
    for (const x of s.inst) out.push(`${s.name} A ${x.ip}`);
    for (const x of s.inst) out.push(`${s.name} SRV 10 33 8080 ${x.label}.${s.name}`);
    for (const x of s.inst) out.push(`${x.label}.${s.name} A ${x.ip}`);
  }
  return out.join('\n') + '\n';
}
function naiveRecords(services) {
  const r = [];
  for (const s of services) {
    const fq = `${s.name}.${ZONE}`;
    for (const x of s.inst) r.push({ name: fq, type: 'A', ttl: 10, address: x.ip });
    for (const x of s.inst) r.push({ name: fq, type: 'SRV', ttl: 10, priority: 10, weight: 33, port: 8080, target: `${x.label}.${fq}` });
    for (const x of s.inst) r.push({ name: `${x.label}.${fq}`, type: 'A', ttl: 10, address: x.ip });
  }
  return { zone: ZONE, records: r };
}
function queryFile(services) {
  // Exactly 70% A / 30% SRV: 7 A and 3 SRV lines per service, shuffled with a fixed seed.
  const lines = [];
  for (const s of services) {
    for (let k = 0; k < 7; k++) lines.push(`${s.name}.${ZONE} A`);
    for (let k = 0; k < 3; k++) lines.push(`${s.name}.${ZONE} SRV`);
  }
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = lines.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [lines[i], lines[j]] = [lines[j], lines[i]]; }
  return lines.join('\n') + '\n';
}

// ---------- etcd ----------
async function startEtcd() {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = startProc('etcd', 'etcd', ['--name', 'bench', '--data-dir', join(TMP, 'etcd-data'),
    '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `bench=${peerUrl}`,
    '--max-txn-ops', '10000', '--max-request-bytes', String(32 * 1024 * 1024), '--quota-backend-bytes', String(8 * 1024 ** 3),
    '--log-level', 'warn', '--logger', 'zap']);
  await waitFor('etcd', async () => (await httpStatus(`${url}/health`)) === 200, 20000, child);
  return { child, url };
}
async function etcdLoad(client, entries, batch = 5000) {
  // entries: [key, value] — raw Txn of up to `batch` puts (etcd started with --max-txn-ops 10000).
  for (let i = 0; i < entries.length; i += batch) {
    const success = entries.slice(i, i + batch).map(([k, v]) => ({ request_put: { key: Buffer.from(k), value: Buffer.from(v) } }));
    await client.kv.txn({ compare: [], success, failure: [] });
  }
}

// ---------- servers ----------
async function startEtcdns(name, { zonesDir, etcdUrl, prefix, zone }) {
  const port = await freePort();
  const ready = await freePort();
  const args = [join(ROOT, 'dist/cli/main.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--zones', zonesDir,
    '--health-listen', 'off', '--metrics-listen', 'off', '--ready-listen', `127.0.0.1:${ready}`, '--lameduck', '0',
    '--no-forwarding', '--log-level', 'warn'];
  if (etcdUrl) args.push('--etcd', etcdUrl, '--etcd-zone', zone ?? ZONE, '--etcd-prefix', prefix ?? '/skydns');
  const t0 = performance.now();
  const child = startProc(name, process.execPath, args);
  const readyMs = await waitFor(name, async () => (await httpStatus(`http://127.0.0.1:${ready}/ready`)) === 200, 600000, child);
  return { name, child, port, pid: child.pid, readyMs, spawnedAt: t0 };
}
async function startNaive(dataFile) {
  const port = await freePort();
  const child = startProc('naive-dns2', process.execPath, [join(BENCH, 'naive-dns2.mjs'), '--port', String(port), '--data', dataFile]);
  await waitFor('naive-dns2', async () => readFileSync(child.logFile, 'utf8').includes('listening'), 20000, child);
  return { name: 'naive-dns2', child, port, pid: child.pid };
}
async function startKnot(zoneText) {
  const port = await freePort();
  const dir = join(TMP, 'knot');
  for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'zones', `${ZONE}.zone`), zoneText);
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, `server:
    rundir: "${dir}/run"
    listen: 127.0.0.1@${port}
log:
  - target: stderr
    any: warning
database:
    storage: "${dir}/storage"
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: ${ZONE}
`);
  const child = startProc('knot', knotdPath(), ['-c', conf]);
  return { name: 'knot', child, port, pid: child.pid, conf };
}

// ---------- checks ----------
function dig(port, name, type) {
  const r = spawnSync('dig', ['@127.0.0.1', '-p', String(port), name, type, '+norecurse', '+time=1', '+tries=2'], { encoding: 'utf8' });
  const out = r.stdout;
  const status = (out.match(/status: (\w+)/) || [])[1];
  const aa = /flags:[^;]*\baa\b/.test(out);
  const answers = [];
  const sec = out.split(';; ANSWER SECTION:')[1];
  if (sec) for (const l of sec.split('\n\n')[0].split('\n')) { const f = l.trim().split(/\s+/); if (f.length >= 5) answers.push(f.slice(3).join(' ')); }
  return { status, aa, answers, raw: out };
}
async function checkServer(srv, services) {
  const want = (s) => ({
    a: s.inst.map((x) => `A ${x.ip}`).sort(),
    srvTargets: s.inst.map((x) => `${x.label}.${s.name}.${ZONE}.`).sort(),
  });
  const problems = [];
  for (const s of [services[0], services[services.length - 1]]) {
    const w = want(s);
    let a;
    // Knot and a just-started server may need a moment: retry a few times.
    for (let i = 0; i < 50; i++) { a = dig(srv.port, `${s.name}.${ZONE}`, 'A'); if (a.status === 'NOERROR' && a.answers.length) break; await sleep(100); }
    if (a.status !== 'NOERROR' || !a.aa || JSON.stringify(a.answers.sort()) !== JSON.stringify(w.a)) problems.push(`${s.name} A: status=${a.status} aa=${a.aa} answers=${JSON.stringify(a.answers)} want ${JSON.stringify(w.a)}`);
    const r = dig(srv.port, `${s.name}.${ZONE}`, 'SRV');
    const targets = r.answers.filter((x) => x.startsWith('SRV ')).map((x) => x.split(' ').pop()).sort();
    const ports = r.answers.map((x) => x.split(' ')[3]);
    if (r.status !== 'NOERROR' || !r.aa || JSON.stringify(targets) !== JSON.stringify(w.srvTargets) || ports.some((p) => p !== '8080')) problems.push(`${s.name} SRV: status=${r.status} aa=${r.aa} answers=${JSON.stringify(r.answers)} want targets ${JSON.stringify(w.srvTargets)} port 8080`);
    if (!/ADDITIONAL SECTION:[\s\S]*x1\./.test(r.raw)) srv.note = 'no target addresses in ADDITIONAL for SRV';
  }
  if (problems.length) die(`${srv.name} answers wrongly on 127.0.0.1:${srv.port} (log: ${srv.child.logFile}):\n  ${problems.join('\n  ')}`);
}

// ---------- dnsperf ----------
async function runDnsperf(srv, qfile, o, tag) {
  const outFile = join(TMP, `dnsperf-${tag}.out`);
  const fd = openSync(outFile, 'w');
  const ticks0 = cpuTicks(srv.pid);
  const t0 = performance.now();
  // -v: one line per query with its latency (for p99); written straight to a file so that parsing
  // costs nothing during the run. It costs dnsperf some CPU, the same for every server.
  const child = track(spawn('dnsperf', ['-s', '127.0.0.1', '-p', String(srv.port), '-d', qfile, '-l', String(o.duration),
    '-c', String(o.clients), '-q', '100', '-Q', String(o.maxQps), '-t', '2', '-v'], { stdio: ['ignore', fd, fd] }), 'dnsperf');
  closeSync(fd);
  const code = await new Promise((r) => child.on('exit', r));
  const wall = (performance.now() - t0) / 1000;
  const ticks1 = cpuTicks(srv.pid);
  if (code !== 0) die(`dnsperf against ${srv.name} exited ${code}; see ${outFile}`);
  const lat = [];
  let stats = '';
  const rl = createInterface({ input: createReadStream(outFile), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.startsWith('> ')) { const v = Number(line.slice(line.lastIndexOf(' ') + 1)); if (!Number.isNaN(v)) lat.push(v); }
    else if (!line.startsWith('[Timeout]')) stats += line + '\n';
  }
  const num = (re) => { const m = stats.match(re); return m ? Number(m[1]) : null; };
  const sorted = Float64Array.from(lat).sort();
  const rcodes = (stats.match(/Response codes:\s+(.*)/) || [])[1] ?? '';
  rmSync(outFile, { force: true });
  return {
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
}

// ---------- propagation ----------
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
async function measurePropagation(etcd, srv, puts) {
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
async function measureSync(etcd, etcdUrl, sizes) {
  const out = [];
  const emptyDir = join(TMP, 'empty-zones');
  mkdirSync(emptyDir, { recursive: true });
  for (const size of [0, ...sizes]) {
    const prefix = `/sync${size}`;
    const zone = 'sync.test';
    const entries = [];
    for (let i = 0; i < size; i++) entries.push([`${prefix}/test/sync/s${Math.floor(i / 3)}/x${i % 3}`, JSON.stringify({ host: ipOf(i + 1), port: 8080 })]);
    const l0 = performance.now();
    await etcdLoad(etcd, entries);
    const loadMs = performance.now() - l0;
    entries.length = 0;
    const srv = await startEtcdns(`etcdns-sync-${size}`, { zonesDir: emptyDir, etcdUrl, prefix, zone });
    await sleep(1000);
    const mem = rssKiB(srv.pid);
    let check = 'n/a';
    if (size) {
      const last = size - 1;
      const d = dig(srv.port, `x${last % 3}.s${Math.floor(last / 3)}.${zone}`, 'A');
      check = d.answers.includes(`A ${ipOf(last + 1)}`) ? 'ok' : `WRONG: ${d.status} ${JSON.stringify(d.answers)}`;
    }
    await stop(srv.child);
    const row = { keys: size, etcdLoadMs: Math.round(loadMs), spawnToReadyMs: Math.round(srv.readyMs), rssMiB: round(mem.rss / 1024, 1), peakRssMiB: round(mem.hwm / 1024, 1), lastKeyAnswered: check };
    console.log(`  sync ${String(size).padStart(7)} keys: spawn→/ready ${row.spawnToReadyMs} ms, RSS ${row.rssMiB} MiB (peak ${row.peakRssMiB} MiB), last key ${check}  [etcd load ${row.etcdLoadMs} ms]`);
    out.push(row);
    await etcd.delete().prefix(prefix);
  }
  return out;
}

// ---------- SVG ----------
function svgChart(summary, meta) {
  const names = Object.keys(summary);
  const W = 760, H = 120 + names.length * 56, left = 150, barMax = 480;
  const maxQ = Math.max(1, ...names.map((n) => summary[n].qps ?? 0));
  const colors = { 'etcdns-zone': '#2b7bb9', 'etcdns-etcd': '#5aa1d8', 'naive-dns2': '#b0b0b0', knot: '#e07b39' };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let y = 70;
  const bars = names.map((n) => {
    const s = summary[n];
    const w = Math.max(1, ((s.qps ?? 0) / maxQ) * barMax);
    const g = `<text x="${left - 10}" y="${y + 22}" text-anchor="end" font-size="14">${esc(n)}</text>
  <rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="34" fill="${colors[n] ?? '#888'}"/>
  <text x="${(left + w + 6).toFixed(1)}" y="${y + 15}" font-size="13">${Math.round(s.qps ?? 0).toLocaleString('en-US')} q/s</text>
  <text x="${(left + w + 6).toFixed(1)}" y="${y + 30}" font-size="11" fill="#555">avg ${s.avgLatencyMs?.toFixed(2)} ms, p99 ${s.p99LatencyMs?.toFixed(2)} ms, CPU ${Math.round(s.serverCpuPct ?? 0)}%</text>`;
    y += 56;
    return g;
  }).join('\n  ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="20" y="28" font-size="17" font-weight="bold">UDP throughput, median of ${meta.rounds} round(s) (queries/s, higher is better)</text>
  <text x="20" y="50" font-size="12" fill="#555">${esc(`${meta.services} services, 70% A / 30% SRV, dnsperf -c ${meta.clients} -l ${meta.duration}s; ${meta.nproc} × ${meta.cpu}; ${meta.date}`)}</text>
  ${bars}
  <text x="20" y="${H - 16}" font-size="11" fill="#555">dnsperf runs on the same ${meta.nproc}-core machine as the server and competes with it for CPU.</text>
</svg>
`;
}

// ---------- main ----------
async function main() {
  const o = parseArgs(process.argv.slice(2));
  ensureTools();
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    console.log('bench: building (npm run build)');
    if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) die('build failed');
  }
  const { Etcd3 } = await import('etcd3');
  TMP = mkdtempSync(join(tmpdir(), 'etcdns-bench-'));
  const facts = {
    date: new Date().toISOString(), nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpu: cpus()[0]?.model ?? '?', versions: versions(),
  };
  console.log('etcdns benchmark');
  console.log(`  options: ${JSON.stringify(o)}`);
  console.log(`  machine: nproc=${facts.nproc}, CPU ${facts.cpu}, node ${facts.versions.node}`);
  console.log(`  versions: ${Object.entries(facts.versions).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  console.log(`  temp dir: ${TMP}`);

  const services = genData(o.services);
  const zoneText = zoneFile(services);
  const zonesDir = join(TMP, 'zones'); mkdirSync(zonesDir);
  writeFileSync(join(zonesDir, `${ZONE}.zone`), zoneText);
  const naiveData = join(TMP, 'naive.json'); writeFileSync(naiveData, JSON.stringify(naiveRecords(services)));
  const qfile = join(TMP, 'queries.txt'); writeFileSync(qfile, queryFile(services));
  const emptyZones = join(TMP, 'no-zones'); mkdirSync(emptyZones);

  const needEtcd = o.only.includes('etcdns-etcd') || o.propagation || o.sync;
  let etcd, etcdClient;
  if (needEtcd) {
    etcd = await startEtcd();
    etcdClient = new Etcd3({ hosts: etcd.url });
    const entries = [];
    for (const s of services) for (const x of s.inst) entries.push([`/skydns/test/bench/${s.name}/${x.label}`, JSON.stringify({ host: x.ip, port: 8080 })]);
    await etcdLoad(etcdClient, entries);
    console.log(`  etcd ${etcd.url}: loaded ${entries.length} keys`);
  }

  const servers = {};
  const needEtcdns = new Set(o.only);
  if (o.propagation) needEtcdns.add('etcdns-etcd');
  for (const name of ALL_SERVERS.filter((n) => needEtcdns.has(n))) {
    if (name === 'etcdns-zone') servers[name] = await startEtcdns(name, { zonesDir });
    if (name === 'etcdns-etcd') servers[name] = await startEtcdns(name, { zonesDir: emptyZones, etcdUrl: etcd.url });
    if (name === 'naive-dns2') servers[name] = await startNaive(naiveData);
    if (name === 'knot') servers[name] = await startKnot(zoneText);
  }
  for (const srv of Object.values(servers)) {
    await checkServer(srv, services);
    console.log(`  ${srv.name.padEnd(12)} 127.0.0.1:${srv.port} pid ${srv.pid}: answers A and SRV correctly${srv.note ? ` (${srv.note})` : ''}`);
  }

  // Alternate servers within each round, rotating the order from round to round.
  const runs = {};
  const order = o.only.slice();
  for (let r = 0; r < o.rounds && order.length; r++) {
    const rot = order.map((_, i) => order[(i + r) % order.length]);
    for (const name of rot) {
      const res = await runDnsperf(servers[name], qfile, o, `${name}-${r}`);
      (runs[name] ??= []).push(res);
      console.log(`  round ${r + 1}/${o.rounds} ${name.padEnd(12)} ${Math.round(res.qps).toString().padStart(7)} q/s  avg ${res.avgLatencyMs.toFixed(3)} ms  p99 ${res.p99LatencyMs.toFixed(3)} ms  loss ${res.lossPct}%  server CPU ${res.serverCpuPct.toFixed(0)}%  [${res.rcodes}]`);
      await sleep(500);
    }
  }
  const summary = {};
  for (const [name, rs] of Object.entries(runs)) {
    const m = (k) => median(rs.map((x) => x[k]));
    summary[name] = { qps: round(m('qps'), 1), avgLatencyMs: round(m('avgLatencyMs'), 3), p50LatencyMs: round(m('p50LatencyMs'), 3), p99LatencyMs: round(m('p99LatencyMs'), 3),
      lossPct: round(m('lossPct'), 2), serverCpuPct: round(m('serverCpuPct'), 1), qpsPerCorePct: round(m('qps') / (m('serverCpuPct') / 100), 0) };
    const mem = rssKiB(servers[name].pid);
    summary[name].rssMiB = round(mem.rss / 1024, 1);
    summary[name].threads = mem.threads;
  }
  for (const [name, s] of Object.entries(summary)) {
    if (summary.knot) s.vsKnot = { qps: round(s.qps / summary.knot.qps, 3), avgLatency: round(s.avgLatencyMs / summary.knot.avgLatencyMs, 2), p99Latency: round(s.p99LatencyMs / summary.knot.p99LatencyMs, 2) };
    if (summary['naive-dns2']) s.vsNaiveDns2 = { qps: round(s.qps / summary['naive-dns2'].qps, 3), avgLatency: round(s.avgLatencyMs / summary['naive-dns2'].avgLatencyMs, 2), p99Latency: round(s.p99LatencyMs / summary['naive-dns2'].p99LatencyMs, 2) };
  }
  if (Object.keys(summary).length) {
    console.log(`\nMedians over ${o.rounds} round(s):`);
    console.log('  server          q/s   avg ms   p99 ms  loss%  CPU%  q/s per core  RSS MiB  ×knot  ×dns2');
    for (const [n, s] of Object.entries(summary)) {
      console.log(`  ${n.padEnd(12)} ${String(Math.round(s.qps)).padStart(7)} ${s.avgLatencyMs.toFixed(3).padStart(8)} ${s.p99LatencyMs.toFixed(3).padStart(8)} ${String(s.lossPct).padStart(6)} ${String(Math.round(s.serverCpuPct)).padStart(5)} ${String(s.qpsPerCorePct).padStart(13)} ${String(s.rssMiB).padStart(8)} ${String(s.vsKnot?.qps ?? '-').padStart(6)} ${String(s.vsNaiveDns2?.qps ?? '-').padStart(6)}`);
    }
  }

  let propagation = null;
  if (o.propagation) {
    console.log(`\nPropagation (etcd put → answer from etcdns-etcd), ${o.puts} puts:`);
    propagation = await measurePropagation(etcdClient, servers['etcdns-etcd'], o.puts);
    console.log(`  p50 ${propagation.p50Ms} ms, p99 ${propagation.p99Ms} ms, max ${propagation.maxMs} ms, not seen within 5 s: ${propagation.timeouts} (etcd put ack p50 ${propagation.etcdPutAckP50Ms} ms)`);
  }
  for (const srv of Object.values(servers)) await stop(srv.child);

  let sync = null;
  if (o.sync) {
    console.log('\nInitial sync (fresh etcdns process, keys under one etcd zone; 0 keys = baseline):');
    sync = await measureSync(etcdClient, etcd.url, o.big ? [10000, 100000, 1000000] : [10000, 100000]);
  }
  if (etcdClient) etcdClient.close();
  if (etcd) await stop(etcd.child);

  const result = {
    facts, options: o,
    dataSet: { zone: ZONE, services: o.services, instancesPerService: 3, queryMix: '70% <svc>.bench.test A, 30% <svc>.bench.test SRV', shape: 'SkyDNS: A and SRV at the service name, SRV targets x1..x3.<svc>.bench.test' },
    dnsperf: { args: `-c ${o.clients} -q 100 -Q ${o.maxQps} -t 2 -l ${o.duration} -v`, transport: 'udp', summary, runs },
    propagation, sync,
    notes: [
      'dnsperf runs on the same machine as the servers and competes for CPU; absolute q/s are machine-bound, ratios are the point.',
      'Latency percentiles come from dnsperf -v per-query lines (answered queries only; lost queries are counted in loss%).',
      'serverCpuPct: (utime+stime delta from /proc/<pid>/stat) / wall time of the run; 100 = one core. knotd uses several threads, etcdns and naive-dns2 one main thread.',
    ],
  };
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  writeFileSync(join(BENCH, 'results', 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  if (Object.keys(summary).length) writeFileSync(join(BENCH, 'results', 'throughput.svg'), svgChart(summary, { ...o, ...facts }));
  console.log(`\nWrote bench/results/latest.json${Object.keys(summary).length ? ' and bench/results/throughput.svg' : ''}`);
}

main().then(() => { cleanup(); process.exit(0); }, (e) => { console.error(e?.stack ?? e); cleanup(); process.exit(1); });
