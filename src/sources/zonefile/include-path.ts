/**
 * `$INCLUDE <file-name> [<domain-name>]` (RFC 1035 §5.1): where the named file is, and how the
 * parser gets its text. The parser does no I/O: whoever asks for a parse passes an
 * IncludeSource (directory.ts gives one confined to the zones directory; tests give a map).
 */
import { posix } from 'node:path';

/** What reading one included file gave: its text, or why there is none. */
export type IncludeRead = { ok: true; text: string } | { ok: false; error: string };

export interface IncludeSource {
  /** The zone file's own path inside the include root, with '/' separators ("example.test.zone"). */
  readonly path: string;
  /** The name errors in the file at `path` (relative to the root) go under, as the operator knows it. */
  displayName(path: string): string;
  /** Reads the file at `path`, a path that resolveIncludePath gave (inside the root). */
  read(path: string): IncludeRead;
}

/**
 * The path (inside the include root) that `name`, written in the file at `from`, names. A
 * relative name starts from the including file's directory; an absolute one, or one that
 * climbs out of the root, is refused: zone files must not be able to read other files of the
 * machine (a key, /etc/shadow) into DNS answers.
 */
export function resolveIncludePath(from: string, name: string): { path: string } | { error: string } {
  if (name === '') return { error: 'empty file name' };
  if (name.includes('\0')) return { error: 'the file name contains a NUL character' };
  if (posix.isAbsolute(name) || /^[A-Za-z]:[\\/]/.test(name)) {
    return { error: 'an absolute path is not allowed: name the file relative to the including file, inside the zones directory' };
  }
  const path = posix.normalize(posix.join(posix.dirname(from), name));
  if (path === '..' || path.startsWith('../')) return { error: 'the path leads outside the zones directory' };
  if (path === '.' || path.endsWith('/')) return { error: 'the path names a directory, not a file' };
  return { path };
}
