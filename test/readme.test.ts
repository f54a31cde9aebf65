/** The README is the user's manual: its option table must match the option table in the code. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_OPTIONS, defaultText, type OptionSpec } from '../src/config/options.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const table = readme.slice(readme.indexOf('<!-- options:start'), readme.indexOf('<!-- options:end'));
const rows = table.split('\n').filter((l) => l.startsWith('| `--'));

describe('README options table', () => {
  it.each((SERVE_OPTIONS as readonly OptionSpec[]).map((s) => [s.name, s] as const))('documents --%s with its default', (name, spec) => {
    const row = rows.find((r) => r.startsWith(`| \`--${name} `) || r.startsWith(`| \`--${name}\``) || r.startsWith(`| \`--[no-]${name}\``));
    expect(row, `no README row for --${name}`).toBeDefined();
    expect(row!.split('|')[2]!.trim()).toBe(defaultText(spec) === 'none' ? 'none' : `\`${defaultText(spec)}\``);
  });

  it('has no row for an option that does not exist', () => {
    const names = new Set((SERVE_OPTIONS as readonly OptionSpec[]).map((s) => s.name));
    for (const row of rows) expect(names.has(/`--(?:\[no-\])?([a-z-]+)/.exec(row)![1]!)).toBe(true);
  });

  it('gives the test command that .ci/run runs', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(readme).toMatch(/^npm test\s/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
