/**
 * A clear message when the open-file limit is too low (issue 24): with `ulimit -n 64` the built
 * CLI used to die in the module loader with EMFILE and a stack trace; it now says what to raise.
 * With a limit that starts but is below what --tcp-max-connections can use, a warning.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv } from './support/server.js';
import { tempZones } from './support/zones.js';

const run = promisify(execFile);

describe('open-file limit', () => {
  it('refuses to start under 256 open files, saying what to raise', async () => {
    const zones = tempZones({});
    try {
      const r = await run('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${CLI}" serve --listen 127.0.0.1:0 --no-forwarding --zones "${zones.dir}"`], { env: cleanEnv() }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('etcdns: cannot start: the open-file limit (ulimit -n) is 64; etcdns needs at least 256: raise it (ulimit -n 65536, LimitNOFILE= in a systemd unit, docker run --ulimit nofile=65536)\n');
    } finally {
      zones.remove();
    }
  });
});
