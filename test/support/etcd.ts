/**
 * Real etcd processes for integration tests: random loopback ports, temporary data dirs, one
 * or three members. Every process is stopped by its PID; a process 'exit' hook SIGKILLs any
 * that a failing test left behind, so etcd never outlives the test run.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { createEtcdClient } from '../../src/etcd/client.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  /** The running process's PID; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM by PID, wait for exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL by PID, wait for exit: a crash, no graceful shutdown. */
  kill(): Promise<void>;
  /** Starts again with the same data dir and ports; resolves once the member answers. */
  start(): Promise<void>;
  /** Puts through this member only (e.g. a survivor while another member is down). */
  put(key: string, value: string): Promise<void>;
  /** Deletes one key through this member only. */
  deleteKey(key: string): Promise<void>;
}

export interface EtcdCluster {
  endpoints: string[];
  members: EtcdMember[];
  /** A tuned client on all endpoints, for the test's own puts. */
  client: Etcd3;
  /** Runs `etcdctl --endpoints <all> ...args` (API v3); resolves with stdout. */
  etcdctl(args: string[]): Promise<string>;
  /** The cluster's current revision (a linearizable read). */
  revision(): Promise<number>;
  /** Compacts history up to `revision` (default: the current one) with etcdctl, physically. */
  compact(revision?: number): Promise<void>;
  /** Stops everything and removes the data dirs. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL per PID is.
  process.on('exit', () => {
    for (const child of live) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

/** The path of `name` on PATH, or undefined. */
function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function requireBinary(name: string): string {
  const path = which(name);
  if (path === undefined) {
    throw new Error(`${name} not found on PATH: run \`bash scripts/ensure-system-deps.sh\` (it installs etcd-server and etcd-client)`);
  }
  return path;
}

interface MemberPlan {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  private child: ChildProcess | undefined;
  private memberClient: Etcd3 | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** The last lines etcd wrote (it logs to stderr), for error messages. */
  private stderrTail: string[] = [];

  constructor(
    private readonly etcdPath: string,
    private readonly plan: MemberPlan,
    private readonly initialCluster: string,
    private readonly clusterToken: string,
  ) {
    this.name = plan.name;
    this.clientUrl = `http://127.0.0.1:${plan.clientPort}`;
    this.peerUrl = `http://127.0.0.1:${plan.peerPort}`;
  }

  get pid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  tail(): string {
    return this.stderrTail.join('\n');
  }

  /** Spawns etcd; does not wait for health (a 3-member cluster needs all members up first). */
  spawn(): void {
    if (this.pid !== undefined) throw new Error(`etcd member ${this.name} is already running`);
    const args = [
      '--name', this.name,
      '--data-dir', this.plan.dataDir,
      '--listen-client-urls', this.clientUrl,
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.peerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-token', this.clusterToken,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'warn',
    ];
    this.stderrTail = [];
    const child = spawn(this.etcdPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail.push(...chunk.split('\n').filter((l) => l !== ''));
      if (this.stderrTail.length > 30) this.stderrTail.splice(0, this.stderrTail.length - 30);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        resolve();
      });
      child.once('error', () => {
        live.delete(child);
        resolve();
      });
    });
    this.child = child;
  }

  /** Polls etcd's /health until it reports a leader and a working store. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.pid === undefined) {
        throw new Error(`etcd member ${this.name} exited (code ${String(this.child?.exitCode)}, signal ${String(this.child?.signalCode)}) before it was healthy; stderr tail:\n${this.tail()}`);
      }
      try {
        const res = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.ok && /"health"\s*:\s*"true"/.test(body)) return;
        last = `${res.status} ${body}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(50);
    }
    throw new Error(`etcd member ${this.name} not healthy within ${timeoutMs} ms (last: ${last}); stderr tail:\n${this.tail()}`);
  }

  async start(): Promise<void> {
    this.spawn();
    await this.waitHealthy(20_000);
  }

  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    signal(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.pid === pid) signal(pid, 'SIGKILL');
    }, 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** A client bound to this member alone, made on first use. */
  private own(): Etcd3 {
    this.memberClient ??= createEtcdClient({ endpoints: [this.clientUrl] });
    return this.memberClient;
  }

  async put(key: string, value: string): Promise<void> {
    await this.own().put(key).value(value);
  }

  async deleteKey(key: string): Promise<void> {
    await this.own().delete().key(key);
  }

  closeClient(): void {
    this.memberClient?.close();
    this.memberClient = undefined;
  }

  async kill(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    signal(pid, 'SIGKILL');
    await this.exited;
  }
}

/**
 * Starts a fresh etcd (1 or 3 members) and waits until every member is healthy. Throws, with
 * etcd's stderr tail, if it does not come up; retries on a port collision.
 */
export async function startEtcd(options: { members?: 1 | 3 } = {}): Promise<EtcdCluster> {
  const etcdPath = requireBinary('etcd');
  const etcdctlPath = requireBinary('etcdctl');
  installExitHook();
  const count = options.members ?? 1;

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'etcdns-etcd-'));
    const plans: MemberPlan[] = [];
    const ports = new Set<number>();
    while (ports.size < count * 2) ports.add(await freePort());
    const portList = [...ports];
    for (let i = 0; i < count; i++) {
      plans.push({ name: `m${i}`, clientPort: portList[2 * i]!, peerPort: portList[2 * i + 1]!, dataDir: join(root, `m${i}`) });
    }
    const initialCluster = plans.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const token = `etcdns-test-${process.pid}-${Date.now()}-${attempt}`;
    const members = plans.map((p) => new Member(etcdPath, p, initialCluster, token));
    try {
      for (const m of members) m.spawn();
      await Promise.all(members.map((m) => m.waitHealthy(20_000)));
    } catch (err) {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(root, { recursive: true, force: true });
      lastError = err;
      // Another process grabbed a port between our probe and etcd's bind: try new ports.
      if (members.some((m) => /address already in use/i.test(m.tail()))) continue;
      throw err;
    }

    const endpoints = members.map((m) => m.clientUrl);
    const client = createEtcdClient({ endpoints });
    const etcdctl = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          etcdctlPath,
          ['--endpoints', endpoints.join(','), '--command-timeout', '5s', ...args],
          { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`etcdctl ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
    const currentRevision = async () => {
      const res = await client.kv.range({ key: Buffer.from([0]), count_only: true });
      return Number(res.header.revision);
    };
    let stopped = false;
    return {
      endpoints,
      members,
      client,
      etcdctl,
      revision: currentRevision,
      async compact(revision?: number) {
        const rev = revision ?? (await currentRevision());
        await etcdctl(['compact', String(rev), '--physical']);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        client.close();
        for (const m of members) m.closeClient();
        await Promise.all(members.map((m) => m.stop()));
        rmSync(root, { recursive: true, force: true });
      },
    };
  }
  throw lastError;
}

/** Signals one process by PID; it may have exited on its own just now (ESRCH is fine). */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loopback TCP forwarder in front of an etcd member, to cut one client off without touching etcd. */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: give this to the client under test. */
  url: string;
  /** Drops every open connection and refuses new ones (accepted, then destroyed at once). */
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    block() {
      blocked = true;
      dropAll();
    },
    unblock() {
      blocked = false;
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
