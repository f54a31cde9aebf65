/**
 * What an option of `etcdns serve` is, and the builders of each kind.
 *
 * An OptionSpec says everything about one option: its flag (`--name`), its environment
 * variable (`ETCDNS_NAME`), its config-file key (`name` or `nameInCamelCase`), its default
 * and how a value is checked and turned into what `ServeConfig` holds. The builders fill in
 * the derived fields, so that an entry of the table (serve-options.ts) stays short.
 */
import { resolve } from 'node:path';
import { ValueError } from './errors.js';
import { MAX_TIMER_MS, checkReadableFile, expectString, parseBoolean, parseByteSize, parseDuration, parseInteger } from './values.js';

export type OptionKind = 'string' | 'integer' | 'boolean' | 'duration' | 'size' | 'list' | 'enum';

/** A default as a user would write it on the command line or in a config file. */
export type DefaultInput = string | number | boolean | readonly string[] | undefined;

/** What parsers may need besides the value: relative paths are resolved against `cwd`. */
export interface ParseContext {
  readonly cwd: string;
}

export interface OptionSpec<K extends string = string, V = unknown> {
  /** kebab-case: the flag is `--name`, the config-file key `name` (or its camelCase). */
  readonly name: string;
  /** The ServeConfig field. */
  readonly key: K;
  readonly kind: OptionKind;
  /** One or two sentences for --help and docs/operations.md. */
  readonly description: string;
  /** What a value looks like, for help: `HOST:PORT`, `N`, `DURATION`. Empty for booleans. */
  readonly placeholder: string;
  /** In user syntax; undefined means "not set" (the value is then undefined). */
  readonly default: DefaultInput;
  /** `ETCDNS_` + the name in UPPER_SNAKE. */
  readonly env: string;
  /** False for options that make no sense inside a config file (`config` itself). */
  readonly inConfigFile: boolean;
  /**
   * A credential: error messages and `redactConfig` never show its value, so that it cannot
   * end up in a terminal scrollback or a log collector.
   */
  readonly secret?: boolean;
  readonly choices?: readonly string[];
  /** Bounds, in the parsed unit (milliseconds for durations). */
  readonly min?: number;
  readonly max?: number;
  /**
   * Turns one raw value into the stored one, or throws ValueError. Raw values are strings
   * (flags, env variables), or what JSON/YAML produce (numbers, booleans, arrays, ...).
   */
  parse(raw: unknown, ctx: ParseContext): V;
}

function envName(optionName: string): string {
  return `ETCDNS_${optionName.toUpperCase().replaceAll('-', '_')}`;
}

export function camelName(optionName: string): string {
  return optionName.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The default as help and docs show it. */
export function defaultText(spec: Pick<OptionSpec, 'default'>): string {
  const d = spec.default;
  if (d === undefined) return 'none';
  // An empty list (no etcd endpoints) reads as "none", not as an empty string in help. Items
  // are joined with ", " (which the parser takes as well) so that help can wrap a long list
  // between items rather than inside an address.
  if (Array.isArray(d)) return d.length === 0 ? 'none' : d.join(', ');
  return String(d);
}

// ---------------------------------------------------------------------------------------------
// Kinds. Each builder fills in the derived fields so that a table entry stays short.

/** What every table entry writes out itself; the builders derive the rest. */
export interface OptionBasics<K extends string> {
  readonly name: string;
  readonly key: K;
  readonly description: string;
}

/** An OptionSpec from an entry's basics and its kind's fields; frozen, as the table is. */
export function optionSpec<K extends string, V>(
  common: OptionBasics<K>,
  rest: Omit<OptionSpec<K, V>, 'name' | 'key' | 'description' | 'env' | 'inConfigFile'> & { inConfigFile?: boolean },
): OptionSpec<K, V> {
  const { name, key, description } = common;
  return Object.freeze({ name, key, description, env: envName(name), inConfigFile: true, ...rest });
}

export function stringOption<const K extends string>(
  o: OptionBasics<K> & {
    readonly default: string;
    readonly placeholder: string;
    readonly path?: boolean;
    /** Further checks on the text; throws ValueError. */
    readonly check?: (text: string) => void;
  },
): OptionSpec<K, string> {
  return optionSpec(o, {
    kind: 'string',
    default: o.default,
    placeholder: o.placeholder,
    parse(raw, ctx) {
      const text = expectString(raw);
      if (text === '') throw new ValueError('must not be empty');
      o.check?.(text);
      return o.path ? resolve(ctx.cwd, text) : text;
    },
  });
}

/** A string that is unset by default (ServeConfig holds undefined then). */
export function optionalStringOption<const K extends string>(
  o: OptionBasics<K> & { readonly placeholder: string; readonly secret?: boolean },
): OptionSpec<K, string | undefined> {
  return optionSpec(o, {
    kind: 'string',
    default: undefined,
    placeholder: o.placeholder,
    ...(o.secret ? { secret: true } : {}),
    parse(raw) {
      const text = expectString(raw);
      if (text === '') throw new ValueError('must not be empty');
      return text;
    },
  });
}

/** A path that is unset by default (ServeConfig holds undefined then), resolved against cwd. */
export function optionalPathOption<const K extends string>(
  o: OptionBasics<K> & {
    readonly placeholder: string;
    readonly inConfigFile?: boolean;
    /**
     * The file must exist and be readable now. For files read long after startup (TLS
     * material used at the first etcd connection, or a reconnect hours later), a typo should
     * stop the server at once rather than surface as a connection error in a log.
     */
    readonly readableFile?: boolean;
  },
): OptionSpec<K, string | undefined> {
  return optionSpec(o, {
    kind: 'string',
    default: undefined,
    placeholder: o.placeholder,
    inConfigFile: o.inConfigFile ?? true,
    parse(raw, ctx) {
      const text = expectString(raw);
      if (text === '') throw new ValueError('must not be empty');
      const path = resolve(ctx.cwd, text);
      if (o.readableFile) checkReadableFile(path);
      return path;
    },
  });
}

export function integerOption<const K extends string>(
  o: OptionBasics<K> & { readonly default: number; readonly min?: number; readonly max?: number },
): OptionSpec<K, number> {
  return optionSpec(o, {
    kind: 'integer',
    default: o.default,
    placeholder: 'N',
    min: o.min,
    max: o.max,
    parse: (raw) => parseInteger(raw, o.min, o.max),
  });
}

export function booleanOption<const K extends string>(o: OptionBasics<K> & { readonly default: boolean }): OptionSpec<K, boolean> {
  return optionSpec(o, { kind: 'boolean', default: o.default, placeholder: '', parse: parseBoolean });
}

export function durationOption<const K extends string>(
  o: OptionBasics<K> & {
    readonly default: string;
    readonly min?: string;
    readonly max?: string;
    /** For values that end up in whole seconds (DNS TTLs): refuse 1500ms rather than round it. */
    readonly wholeSeconds?: boolean;
  },
): OptionSpec<K, number> {
  const min = o.min === undefined ? 0 : parseDuration(o.min);
  const max = o.max === undefined ? MAX_TIMER_MS : parseDuration(o.max);
  return optionSpec(o, {
    kind: 'duration',
    default: o.default,
    placeholder: 'DURATION',
    min,
    max,
    parse(raw) {
      const ms = parseDuration(raw, min, max);
      if (o.wholeSeconds && ms % 1000 !== 0) throw new ValueError('must be a whole number of seconds');
      return ms;
    },
  });
}


export function byteSizeOption<const K extends string>(
  o: OptionBasics<K> & { readonly default: string; readonly min?: number },
): OptionSpec<K, number> {
  return optionSpec(o, {
    kind: 'size',
    default: o.default,
    placeholder: 'BYTES',
    min: o.min,
    parse: (raw) => parseByteSize(raw, o.min),
  });
}

export function enumOption<const K extends string, const C extends readonly string[]>(
  o: OptionBasics<K> & { readonly choices: C; readonly default: C[number] },
): OptionSpec<K, C[number]> {
  return optionSpec(o, {
    kind: 'enum',
    default: o.default,
    placeholder: o.choices.join('|'),
    choices: o.choices,
    parse(raw) {
      const word = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      const found = o.choices.find((c) => c === word);
      if (found === undefined) throw new ValueError(`must be one of ${o.choices.join(', ')}`);
      return found;
    },
  });
}

/**
 * A repeatable option. Values arrive as one string per flag occurrence, comma-separated in
 * an env variable (or a flag), or as an array (or comma-separated string) in a config file.
 * A later source replaces the whole list rather than adding to it, so that a flag can
 * override a list from the config file.
 */
export function listOption<const K extends string, T>(
  o: OptionBasics<K> & {
    readonly default: readonly string[];
    readonly placeholder: string;
    /** Parses one item; throws ValueError (the loader shows the item, not the whole list). */
    readonly item: (text: string) => T;
    readonly minItems?: number;
    readonly maxItems?: number;
    /** Identity for duplicate detection; undefined for items that may repeat. */
    readonly identity?: (item: T) => string | undefined;
  },
): OptionSpec<K, readonly T[]> {
  return optionSpec(o, {
    kind: 'list',
    default: o.default,
    placeholder: o.placeholder,
    parse(raw) {
      const pieces = Array.isArray(raw) ? raw : [raw];
      const texts: string[] = [];
      for (const piece of pieces) {
        if (typeof piece !== 'string') throw new ValueError('must be a string', piece);
        // An empty string on its own is "no items" (checked below), not one empty item.
        if (piece.trim() === '' && pieces.length === 1) break;
        for (const part of piece.split(',')) {
          const text = part.trim();
          if (text === '') throw new ValueError('empty item in list', piece);
          texts.push(text);
        }
      }
      const minItems = o.minItems ?? 0;
      if (texts.length < minItems) throw new ValueError(`needs at least ${minItems} item${minItems === 1 ? '' : 's'}`);
      if (o.maxItems !== undefined && texts.length > o.maxItems) throw new ValueError(`takes at most ${o.maxItems} items`);
      const seen = new Set<string>();
      return texts.map((text) => {
        let item: T;
        try {
          item = o.item(text);
        } catch (err) {
          if (err instanceof ValueError) throw new ValueError(err.message, err.offending ?? text);
          throw err;
        }
        const id = o.identity?.(item);
        if (id !== undefined) {
          if (seen.has(id)) throw new ValueError('listed twice', text);
          seen.add(id);
        }
        return item;
      });
    },
  });
}

