/**
 * The syntaxes every option kind shares: whole numbers, booleans, durations, byte sizes and
 * readable files. Each parser takes what a flag, a variable or a config file gives (strings,
 * or what JSON/YAML produce) and returns the value or throws ValueError with the problem in
 * words a user can act on.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { ValueError } from './errors.js';

export function expectString(raw: unknown): string {
  if (typeof raw !== 'string') throw new ValueError('must be a string');
  return raw;
}

/** Throws ValueError unless `path` is a regular file this process may read. */
export function checkReadableFile(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new ValueError('not a regular file');
    accessSync(path, fsConstants.R_OK);
  } catch (err) {
    if (err instanceof ValueError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ValueError('file not found');
    if (code === 'EACCES' || code === 'EPERM') throw new ValueError('file not readable (permission denied)');
    throw new ValueError(`cannot read: ${(err as Error).message}`);
  }
}

function rangeText(min: number | undefined, max: number | undefined, show: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return `must be ${show(min)}-${show(max)}`;
  if (min !== undefined) return `must be at least ${show(min)}`;
  return `must be at most ${show(max ?? 0)}`;
}

const WHOLE = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseInteger(raw: unknown, min?: number, max?: number): number {
  let n: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new ValueError('not a number');
    if (!Number.isInteger(raw)) throw new ValueError('must be a whole number');
    n = raw;
  } else if (typeof raw === 'string') {
    const text = raw.trim();
    // Number() alone would take '', '0x10', '1e3' and ' 12 '; a config value should mean
    // what it looks like, so only plain decimal digits pass.
    if (!WHOLE.test(text)) throw new ValueError(DECIMAL.test(text) ? 'must be a whole number' : 'not a number');
    n = Number(text);
  } else {
    throw new ValueError('not a number');
  }
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) throw new ValueError(rangeText(min, max, String));
  // Beyond this, digits no longer map to distinct numbers.
  if (!Number.isSafeInteger(n)) throw new ValueError(`must be at most ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

export function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 1 || raw === 0) return raw === 1;
  if (typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  // Deliberately short: 'on', 'y', 'enabled' are not accepted, so that a typo is an error
  // rather than a guess.
  throw new ValueError('must be true or false (or 1/0, yes/no)');
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
/** Node's timers overflow past 2^31-1 ms (they then fire after 1 ms): the most a duration can be. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `500ms`, `10s`, `2m`, `1h`, `1m30s`, or a bare number of seconds; returns milliseconds. */
export function parseDuration(raw: unknown, minMs = 0, maxMs = MAX_TIMER_MS): number {
  let ms: number;
  const bad = 'not a duration (write e.g. 500ms, 10s, 2m, 1h, or a number of seconds)';
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw new ValueError(bad);
    ms = raw * 1000;
  } else if (typeof raw === 'string') {
    const text = raw.trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      ms = Number(text) * 1000;
    } else if (DURATION.test(text)) {
      ms = 0;
      for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    } else {
      throw new ValueError(bad);
    }
  } else {
    throw new ValueError(bad);
  }
  ms = Math.round(ms);
  if (ms < minMs || ms > maxMs) throw new ValueError(rangeText(minMs, maxMs, formatDuration));
  return ms;
}

/** Milliseconds in the largest unit that divides them exactly: 10000 → '10s'. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const SIZE = /^(\d+)([kmg]?)$/i;

/** Bytes, or a whole number with a binary suffix: `65536`, `64k`, `64m`, `1g` (k = 1024). */
export function parseByteSize(raw: unknown, min = 0): number {
  const bad = 'not a size (write bytes, or a whole number with k, m or g, e.g. 64m; 1k is 1024)';
  let bytes: number;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0) throw new ValueError(bad);
    bytes = raw;
  } else if (typeof raw === 'string') {
    const m = SIZE.exec(raw.trim());
    if (!m) throw new ValueError(bad);
    bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  } else {
    throw new ValueError(bad);
  }
  if (bytes < min) throw new ValueError(`must be at least ${formatByteSize(min)}`);
  if (!Number.isSafeInteger(bytes)) throw new ValueError(`must be at most ${Number.MAX_SAFE_INTEGER}`);
  return bytes;
}

/** Bytes in the largest binary unit that divides them exactly: 67108864 → '64m'. */
function formatByteSize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const size = SIZE_UNITS[unit]!;
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
