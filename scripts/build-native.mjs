// Builds native/udp_batch.c into native/build/udp_batch.node (`npm run build` runs this after
// tsc). One C file against Node-API, so the compiler is called directly: node-gyp would add
// python3 and a header download to every build for no gain. Node-API is ABI-stable, so an
// addon built with one Node runs on every later one.
//
// Optional by design: without Linux, a C compiler or Node's headers the server uses dgram
// (src/transport/udp-batch.ts) and this script only says why. ETCDNS_REQUIRE_NATIVE=1 (the
// test script sets it) turns that into a failure, so that CI never tests the fallback alone
// by accident.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'udp_batch.c');
const outDir = join(root, 'native', 'build');
const target = join(outDir, 'udp_batch.node');
const required = process.env.ETCDNS_REQUIRE_NATIVE === '1';

function skip(why) {
  const text = `native UDP addon not built: ${why}; etcdns will use Node's dgram`;
  if (required) {
    console.error(`build-native: ${text} (ETCDNS_REQUIRE_NATIVE=1)`);
    process.exit(1);
  }
  console.warn(`build-native: ${text}`);
  process.exit(0);
}

function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  return null;
}

/** Node's own headers: beside the node binary (Debian's /usr, the official images' /usr/local), or npm's nodedir. */
function nodeIncludeDir() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')].filter(Boolean);
  for (const prefix of candidates) {
    const dir = join(prefix, 'include', 'node');
    if (existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'uv.h'))) return dir;
  }
  return null;
}

if (process.platform !== 'linux') skip(`recvmmsg/sendmmsg are Linux calls (this is ${process.platform})`);
const cc = process.env.CC || onPath('cc') || onPath('gcc') || onPath('clang');
if (!cc) skip('no C compiler (cc, gcc or clang) on PATH');
const include = nodeIncludeDir();
if (!include) skip(`Node's headers (node_api.h, uv.h) not found under ${dirname(process.execPath)}/../include/node`);

if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs && statSync(target).mtimeMs >= statSync(fileURLToPath(import.meta.url)).mtimeMs) {
  process.exit(0); // up to date
}

mkdirSync(outDir, { recursive: true });
const partial = `${target}.${process.pid}.tmp`;
const args = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden', '-I', include, '-o', partial, source];
const r = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  rmSync(partial, { force: true });
  skip(`${cc} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}
// Renamed into place: a server starting meanwhile never loads half a file.
renameSync(partial, target);
console.log(`build-native: built ${target.slice(root.length + 1)} with ${cc}`);
