import { describe, expect, it } from 'vitest';
import { openFileLimit, openFileLimitAdvice } from './fd-limit.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            64                   1048576              files
Max locked memory         8388608              8388608              bytes
`;

describe('openFileLimit', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    expect(openFileLimit(() => LIMITS)).toBe(64);
    expect(openFileLimit(() => LIMITS.replace(/ 64 /, ' unlimited '))).toBeUndefined();
    expect(openFileLimit(() => { throw new Error('ENOENT'); })).toBeUndefined();
    // This process: a number on Linux.
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('says what to do', () => {
    expect(openFileLimitAdvice(64, 256)).toBe('the open-file limit (ulimit -n) is 64; etcdns needs at least 256: raise it (ulimit -n 65536, LimitNOFILE= in a systemd unit, docker run --ulimit nofile=65536)');
  });
});
