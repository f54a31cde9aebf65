/**
 * Fuzzing the configuration loader (fast-check): any value, for any option, from a flag, an
 * ETCDNS_* variable or a config file (JSON or YAML), either loads or stops the start with a
 * ConfigError whose message is one line naming where the value came from, and never shows a
 * secret. A TypeError or a RangeError from deep inside would be a crash with a stack trace
 * instead of a message, and a half-checked value could start a half-configured server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadServeConfig, type LoadServeConfigInput } from './load.js';
import { camelName, type OptionSpec } from './option-spec.js';
import { SERVE_OPTIONS, type ServeConfig } from './serve-options.js';

const RUNS = process.env.SOAK === '1' ? 30_000 : 2_000;
const SEED = Number(process.env.FUZZ_SEED ?? 31337);

const dir = mkdtempSync(join(tmpdir(), 'etcdns-config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS;
const NAMES = new Set(OPTIONS.map((o) => o.name));

/** Values that sit on the edges of the parsers. */
const tricky = fc.constantFrom(
  '', ' ', ',', ',,', '0', '-0', '-1', '1e3', '1e309', 'NaN', 'Infinity', '0x10', '1.5', '999999999999999999999', 'true', 'off', 'OFF', 'none',
  '127.0.0.1:0', '[::1]:53', '[::1]', '::1:53', '1.2.3.4:99999', '0.0.0.0:53', 'http://127.0.0.1:2379', 'https://[::1]:2379', 'http://u:p@h:1',
  'example.test', '.', '..', 'a..b', 'corp.example=10.0.0.1', '=', '10.0.0.0/8', '10.0.0.1/8', 'fc00::/7', '::/0', '5m', '1h30m', '25h', '0ms',
  '64k', '64', '1g', '1t', '/nonexistent/file.pem', '\u0000', 'é', '\ud800', 'a'.repeat(300),
);
const valueText = fc.oneof({ weight: 3, arbitrary: tricky }, { weight: 2, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) });

const source = fc.constantFrom('flag' as const, 'flag=' as const, 'env' as const, 'json' as const, 'yaml' as const);

let fileCounter = 0;

function load(spec: OptionSpec, where: 'flag' | 'flag=' | 'env' | 'json' | 'yaml', value: unknown): ServeConfig {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return loadServeConfig(input(spec, where, value, text));
}

function input(spec: OptionSpec, where: 'flag' | 'flag=' | 'env' | 'json' | 'yaml', value: unknown, text: string): LoadServeConfigInput {
  if (where === 'flag') return { argv: spec.kind === 'boolean' ? [`--${spec.name}=${text}`] : [`--${spec.name}`, text], env: {}, cwd: dir };
  if (where === 'flag=') return { argv: [`--${camelName(spec.name)}=${text}`], env: {}, cwd: dir };
  // Variables cannot hold NUL; the OS would refuse them before we see them.
  if (where === 'env') return { argv: [], env: { [spec.env]: text.replaceAll('\u0000', '') }, cwd: dir };
  const name = `c${fileCounter++}.${where === 'json' ? 'json' : 'yaml'}`;
  const body = where === 'json' ? JSON.stringify({ [spec.name]: value }) : `${spec.name}: ${text}\n`;
  writeFileSync(join(dir, name), body);
  return { argv: ['--config', name], env: {}, cwd: dir };
}

/** What every configuration that loads has: deeply frozen, and the option counted as set. */
function expectLoaded(config: ServeConfig, spec: OptionSpec): void {
  expect(config.explicit.has(spec.name), `--${spec.name} counted as set`).toBe(true);
  expect(Object.isFrozen(config)).toBe(true);
  const value: unknown = config[spec.key as keyof ServeConfig];
  if (typeof value === 'object' && value !== null) expect(Object.isFrozen(value), `--${spec.name} frozen`).toBe(true);
}

describe('loadServeConfig under fuzzing', () => {
  it('loads any value for any option from any source, or stops with one line naming it (never another error, never a secret)', () => {
    const options = OPTIONS.filter((o) => o.name !== 'config');
    fc.assert(
      fc.property(
        fc.constantFrom(...options),
        source,
        fc.oneof({ weight: 4, arbitrary: valueText as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
        (spec, where, value) => {
          let config: ServeConfig;
          try {
            config = load(spec, where, where === 'json' ? value : typeof value === 'string' ? value : JSON.stringify(value));
          } catch (err) {
            if (!(err instanceof ConfigError)) throw new Error(`--${spec.name} from ${where} threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
            const message = err.message;
            expect(message).not.toContain('\n');
            // It says where: a flag, a variable or a config file (and rules between options
            // name both options).
            expect(message).toMatch(/--[a-z]|ETCDNS_[A-Z]|config file /);
            if (spec.secret && typeof value === 'string' && value.trim().length >= 4) expect(message).not.toContain(value.trim());
            return;
          }
          expectLoaded(config, spec);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);

  // Found by the property above: a YAML tag the `yaml` package does not know
  // (`listen: !foo 127.0.0.1:53`) made it emit a process warning (five lines on stderr) and
  // carry on with the tag ignored. The loader now turns document warnings into a ConfigError.
  it('an unknown YAML tag gives one line, and no process warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      writeFileSync(join(dir, 'tag.yaml'), 'listen: !foo 127.0.0.1:0\n');
      expect(() => loadServeConfig({ argv: ['--config', 'tag.yaml'], env: {}, cwd: dir })).toThrow(ConfigError);
      await new Promise((r) => setTimeout(r, 10));
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('handles a config file that is not a config (any JSON or YAML document)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'), fc.string({ maxLength: 200 }), fc.constantFrom('', '---', '- a\n- b', 'a: [', '{', '!!binary x', '&a [*a]', 'listen: *x')), fc.boolean(), (body, yaml) => {
        const name = `doc${fileCounter++}.${yaml ? 'yaml' : 'json'}`;
        writeFileSync(join(dir, name), body);
        let config: ServeConfig;
        try {
          config = loadServeConfig({ argv: ['--config', name], env: {}, cwd: dir });
        } catch (err) {
          if (!(err instanceof ConfigError)) throw new Error(`config file ${JSON.stringify(body)} threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
          expect(err.message).not.toContain('\n');
          expect(err.message).toMatch(/config file/);
          return;
        }
        // A document that loads set --config and options only (every name in explicit is one).
        expect(config.explicit.has('config')).toBe(true);
        for (const name of config.explicit) expect(NAMES.has(name), name).toBe(true);
        expect(Object.isFrozen(config)).toBe(true);
      }),
      { numRuns: RUNS / 4, seed: SEED + 1 },
    );
  }, 120_000);
});
