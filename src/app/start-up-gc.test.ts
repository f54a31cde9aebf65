import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COMPACT_ABOVE_BYTES, startUpCollection, type HeapControl } from './start-up-gc.js';

/** A heap whose old space shows `holes` unused bytes after the first collection; records calls. */
function fakeHeap(holes: number, calls: string[]): HeapControl {
  return {
    getHeapSpaceStatistics: () => [
      { space_name: 'new_space', space_size: 8 << 20, space_used_size: 0 },
      { space_name: 'old_space', space_size: (400 << 20) + holes, space_used_size: 400 << 20 },
    ],
    setFlagsFromString: (flags) => void calls.push(flags),
  };
}

describe('startUpCollection', () => {
  it('collects once when the old space holds few holes (100k keys and below)', () => {
    const calls: string[] = [];
    const result = startUpCollection(() => calls.push('gc'), fakeHeap(COMPACT_ABOVE_BYTES - 1, calls))();
    expect(calls).toEqual(['gc']);
    expect(result).toEqual({ holesBytes: COMPACT_ABOVE_BYTES - 1, compacted: false });
  });

  it('then compacts, with the flag set around that one collection only, when it holds many', () => {
    const calls: string[] = [];
    const result = startUpCollection(() => calls.push('gc'), fakeHeap(160 << 20, calls))();
    expect(calls).toEqual(['gc', '--compact-on-every-full-gc', 'gc', '--no-compact-on-every-full-gc']);
    expect(result).toEqual({ holesBytes: 160 << 20, compacted: true });
  });

  it('clears the flag even when the compacting collection throws', () => {
    const calls: string[] = [];
    let n = 0;
    const collect = startUpCollection(() => {
      calls.push('gc');
      if (++n === 2) throw new Error('boom');
    }, fakeHeap(160 << 20, calls));
    expect(collect).toThrow('boom');
    expect(calls.at(-1)).toBe('--no-compact-on-every-full-gc');
  });

  it('sets a flag this V8 has (setFlagsFromString only prints an unknown one, and carries on)', () => {
    expect(execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' })).toContain('--compact-on-every-full-gc');
  });
});
