import { describe, expect, it } from 'vitest';
import { backoffDelay, INITIAL_BACKOFF_MS } from './backoff.js';

describe('re-register backoff', () => {
  it('doubles from 100 ms, with the delay in [d/2, d]', () => {
    expect(INITIAL_BACKOFF_MS).toBe(100);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 2000, () => 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 2000, () => 0))).toEqual([50, 100, 200, 400]);
  });

  it('is capped at maxMs forever: the registration never gives up, and never waits longer (kratos#3883)', () => {
    for (const attempt of [5, 10, 100, 1e6, Infinity]) {
      expect(backoffDelay(attempt, 2000, () => 1)).toBe(2000);
      expect(backoffDelay(attempt, 2000, () => 0)).toBe(1000);
    }
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(i % 40, 2000);
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('a bad random source cannot push it outside its bounds', () => {
    expect(backoffDelay(20, 2000, () => 7)).toBe(2000);
    expect(backoffDelay(20, 2000, () => -3)).toBe(1000);
    expect(backoffDelay(-5, 2000, () => 1)).toBe(100);
  });
});
