/**
 * The SDK (`etcdns`, `etcdns/registry`, `etcdns/grpc`) must not load the DNS server: an
 * application that registers itself in etcd should not pay for (or break on) the server's
 * sources, table, resolver, chain, wire or transport. The boundaries lint forbids direct imports
 * from src/registry/; this test follows every import, type-only ones included, from the SDK's
 * entry points to the whole closure, so an indirect path (through etcd/, skydns/ or a
 * top-level utility) is caught too.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Server folders the SDK may never reach. */
const SERVER = ['sources', 'table', 'resolve', 'chain', 'wire', 'transport'];

function sdkEntries(): string[] {
  const registry = readdirSync(join(SRC, 'registry'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(SRC, 'registry', f));
  return [join(SRC, 'index.ts'), ...registry];
}

/** Our own modules `file` imports (static, dynamic, `import type`, `export … from`), as .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
}

/** Every file reachable from `entries`, with the path that first reached it (for the message). */
function closure(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue: [string, string[]][] = entries.map((e) => [e, [e]]);
  while (queue.length > 0) {
    const [file, path] = queue.shift()!;
    if (seen.has(file)) continue;
    seen.set(file, path);
    for (const next of importsOf(file)) queue.push([next, [...path, next]]);
  }
  return seen;
}

describe('SDK import closure', () => {
  const reached = closure(sdkEntries());
  const rel = (f: string) => relative(SRC, f);

  it('reaches only files that exist (the walk follows real imports)', () => {
    const missing = [...reached.keys()].filter((f) => !existsSync(f)).map(rel);
    expect(missing).toEqual([]);
    // The walk works: the shared etcd client and SkyDNS codec are in the closure.
    expect(reached.has(join(SRC, 'etcd/client.ts'))).toBe(true);
    expect(reached.has(join(SRC, 'skydns/codec.ts'))).toBe(true);
  });

  it('contains no file of the DNS server', () => {
    const server = [...reached.entries()]
      .filter(([f]) => SERVER.includes(rel(f).split('/')[0]!) || rel(f) === 'app.ts' || rel(f).startsWith('cli/'))
      .map(([, path]) => path.map(rel).join(' -> '));
    expect(server).toEqual([]);
  });

  it('would catch a server file reached indirectly', () => {
    // The same walk from the composition root must find the server's layers: the check above
    // is not vacuous.
    const fromApp = [...closure([join(SRC, 'app.ts')]).keys()].map(rel);
    for (const folder of SERVER) expect(fromApp.some((f) => f.startsWith(`${folder}/`))).toBe(true);
  });
});
