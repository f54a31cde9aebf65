/**
 * A directory of zone files as a record source: one zone per file, reloaded as files change.
 *
 * Change detection is belt and braces. fs.watch is quick but misses events on some mounts
 * (NFS, overlay, some container volumes) and Kubernetes ConfigMap updates, which swap a `..data`
 * symlink rather than touch the files; so a cheap poll (readdir + one stat per file) runs too.
 * Only files whose (mtime, size, inode) moved are read again, and only files whose content
 * actually changed are parsed again, so an atomic ConfigMap swap of unchanged files is free.
 * Files a zone `$INCLUDE`s are checked the same way on every poll, and a change to one reloads
 * the zone (see include-reader.ts for which files are zones).
 */
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { parseName, type Name } from '../../dns/name.js';
import { EtcdnsError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { StaticZone, ZoneView } from '../../table/zone.js';
import { contentHash, directoryIncludes, includeChanged, type IncludedFile } from './include-reader.js';
import { parseZoneFile, type ZoneFileError } from './master-file.js';

export interface ZoneDirectoryOptions {
  dir: string;
  logger: Logger;
  clock?: Clock;
  /** How often to poll for changes fs.watch may have missed; default 500 ms. */
  pollIntervalMs?: number;
  /** Called with the new zone set whenever it changes (and once from start()). */
  onChange: (zones: ReadonlyMap<Name, ZoneView>) => void;
  /** Called each time a file fails to parse (at start or on a reload), for the failure counter. */
  onLoadFailed?: (file: string) => void;
}

/** One zone file as the directory sees it now: for /ready, the per-file error gauge and the startup line. */
export interface ZoneFileStatus {
  readonly file: string;
  /** The zone the file defines: its last good version's origin, or else the one its name gives. */
  readonly zone: Name | undefined;
  /** A version of this file parsed once (it may be the one served while a broken edit waits for a fix). */
  readonly everLoaded: boolean;
  /** What is wrong with it now: the last parse's errors, or the duplicate origin that keeps it out. */
  readonly errors: readonly ZoneFileError[];
}

export interface LoadReport {
  /** Every zone being served, by the file it came from. */
  loaded: { file: string; origin: Name; records: number }[];
  /** Everything wrong at the moment: parse errors (the last good version of such a file keeps serving) and duplicate origins. */
  failed: ZoneFileError[];
}

/** The zone directory cannot be read when the source starts (missing, not a directory, no permission). */
export class ZoneDirectoryError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_ZONE_DIRECTORY';
}

/** start() called twice on one ZoneDirectory. */
export class ZoneDirectoryStartedError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_ZONE_DIRECTORY_STARTED';
}

/**
 * The zone a file is named after: "example.test.zone", "example.test.db", "db.example.test"
 * and "example.test" all give example.test. Undefined when the rest is not a usable name.
 */
export function originFromFileName(path: string): Name | undefined {
  let base = basename(path);
  if (/\.(zone|db)$/i.test(base)) base = base.replace(/\.(zone|db)$/i, '');
  else if (/^db\./i.test(base)) base = base.slice(3);
  if (base === '' || base === '.' || base.startsWith('.')) return undefined;
  for (let i = 0; i < base.length; i++) if (base.charCodeAt(i) > 127 || base.charCodeAt(i) <= 32) return undefined;
  const parsed = parseName(base);
  if ('error' in parsed || parsed.name === '') return undefined;
  return parsed.name;
}

/** Coalesces the burst of events an editor's save or a ConfigMap swap produces. */
const DEBOUNCE_MS = 75;

interface FileState {
  readonly path: string;
  /** `mtimeMs:size:ino` when last read. */
  signature: string;
  /** Hash of the content last parsed. */
  hash: string;
  /** The last version that parsed; it keeps serving while a broken edit is fixed. */
  good?: { origin: Name; zone: StaticZone };
  /** Errors of the last parse (empty when it succeeded). */
  errors: ZoneFileError[];
  /** The files the last parse $INCLUDEd (read or not), by path inside the directory. */
  includes: Map<string, IncludedFile>;
}

/** Editor droppings and hidden entries (ConfigMap's `..data`, `..2024_…`) are not zones. */
function ignored(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.swx') || (name.startsWith('#') && name.endsWith('#'));
}

function sameZones(a: ReadonlyMap<Name, ZoneView>, b: ReadonlyMap<Name, ZoneView>): boolean {
  if (a.size !== b.size) return false;
  for (const [origin, zone] of a) if (b.get(origin) !== zone) return false;
  return true;
}

export class ZoneDirectory {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #pollIntervalMs: number;
  readonly #onChange: (zones: ReadonlyMap<Name, ZoneView>) => void;
  readonly #onLoadFailed: ((file: string) => void) | undefined;
  /** By file name (not path), so sorting them gives the precedence among duplicate origins. */
  readonly #files = new Map<string, FileState>();
  #zones: ReadonlyMap<Name, ZoneView> = new Map();
  #duplicates: ZoneFileError[] = [];
  /** Scans run one at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();
  #scanQueued = false;
  #started = false;
  #stopped = false;
  #watcher: FSWatcher | undefined;
  #pollTimer: Timer;
  #debounceTimer: Timer;
  #dirUnreadable = false;

  constructor(o: ZoneDirectoryOptions) {
    this.#dir = o.dir;
    this.#logger = o.logger;
    this.#clock = o.clock ?? systemClock;
    this.#pollIntervalMs = o.pollIntervalMs ?? 500;
    this.#onChange = o.onChange;
    this.#onLoadFailed = o.onLoadFailed;
  }

  /** Every zone file present, sorted by name; cheap enough for each /ready and each scrape. */
  fileStatus(): ZoneFileStatus[] {
    const duplicates = new Map(this.#duplicates.map((d) => [d.file, d]));
    return [...this.#files.keys()].sort().map((name) => {
      const state = this.#files.get(name)!;
      const duplicate = duplicates.get(state.path);
      return {
        file: state.path,
        zone: state.good?.origin ?? originFromFileName(name),
        everLoaded: state.good !== undefined,
        errors: duplicate ? [...state.errors, duplicate] : state.errors,
      };
    });
  }

  /** The zones being served now. */
  get zones(): ReadonlyMap<Name, ZoneView> {
    return this.#zones;
  }

  /**
   * Reads the directory (files that changed since the last read) and reports the whole state.
   * Rejects when the directory cannot be read.
   */
  load(): Promise<LoadReport> {
    const run = this.#chain.then(async () => {
      await this.#scan(true);
      return this.#report();
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Loads, hands the zones to onChange, then follows changes until stop(). */
  async start(): Promise<LoadReport> {
    if (this.#started) throw new ZoneDirectoryStartedError(`zone directory "${this.#dir}" is already started`);
    const report = await this.load();
    if (this.#stopped) return report;
    this.#started = true;
    this.#emit();
    try {
      // persistent: false: watching must not keep the process alive on its own.
      this.#watcher = watch(this.#dir, { persistent: false }, () => this.#changed());
      this.#watcher.on('error', (err) => {
        this.#logger.warn({ dir: this.#dir, err: err.message }, 'zone directory watch failed; polling only');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      this.#logger.warn({ dir: this.#dir, err: (err as Error).message }, 'cannot watch the zone directory; polling only');
    }
    this.#pollTimer = this.#clock.setInterval(() => this.#requestScan(), this.#pollIntervalMs);
    return report;
  }

  /**
   * Reads the directory again now (SIGHUP), as a change notice would, and resolves once that
   * pass is done. What loads replaces the old version zone by zone; a file that fails keeps its
   * last good version, as with any reload.
   */
  rescan(): Promise<void> {
    this.#requestScan();
    return this.#chain.then(() => undefined);
  }

  stop(): void {
    this.#stopped = true;
    this.#clock.clearInterval(this.#pollTimer);
    this.#clock.clearTimeout(this.#debounceTimer);
    this.#pollTimer = undefined;
    this.#debounceTimer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #changed(): void {
    if (this.#stopped) return;
    this.#clock.clearTimeout(this.#debounceTimer);
    this.#debounceTimer = this.#clock.setTimeout(() => {
      this.#debounceTimer = undefined;
      this.#requestScan();
    }, DEBOUNCE_MS);
  }

  /** Queues a scan unless one is already waiting (a running one may have missed the change). */
  #requestScan(): void {
    if (this.#scanQueued || this.#stopped) return;
    this.#scanQueued = true;
    this.#chain = this.#chain
      .then(async () => {
        this.#scanQueued = false;
        if (!this.#stopped) await this.#scan(false);
      })
      .catch((err: unknown) => this.#logger.error({ dir: this.#dir, err: (err as Error).message }, 'zone directory scan failed'));
  }

  /**
   * One pass over the directory. `initial` rejects when the directory is unreadable; later
   * passes log it and keep serving what they have (a mount hiccup must not drop every zone).
   */
  async #scan(initial: boolean): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.#dir);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const message = e.code === 'ENOENT' ? `zone directory "${this.#dir}" does not exist` : `cannot read zone directory "${this.#dir}": ${e.message}`;
      if (initial && !this.#started) throw new ZoneDirectoryError(message);
      if (!this.#dirUnreadable) this.#logger.error({ dir: this.#dir }, `${message}; keeping the zones already loaded`);
      this.#dirUnreadable = true;
      return;
    }
    if (this.#dirUnreadable) this.#logger.info({ dir: this.#dir }, 'zone directory readable again');
    this.#dirUnreadable = false;

    let changed = false;
    const present = new Set<string>();
    for (const name of names) {
      if (ignored(name)) continue;
      const path = join(this.#dir, name);
      let stat;
      try {
        stat = await fsp.stat(path); // follows symlinks (ConfigMap files are links into ..data/)
      } catch {
        continue; // deleted since readdir, or a dangling link: absent
      }
      if (!stat.isFile()) continue;
      present.add(name);
      const signature = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
      const prev = this.#files.get(name);
      const moved = !prev || prev.signature !== signature;
      if (!moved && !(await this.#includesChanged(prev))) continue;
      let text: string;
      try {
        text = await fsp.readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') present.delete(name);
        else this.#logger.error({ file: path, err: (err as Error).message }, 'cannot read zone file');
        continue;
      }
      const hash = contentHash(text);
      if (prev) {
        prev.signature = signature;
        // Touched or swapped, same content, and so are the files it includes.
        if (moved && prev.hash === hash && !(await this.#includesChanged(prev))) continue;
        prev.hash = hash;
      }
      const state: FileState = prev ?? { path, signature, hash, errors: [], includes: new Map() };
      this.#files.set(name, state);
      this.#parse(state, name, text);
      changed = true;
    }
    for (const [name, state] of this.#files) {
      if (present.has(name)) continue;
      this.#files.delete(name);
      if (state.good) this.#logger.info({ file: state.path, origin: state.good.origin }, 'zone file removed; zone dropped');
      changed = true;
    }
    if (changed) this.#recompute();
  }

  async #includesChanged(state: FileState): Promise<boolean> {
    for (const [path, was] of state.includes) if (await includeChanged(this.#dir, path, was)) return true;
    return false;
  }

  #parse(state: FileState, name: string, text: string): void {
    const seen = new Map<string, IncludedFile>();
    const includes = directoryIncludes(this.#dir, name, seen);
    const result = parseZoneFile(text, { file: state.path, origin: originFromFileName(name), includes });
    state.includes = seen;
    if (result.ok) {
      state.good = { origin: result.zone.origin, zone: result.zone };
      state.errors = [];
      for (const w of result.warnings) this.#logger.warn({ file: w.file, line: w.line }, w.message);
      this.#logger.info({ file: state.path, origin: result.zone.origin, records: result.zone.recordCount }, 'zone file loaded');
      return;
    }
    state.errors = result.errors;
    for (const e of result.errors) this.#logger.error({ file: e.file, line: e.line }, e.message);
    this.#onLoadFailed?.(state.path);
    if (state.good) this.#logger.warn({ file: state.path, origin: state.good.origin }, 'zone file has errors; the last good version keeps serving');
  }

  /** Rebuilds the zone set from the files; the file sorting first owns a duplicated origin. */
  #recompute(): void {
    const zones = new Map<Name, ZoneView>();
    const owners = new Map<Name, string>();
    const duplicates: ZoneFileError[] = [];
    for (const name of [...this.#files.keys()].sort()) {
      const state = this.#files.get(name)!;
      if (!state.good) continue;
      const { origin, zone } = state.good;
      const owner = owners.get(origin);
      if (owner !== undefined) {
        duplicates.push({ file: state.path, line: 0, message: `zone ${origin || '.'} is already defined by ${owner}; this file is ignored` });
        continue;
      }
      owners.set(origin, state.path);
      zones.set(origin, zone);
    }
    const known = new Set(this.#duplicates.map((d) => `${d.file}\0${d.message}`));
    for (const d of duplicates) if (!known.has(`${d.file}\0${d.message}`)) this.#logger.error({ file: d.file, line: d.line }, d.message);
    this.#duplicates = duplicates;
    if (sameZones(zones, this.#zones)) return;
    this.#zones = zones;
    if (this.#started) this.#emit();
  }

  #emit(): void {
    if (this.#stopped) return;
    try {
      this.#onChange(this.#zones);
    } catch (err) {
      this.#logger.error({ dir: this.#dir, err: (err as Error).message }, 'zone change listener failed');
    }
  }

  #report(): LoadReport {
    const loaded: LoadReport['loaded'] = [];
    const failed: ZoneFileError[] = [];
    for (const name of [...this.#files.keys()].sort()) {
      const state = this.#files.get(name)!;
      failed.push(...state.errors);
      if (state.good && this.#zones.get(state.good.origin) === state.good.zone) {
        loaded.push({ file: state.path, origin: state.good.origin, records: state.good.zone.recordCount });
      }
    }
    failed.push(...this.#duplicates);
    return { loaded, failed };
  }
}

/** Parses one file the way the directory source would, for `etcdns check-zone FILE`. */
export async function checkZoneFile(
  path: string,
  origin?: Name,
): Promise<{ ok: boolean; origin?: Name; records?: number; errors: ZoneFileError[]; warnings: ZoneFileError[] }> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file: path, line: 0, message: `cannot read the file: ${(err as Error).message}` }], warnings: [] };
  }
  const includes = directoryIncludes(dirname(path), basename(path), new Map());
  const result = parseZoneFile(text, { file: path, origin: origin ?? originFromFileName(path), includes });
  if (!result.ok) return { ok: false, errors: result.errors, warnings: [] };
  return { ok: true, origin: result.zone.origin, records: result.zone.recordCount, errors: [], warnings: result.warnings };
}
