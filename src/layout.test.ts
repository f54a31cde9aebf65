/**
 * Every folder of src/ says in a README.md what it owns, what it may import and where its tests
 * are (CoreDNS keeps a README per plugin); a new folder without one fails here.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Folders holding TypeScript sources (test data folders hold none). */
function sourceFolders(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const here = entries.some((e) => e.isFile() && e.name.endsWith('.ts')) ? [dir] : [];
  return [...here, ...entries.filter((e) => e.isDirectory()).flatMap((e) => sourceFolders(join(dir, e.name)))];
}

describe('src/ layout', () => {
  it('every folder with sources has a README.md', () => {
    const folders = sourceFolders(SRC).filter((d) => d !== SRC);
    expect(folders.length).toBeGreaterThan(15);
    const missing = folders.filter((d) => !existsSync(join(d, 'README.md'))).map((d) => relative(SRC, d));
    expect(missing).toEqual([]);
  });
});
