/**
 * The files `$INCLUDE` reads, from a zones directory: confined to it, and remembered (with what
 * was read) so that the directory source reloads a zone when a file it includes changes.
 *
 * The rule for which files are zones stays simple: every regular file at the top of the zones
 * directory is a zone, and nothing in its subdirectories is. So included files live in
 * subdirectories; a $INCLUDE of a top-level file (which would also be loaded as a zone of its
 * own, without an SOA) is an error that says so.
 *
 * Reads are synchronous because the parser is: a parse is one synchronous pass, and included
 * files are small beside the CPU time a large zone's parse takes anyway.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, promises as fsp, readFileSync, realpathSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { IncludeRead, IncludeSource } from './include-path.js';

/** What a parse read of one included file: how to tell, later, whether it changed. */
export interface IncludedFile {
  /** `mtimeMs:size:ino`, or "missing". */
  signature: string;
  /** Hash of the content read; "" when missing. */
  hash: string;
}

function fileSignature(stat: Stats): string {
  return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

const TOP_LEVEL: IncludedFile = { signature: 'top-level', hash: '' };
const OUTSIDE: IncludedFile = { signature: 'outside', hash: '' };
const MISSING: IncludedFile = { signature: 'missing', hash: '' };

function escapes(realDir: string, realFile: string): boolean {
  const inside = relative(realDir, realFile);
  return inside === '' || inside === '..' || inside.startsWith(`..${sep}`);
}

/**
 * True when the included file at `path` of `dir` is no longer what a parse read (`was`): the
 * poll's check, asynchronous, done the way read() below does it. A file touched or swapped for
 * one with the same content has not changed; `was` then gets the new signature.
 */
export async function includeChanged(dir: string, path: string, was: IncludedFile): Promise<boolean> {
  if (!path.includes('/')) return was.signature !== TOP_LEVEL.signature;
  const full = join(dir, path);
  let now: string;
  try {
    if (escapes(await fsp.realpath(dir), await fsp.realpath(full))) return was.signature !== OUTSIDE.signature;
    now = fileSignature(await fsp.stat(full));
  } catch {
    return was.signature !== MISSING.signature;
  }
  if (now === was.signature) return false;
  let text: string;
  try {
    text = await fsp.readFile(full, 'utf8');
  } catch {
    return true;
  }
  if (was.hash === '' || contentHash(text) !== was.hash) return true;
  was.signature = now;
  return false;
}

/**
 * An IncludeSource for the zone file `name` (a file at the top of `dir`). Every file it reads
 * or fails to read is recorded in `seen`, by its path inside `dir`.
 */
export function directoryIncludes(dir: string, name: string, seen: Map<string, IncludedFile>): IncludeSource {
  let realDir: string | undefined;
  return {
    path: name,
    displayName: (path) => join(dir, path),
    read(path): IncludeRead {
      if (!path.includes('/')) {
        seen.set(path, TOP_LEVEL);
        return { ok: false, error: 'a file at the top of the zones directory is a zone of its own; put included files in a subdirectory' };
      }
      const full = join(dir, path);
      let fd: number | undefined;
      try {
        // Symbolic links are followed (ConfigMap volumes are made of them), but only to files
        // inside the zones directory.
        realDir ??= realpathSync(dir);
        if (escapes(realDir, realpathSync(full))) {
          seen.set(path, OUTSIDE);
          return { ok: false, error: 'a symbolic link leads outside the zones directory' };
        }
        fd = openSync(full, 'r');
        const stat = fstatSync(fd);
        if (!stat.isFile()) {
          seen.set(path, { signature: fileSignature(stat), hash: '' });
          return { ok: false, error: 'not a regular file' };
        }
        const text = readFileSync(fd, 'utf8');
        seen.set(path, { signature: fileSignature(stat), hash: contentHash(text) });
        return { ok: true, text };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        seen.set(path, MISSING);
        return { ok: false, error: e.code === 'ENOENT' ? 'no such file' : `cannot read it: ${e.message}` };
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
  };
}
