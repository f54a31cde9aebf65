/**
 * What the zone files' state means for the operator: the files never loaded (which keep the
 * server from being ready, since their zones are missing), and one line saying which zones
 * are not served and why. Pure functions of ZoneDirectory.fileStatus().
 */
import { toPresentation, type Name } from '../../dns/name.js';
import type { ZoneFileStatus } from './directory.js';

/** A file whose zone is not served, and the first of its errors. */
export interface NotServed {
  readonly zone: string;
  readonly file: string;
  readonly reason: string;
}

function firstError(f: ZoneFileStatus): string {
  const e = f.errors[0]!;
  const more = f.errors.length > 1 ? ` (and ${f.errors.length - 1} more)` : '';
  return `${e.line > 0 ? `line ${e.line}: ` : ''}${e.message}${more}`;
}

/**
 * Files with errors that never parsed: nothing of theirs is served. A file that loaded once and
 * then broke keeps serving its last good version and is not listed.
 */
export function neverLoaded(files: readonly ZoneFileStatus[]): NotServed[] {
  return files
    .filter((f) => !f.everLoaded && f.errors.length > 0)
    .map((f) => ({ zone: f.zone === undefined ? '(none: the file name is not a zone name)' : toPresentation(f.zone), file: f.file, reason: firstError(f) }));
}

/** /ready's reasons: one line per file never loaded, naming it. */
export function readinessReasons(files: readonly ZoneFileStatus[]): string[] {
  return neverLoaded(files).map((n) => `zone file ${n.file}: never loaded, zone ${n.zone} not served: ${n.reason}`);
}

/**
 * Why a name is not answered when it falls in the zone of a file that never loaded, or
 * undefined. Such a name is ours, not upstream's: forwarding it would send an internal name to
 * the upstream resolvers and answer from their (wrong) data, so the caller answers SERVFAIL.
 */
export function notLoadedReason(files: readonly ZoneFileStatus[], name: Name): string | undefined {
  for (const f of files) {
    if (f.everLoaded || f.errors.length === 0 || f.zone === undefined) continue;
    if (name === f.zone || name.endsWith(`.${f.zone}`) || f.zone === '') return `zone ${toPresentation(f.zone)} not loaded: ${f.file}: ${firstError(f)}`;
  }
  return undefined;
}
