import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, type BackoffPolicy } from './backoff.js';

const equal = (initialMs: number, maxMs: number): BackoffPolicy => ({ initialMs, maxMs, jitter: 'equal' });

describe('backoffDelay', () => {
  it('doubles from initialMs, with equal jitter a delay in [d/2, d]', () => {
    const p = equal(100, 2000);
    expect([0, 1, 2, 3].map((a) => backoffDelay(p, a, () => 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(p, a, () => 0))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(p, 2, () => 0.5)).toBe(300);
  });

  it('is capped at maxMs however many attempts failed', () => {
    const p = equal(100, 2000);
    for (const attempt of [5, 10, 100, 1e6, Infinity]) {
      expect(backoffDelay(p, attempt, () => 1)).toBe(2000);
      expect(backoffDelay(p, attempt, () => 0)).toBe(1000);
    }
  });

  it('without jitter is exactly the capped delay, whatever the random source says', () => {
    const p: BackoffPolicy = { initialMs: 250, maxMs: 30_000, jitter: 'none' };
    expect([0, 1, 2, 3, 7, 99].map((a) => backoffDelay(p, a, () => 0))).toEqual([250, 500, 1000, 2000, 30_000, 30_000]);
  });

  it('a bad attempt or random source cannot push it outside its bounds', () => {
    const p = equal(100, 2000);
    expect(backoffDelay(p, 20, () => 7)).toBe(2000);
    expect(backoffDelay(p, 20, () => -3)).toBe(1000);
    expect(backoffDelay(p, -5, () => 1)).toBe(100);
    expect(backoffDelay(p, Number.NaN, () => 1)).toBe(100);
  });

  it('gives whole milliseconds', () => {
    expect(backoffDelay(equal(250, 5000), 0, () => 0.123)).toBe(140);
  });
});

describe('Backoff', () => {
  it('counts attempts from the first delay, and reset() starts over', () => {
    const b = new Backoff(equal(50, 1000), () => 1);
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(50);
    expect(new Backoff(equal(50, 1000), () => 0).next()).toBe(25);
  });
});
