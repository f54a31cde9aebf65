import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary zones/ directory with the given files; remove() deletes it. */
export function tempZones(files: Record<string, string>): { dir: string; write(name: string, text: string): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'etcdns-zones-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  for (const [name, text] of Object.entries(files)) write(name, text);
  return { dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
