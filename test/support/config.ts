import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadServeConfig } from '../../src/config/load.js';
import type { ServeConfig } from '../../src/config/serve-options.js';

type Argv = readonly string[] | Record<string, unknown>;

/** The working directory of loadConfig by default: paths in expectations are resolved against it. */
const CONFIG_CWD = '/srv/etcdns';

/** A ServeConfig from flags (raw arguments or a yargs argv) and environment variables. */
export function loadConfig(argv: Argv = [], env: NodeJS.ProcessEnv = {}, cwd = CONFIG_CWD): ServeConfig {
  return loadServeConfig({ argv, env, cwd });
}

/** The one-line message loading fails with (and that it fails with a ConfigError). */
export function configFailure(argv: Argv = [], env: NodeJS.ProcessEnv = {}, cwd = CONFIG_CWD): string {
  try {
    loadConfig(argv, env, cwd);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    // The CLI and SDK users branch on the code (src/errors.ts), never on the message.
    expect(err).toMatchObject({ name: 'ConfigError', code: 'ETCDNS_ERR_CONFIG' });
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected loading to fail');
}

/** A temporary directory for config and TLS files; file() writes one and returns its path. */
export function tempConfigDir(): { dir: string; file(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'etcdns-config-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  return { dir, file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
