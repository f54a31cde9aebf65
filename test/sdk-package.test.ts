/**
 * The light install (issue 22): packs packages/registry (the SDK built from this repository's
 * sources), installs the tarball into fresh temporary projects the way another project would -
 * TypeScript strict with module nodenext, and plain CommonJS - type-checks them and runs them
 * against a real etcd: two registrations, getService, watch. The install must pull none of the
 * server's dependencies, build no native addon and print no warning.
 *
 * Needs the npm registry for the consumers' own dependencies (etcd3, @types/node); npm's cache
 * makes later runs fast.
 */
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { REPO_ROOT } from './support/server.js';

const run = promisify(execFile);
const PACKAGE_DIR = join(REPO_ROOT, 'packages/registry');
const TSC = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
/** What only the DNS server needs: none of it may come with the SDK. */
const DOCS = join(REPO_ROOT, 'docs/registry.md');
/** The endpoint the snippets of docs/registry.md are written for; the test's etcd replaces it. */
const DOC_ENDPOINT = 'http://127.0.0.1:2379';
const SERVER_ONLY = ['dns2', 'prom-client', 'pino', 'pino-pretty', 'yargs', 'yaml', 'lru-cache'];

async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 << 20 });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/** Every file name under `dir`, recursively. */
function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const CONSUMER_TS = `
import { EtcdRegistry, isEtcdnsError, type Registration, type Service } from 'etcdns-registry';

const [endpoint, domain] = process.argv.slice(2) as [string, string];
// console as the logger: any console-like logger is accepted.
const registry = new EtcdRegistry({ endpoints: [endpoint], domain, leaseTtlSeconds: 5, logger: console });
const regs: Registration[] = [
  await registry.register({ service: 'consumer', id: 'c1', host: '127.0.0.1', port: 8001 }),
  await registry.register({ service: 'consumer', id: 'c2', host: '127.0.0.1', port: 8002, portName: 'http' }),
];
const service: Service = await registry.getService('consumer');
const ac = new AbortController();
let watched = 0;
for await (const s of registry.watch('consumer', ac.signal)) {
  watched = s.instances.length;
  if (watched === 2) ac.abort();
}
let code = '';
try {
  await registry.register({ service: 'consumer', id: 'c1', host: '127.0.0.1', port: 8001 });
} catch (err) {
  if (isEtcdnsError(err)) code = err.code;
}
await registry.close();
console.log(JSON.stringify({ keys: regs.map((r) => r.key), found: service.instances.map((i) => i.id + ':' + i.port), watched, code }));
`;

const CONSUMER_CJS = `
const { EtcdRegistry } = require('etcdns-registry');

async function main() {
  const [endpoint, domain] = process.argv.slice(2);
  const registry = new EtcdRegistry({ endpoints: [endpoint], domain, leaseTtlSeconds: 5 });
  await registry.register({ service: 'cjs', id: 'j1', host: '127.0.0.1', port: 9001 });
  await registry.register({ service: 'cjs', id: 'j2', host: '127.0.0.1', port: 9002 });
  const service = await registry.getService('cjs');
  let watched = 0;
  const ac = new AbortController();
  for await (const s of registry.watch('cjs', ac.signal)) {
    watched = s.instances.length;
    if (watched === 2) ac.abort();
  }
  await registry.close();
  console.log(JSON.stringify({ found: service.instances.map((i) => i.id), watched }));
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;

describe('etcdns-registry packed and installed into other projects (real etcd)', () => {
  let etcd: EtcdCluster;
  let root: string;
  let tarball: string;
  /** The TypeScript consumer project, once built (the docs' snippets are compiled in it too). */
  let tsProject: string | undefined;
  const snippets = [...readFileSync(DOCS, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'etcdns-sdk-consumer-'));
    etcd = await startEtcd();
    // prepack compiles the SDK's sources into packages/registry/dist.
    const { stdout } = await sh('npm', ['pack', '--pack-destination', root, '--json'], PACKAGE_DIR);
    const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(root, packed[0]!.filename);
    expect(existsSync(tarball)).toBe(true);
  }, 240_000);

  afterAll(async () => {
    await etcd?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A fresh project with `package.json`, then `npm install` of the tarball and `extra`; the install's output. */
  async function project(name: string, pkg: object, extra: string[]) {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...pkg }, null, 2));
    const out = await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'warn', tarball, ...extra], dir);
    return { dir, output: `${out.stdout}\n${out.stderr}` };
  }

  /** Where each package of the install comes from: name → the dependency paths leading to it. */
  async function dependencyPaths(dir: string): Promise<Map<string, string[]>> {
    const { stdout } = await sh('npm', ['ls', '--all', '--json'], dir);
    type Node = { dependencies?: Record<string, Node> };
    const paths = new Map<string, string[]>();
    const visit = (node: Node, path: string[]) => {
      for (const [name, child] of Object.entries(node.dependencies ?? {})) {
        const here = [...path, name];
        paths.set(name, [...(paths.get(name) ?? []), here.join(' > ')]);
        visit(child, here);
      }
    };
    visit(JSON.parse(stdout) as Node, []);
    return paths;
  }

  async function expectLight(dir: string, output: string) {
    // npm >= 11.19 runs no dependency install script unless the project allows it, and lists the
    // skipped ones: protobufjs's postinstall (etcd3's gRPC stack; a check of its own CLI's
    // dependencies, not needed). That list is the one thing npm may print; no EBADENGINE, no
    // other warning, nothing of the server, no addon compiled.
    const lines = output.split('\n').filter((l) => /warn|gyp/i.test(l));
    const others = lines.filter((l) => !/^npm warn install-scripts( |$)/.test(l));
    expect(others).toEqual([]);
    const skipped = lines.filter((l) => /^npm warn install-scripts {3}\S/.test(l)).map((l) => l.trim().split(/\s+/)[3]);
    for (const s of skipped) expect(s).toMatch(/^protobufjs@/);
    // None of the server's packages through the SDK. (etcd3's own tree has a yargs, for
    // @grpc/proto-loader's command line, via grpc-js: that one comes with any etcd3 user.)
    const paths = await dependencyPaths(dir);
    for (const name of SERVER_ONLY) for (const path of paths.get(name) ?? []) expect(path).toMatch(/^etcdns-registry > (etcd3|@grpc\/grpc-js) > /);
    expect(Object.keys((await import(join(dir, 'node_modules/etcdns-registry/package.json'), { with: { type: 'json' } })).default.dependencies)).toEqual(['cockatiel', 'etcd3']);
    expect(walk(join(dir, 'node_modules')).filter((f) => f.endsWith('.node'))).toEqual([]);
  }

  it('the SDK package keeps in step with etcdns: version, engines, and the ranges of the dependencies they share', () => {
    type Pkg = { version: string; engines: unknown; peerDependencies: unknown; dependencies: Record<string, string> };
    const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Pkg;
    const root = read(REPO_ROOT);
    const sdk = read(PACKAGE_DIR);
    expect(sdk.version).toBe(root.version);
    expect(sdk.engines).toEqual(root.engines);
    expect(sdk.peerDependencies).toEqual(root.peerDependencies);
    for (const [name, range] of Object.entries(sdk.dependencies)) expect(range, name).toBe(root.dependencies[name]);
  });

  it('TypeScript strict, module nodenext: installs light, type-checks, runs (two registrations, getService, watch)', async () => {
    const { dir, output } = await project('consumer-ts', { type: 'module' }, ['@types/node@20']);
    await expectLight(dir, output);
    // For the docs' gRPC snippet: what a user adds for etcdns-registry/grpc.
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error', '@grpc/grpc-js@^1.14'], dir);
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/main.ts'), CONSUMER_TS);
    snippets.forEach((code, i) => writeFileSync(join(dir, `src/doc-${i}.ts`), code.replaceAll(DOC_ENDPOINT, etcd.endpoints[0]!)));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'dist', skipLibCheck: false, types: ['node'] },
        include: ['src'],
      }),
    );
    await sh(process.execPath, [TSC, '-p', '.'], dir);
    const { stdout } = await sh(process.execPath, ['dist/main.js', etcd.endpoints[0]!, 'consumer.example.test'], dir);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      keys: ['/skydns/test/example/consumer/consumer/c1', '/skydns/test/example/consumer/consumer/_tcp/_http/c2'],
      found: ['c1:8001', 'c2:8002'],
      watched: 2,
      code: 'ETCDNS_ERR_REGISTRY_VALIDATION', // c1 twice in one registry
    });
    tsProject = dir;
  }, 240_000);

  it('every TypeScript snippet of docs/registry.md compiles (above) and runs against the real etcd', async () => {
    expect(tsProject, 'the TypeScript project is built by the test before').toBeDefined();
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < snippets.length; i++) {
      const code = snippets[i]!;
      const child = spawn(process.execPath, [`dist/doc-${i}.js`], { cwd: tsProject, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // A long-running service snippet: SIGTERM once it serves, as an orchestrator would.
        if (code.includes('installSignalHandlers') && stdout.includes('serving')) child.kill('SIGTERM');
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [exitCode, signal] = (await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))) as [number | null, string | null];
      const what = `snippet ${i} (${code.split('\n').find((l) => !l.startsWith('import') && l.trim() !== '')}): stdout ${stdout} stderr ${stderr}`;
      if (code.includes('installSignalHandlers')) expect(signal, what).toBe('SIGTERM');
      else expect(exitCode, what).toBe(0);
      expect(stderr, what).toBe('');
      if (code.includes("'ETCDNS_ERR_REGISTRY_TIMEOUT'")) expect(stdout, what).toContain('ETCDNS_ERR_REGISTRY_TIMEOUT');
      if (code.includes('takeover: true')) expect(stdout, what).toContain('first refused registering - second registered');
      if (code.includes('etcd:///greeter')) expect(stdout.trim(), what).toBe('hi');
      if (code.includes("service: 'payments', id: 'p1'")) expect(stdout, what).toContain("[ 'p1 127.0.0.1:8443' ] false");
    }
  }, 120_000);

  it('CommonJS: require() of the package works (Node >= 20.19), two registrations, getService, watch', async () => {
    const { dir, output } = await project('consumer-cjs', { type: 'commonjs' }, ['@types/node@20']);
    await expectLight(dir, output);
    writeFileSync(join(dir, 'main.cjs'), CONSUMER_CJS);
    const { stdout, stderr } = await sh(process.execPath, ['main.cjs', etcd.endpoints[0]!, 'cjs.example.test'], dir);
    expect(stderr).not.toMatch(/ExperimentalWarning/); // require(esm) is not experimental any more on >= 20.19
    expect(JSON.parse(stdout.trim())).toEqual({ found: ['j1', 'j2'], watched: 2 });

    // CommonJS TypeScript, as docs/registry.md says: module nodenext compiles the import to a
    // require() and runs; node16 refuses it (TS1479), which is why the docs name nodenext.
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'src/main.ts'),
      [
        "import { EtcdRegistry, isEtcdnsError } from 'etcdns-registry';",
        "const registry = new EtcdRegistry({ endpoints: ['http://127.0.0.1:1'], domain: 'cjs.example.test', syncTimeoutMs: 200 });",
        'registry.getService(\'x\').catch((err: unknown) => { console.log(isEtcdnsError(err) ? err.code : String(err)); return registry.close(); });',
      ].join('\n'),
    );
    const tsc = (module: string) => sh(process.execPath, [TSC, '--strict', '--module', module, '--moduleResolution', module, '--target', 'es2022', '--types', 'node', '--outDir', 'dist', 'src/main.ts'], dir);
    await expect(tsc('node16')).rejects.toThrow(/TS1479/);
    await tsc('nodenext');
    const ran = await sh(process.execPath, ['dist/main.js'], dir);
    expect(ran.stdout.trim()).toBe('ETCDNS_ERR_REGISTRY_TIMEOUT');
  }, 240_000);
});
