/**
 * The yargs side of the option table (src/config/serve-options.ts): flag definitions and help
 * text. Only syntax lives here; meaning, defaults and checks stay in the table and loader.
 */
import type { Options } from 'yargs';
import { defaultText, type OptionSpec } from '../config/option-spec.js';
import { SERVE_OPTIONS } from '../config/serve-options.js';

/** yargs option definitions for `etcdns serve`, one per table entry. */
export function serveYargsOptions(): Record<string, Options> {
  return Object.fromEntries((SERVE_OPTIONS as readonly OptionSpec[]).map((spec) => [spec.name, yargsOption(spec)]));
}

function yargsOption(spec: OptionSpec): Options {
  // No `default` and no `choices` here, on purpose:
  // - a yargs default would make every option look typed by the user, hiding precedence
  //   (env and config file could never win) and `ServeConfig.explicit`; defaults are the
  //   table's, shown in the description instead;
  // - the loader checks values and names the option in its one-line error.
  const option: Options = { describe: helpDescription(spec) };
  if (spec.kind !== 'boolean') {
    // Strings, always: the loader parses numbers and durations itself, so it can quote
    // exactly what was typed in an error.
    option.type = 'string';
    option.requiresArg = true;
  }
  // Booleans stay untyped: yargs' boolean type silently turns `--chaos=yes` (or any typo)
  // into false. Untyped, `--chaos` is true, `--no-chaos` false and `--chaos=maybe` reaches
  // the loader as "maybe", which rejects it.
  return option;
}

/** Description, then default and environment variable, as --help shows them. */
function helpDescription(spec: OptionSpec): string {
  const choices = spec.kind === 'enum' && spec.choices ? ` [choices: ${spec.choices.join(', ')}]` : '';
  return `${spec.description}${choices}\n[default: ${defaultText(spec)}] [env: ${spec.env}]`;
}

/**
 * All serve options as a compact table, for the top-level `etcdns --help` (which would
 * otherwise list only commands). Two lines per option keep it within 80 columns.
 */
export function serveOptionsSummary(): string {
  const lines = ['Options of "etcdns serve" (see "etcdns serve --help"):'];
  for (const spec of SERVE_OPTIONS as readonly OptionSpec[]) {
    const flag = spec.kind === 'boolean' ? `--[no-]${spec.name}` : `--${spec.name} ${spec.placeholder}`;
    lines.push(`  ${flag}`);
    lines.push(`      default: ${defaultText(spec)}, env: ${spec.env}`);
  }
  return lines.join('\n');
}

export const PRECEDENCE_NOTE =
  'Each option can also be set with its ETCDNS_* environment variable or as a key of the --config file ' +
  '(kebab-case or camelCase). A flag wins over the environment, which wins over the config file, ' +
  'which wins over the default. Lists (--listen) take several values separated by commas.';
