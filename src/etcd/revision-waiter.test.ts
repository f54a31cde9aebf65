import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/support/clock.js';
import { RevisionWaiter } from './revision-waiter.js';

describe('RevisionWaiter', () => {
  it('resolves true when the revision is reached, at once when it already was', async () => {
    const clock = new ManualClock();
    const w = new RevisionWaiter(clock);
    w.advance(5);
    await expect(w.reached(5, 1000)).resolves.toBe(true);
    const later = w.reached(7, 1000);
    w.advance(6);
    let settled: boolean | undefined;
    void later.then((v) => (settled = v));
    await Promise.resolve();
    expect(settled).toBeUndefined();
    w.advance(8);
    await expect(later).resolves.toBe(true);
  });

  it('resolves false after the timeout, and never goes back', async () => {
    const clock = new ManualClock();
    const w = new RevisionWaiter(clock);
    w.advance(10);
    w.advance(3);
    await expect(w.reached(9, 1000)).resolves.toBe(true);
    const stuck = w.reached(11, 2000);
    clock.advance(1999);
    let settled: boolean | undefined;
    void stuck.then((v) => (settled = v));
    await Promise.resolve();
    expect(settled).toBeUndefined();
    clock.advance(1);
    await expect(stuck).resolves.toBe(false);
  });
});
